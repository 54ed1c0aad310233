"""The fused attention primitive (ops/attention.py) against the composed ops it replaces:
values, gradients, second derivatives, masks, broadcasting, dropout, and MHA's two paths."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from softgrad.nn.functional import attention as attn_mod

RNG = np.random.default_rng(7)


FUSABLE = attn_mod._fusable


def _run(monkeypatch, fused: bool, arrays, w, **kw):
    """Output and gradients of sum(SDPA(*arrays) * w), fused or composed."""
    monkeypatch.setattr(attn_mod, "_fusable", FUSABLE if fused else (lambda *a: False))
    ts = [sg.tensor(a, requires_grad=True) for a in arrays]
    mask = kw.pop("mask_array", None)
    if mask is not None:
        kw["attn_mask"] = sg.tensor(mask, requires_grad=mask.dtype.kind == "f")
    out = F.scaled_dot_product_attention(*ts, **kw)
    (out * sg.tensor(w)).sum().backward()
    grads = [t.grad.numpy() for t in ts]
    if mask is not None and mask.dtype.kind == "f":
        grads.append(kw["attn_mask"].grad.numpy())
    return out.detach().numpy(), grads


CASES = [
    ({}, ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 3))),
    ({"is_causal": True}, ((2, 3, 6, 4), (2, 3, 6, 4), (2, 3, 6, 3))),
    ({"scale": 0.3}, ((4, 5, 4), (4, 5, 4), (4, 5, 2))),
    ({}, ((2, 3, 5, 4), (1, 3, 6, 4), (2, 1, 6, 3))),  # broadcast batch dims
    ({"mask_array": RNG.random((5, 6)) > 0.3}, ((2, 5, 4), (2, 6, 4), (2, 6, 3))),
    ({"mask_array": RNG.standard_normal((2, 5, 6))}, ((2, 5, 4), (2, 6, 4), (2, 6, 3))),
]


@pytest.mark.parametrize("kw,shapes", CASES)
def test_fused_matches_composed(monkeypatch, kw, shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    out_shape = np.broadcast_shapes(shapes[0][:-2], shapes[1][:-2], shapes[2][:-2]) + (
        shapes[0][-2], shapes[2][-1])
    w = RNG.standard_normal(out_shape)
    fo, fg = _run(monkeypatch, True, arrays, w, **dict(kw))
    co, cg = _run(monkeypatch, False, arrays, w, **dict(kw))
    np.testing.assert_allclose(fo, co, rtol=1e-12, atol=1e-12)
    assert len(fg) == len(cg)
    for a, b in zip(fg, cg):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_fully_masked_rows_give_zeros_not_nan():
    q, k, v = (sg.tensor(RNG.standard_normal((1, 3, 2)), requires_grad=True) for _ in range(3))
    allowed = np.ones((3, 3), bool)
    allowed[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=sg.tensor(allowed))
    out.sum().backward()
    assert np.all(out.detach().numpy()[0, 1] == 0) and np.isfinite(q.grad.numpy()).all()


def test_dropout_on_the_weights_is_the_composed_one(monkeypatch):
    arrays = [RNG.standard_normal(s).astype(np.float32) for s in ((2, 4, 5, 3),) * 3]
    res = []
    for fused in (True, False):
        monkeypatch.setattr(attn_mod, "_fusable", FUSABLE if fused else (lambda *a: False))
        sg.manual_seed(3)
        ts = [sg.tensor(a, requires_grad=True) for a in arrays]
        out = F.scaled_dot_product_attention(*ts, dropout_p=0.4, is_causal=True)
        out.sum().backward()
        res.append([out.detach().numpy()] + [t.grad.numpy() for t in ts])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)


def test_second_derivatives_through_the_fused_primitive(monkeypatch):
    arrays = [RNG.standard_normal((2, 4, 3)) for _ in range(3)]
    mask = RNG.standard_normal((4, 4))
    res = []
    for fused in (True, False):
        monkeypatch.setattr(attn_mod, "_fusable", FUSABLE if fused else (lambda *a: False))
        ts = [sg.tensor(a, requires_grad=True) for a in arrays]
        for kw in ({"is_causal": True}, {"attn_mask": sg.tensor(mask)}):
            out = F.scaled_dot_product_attention(*ts, **kw)
            g = sg.autograd.grad((out * out).sum(), ts, create_graph=True)
            gg = sg.autograd.grad(sum((x * x).sum() for x in g), ts)
            res.append([x.detach().numpy() for x in g + gg])
    half = len(res) // 2
    for fused_run, composed_run in zip(res[:half], res[half:]):
        for a, b in zip(fused_run, composed_run):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


def test_mha_without_weights_takes_the_fused_path_and_agrees():
    sg.manual_seed(0)
    m = sg.nn.MultiheadAttention(8, 2, dtype=sg.float64)
    x = sg.tensor(RNG.standard_normal((5, 3, 8)))
    kpm = sg.tensor(np.array([[False] * 5, [False] * 3 + [True] * 2, [False] * 5]))
    causal = sg.nn.Transformer.generate_square_subsequent_mask(5, dtype=sg.float64)
    a, _ = m(x, x, x, key_padding_mask=kpm, attn_mask=causal, need_weights=False)
    b, w = m(x, x, x, key_padding_mask=kpm, attn_mask=causal, need_weights=True)
    assert w is not None
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert a.grad_fn is not None
