"""scaled_dot_product_attention and MultiheadAttention: parity with PyTorch (values and
gradients), finite differences, masks and errors."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
import softgrad.nn.functional as F
from tests.helpers.checks import gradcheck, needs_torch, torch, torch_parity

RNG = np.random.default_rng(0)


def _qkv(lead=(2, 3), L=4, S=5, E=6, Ev=7):
    return (RNG.standard_normal(lead + (L, E)), RNG.standard_normal(lead + (S, E)),
            RNG.standard_normal(lead + (S, Ev)))


@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.3}])
def test_sdpa_parity(kw):
    q, k, v = _qkv()
    torch_parity(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, **kw),
                 lambda a, b, c: torch.nn.functional.scaled_dot_product_attention(a, b, c, **kw),
                 q, k, v, atol=1e-10)


def test_sdpa_bool_and_float_mask_parity():
    q, k, v = _qkv()
    allowed = RNG.random((4, 5)) > 0.4
    allowed[:, 0] = True  # no fully masked row
    tmask = None if torch is None else torch.tensor(allowed)
    torch_parity(lambda a, b, c: F.scaled_dot_product_attention(a, b, c,
                                                                attn_mask=sg.tensor(allowed)),
                 lambda a, b, c: torch.nn.functional.scaled_dot_product_attention(
                     a, b, c, attn_mask=tmask), q, k, v, atol=1e-10)
    # a float mask (broadcast over the batch) also receives a gradient
    fm = RNG.standard_normal((3, 4, 5))
    torch_parity(lambda a, b, c, m: F.scaled_dot_product_attention(a, b, c, attn_mask=m),
                 lambda a, b, c, m: torch.nn.functional.scaled_dot_product_attention(
                     a, b, c, attn_mask=m), q, k, v, fm, atol=1e-10)


def test_sdpa_gradcheck_and_causal_reference():
    q, k, v = _qkv((2,), 3, 3, 2, 2)
    gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True), q, k, v)
    out = F.scaled_dot_product_attention(sg.tensor(q), sg.tensor(k), sg.tensor(v),
                                         is_causal=True).numpy()
    # first query sees only the first key
    np.testing.assert_allclose(out[:, 0], v[:, 0], atol=1e-12)


def test_sdpa_gqa_and_dropout():
    q, k, v = RNG.standard_normal((1, 4, 3, 2)), RNG.standard_normal((1, 2, 3, 2)), \
        RNG.standard_normal((1, 2, 3, 2))
    out = F.scaled_dot_product_attention(sg.tensor(q), sg.tensor(k), sg.tensor(v),
                                         enable_gqa=True).numpy()
    ref = F.scaled_dot_product_attention(sg.tensor(q[:, 2:]), sg.tensor(k[:, 1:]),
                                         sg.tensor(v[:, 1:])).numpy()
    np.testing.assert_allclose(out[:, 2:], ref, atol=1e-12)
    sg.manual_seed(0)
    a = F.scaled_dot_product_attention(*(sg.tensor(t) for t in _qkv()), dropout_p=0.5)
    b = F.scaled_dot_product_attention(*(sg.tensor(t) for t in _qkv()), dropout_p=0.0)
    assert a.shape == b.shape == (2, 3, 4, 7)


def test_sdpa_errors():
    q, k, v = (sg.tensor(t) for t in _qkv())
    with pytest.raises(RuntimeError, match=r"query \(2, 3, 4, 6\).*key"):
        F.scaled_dot_product_attention(q, sg.randn(2, 3, 5, 4), v)
    with pytest.raises(RuntimeError, match="sequence length"):
        F.scaled_dot_product_attention(q, k, sg.randn(2, 3, 6, 7))
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(4, 6\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=sg.ones(4, 6, dtype=sg.bool))
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=sg.ones(4, 5, dtype=sg.bool),
                                       is_causal=True)
    with pytest.raises(ValueError, match="at least 2 dims"):
        F.scaled_dot_product_attention(sg.randn(3), k, v)


def _mha_pair(E=8, H=2, **kw):
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(E, H, **kw)
    sm = nn.MultiheadAttention(E, H, dtype=sg.float64, **kw)
    assert list(sm.state_dict()) == list(tm.state_dict())
    sm.load_state_dict({k: sg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, sm


def _mha_parity(tm, sm, q, k, v, self_attn=False, **kw):
    """Outputs, attention weights and gradients of inputs and parameters agree."""
    tq = torch.tensor(q, requires_grad=True)
    sq = sg.tensor(q, requires_grad=True)
    if self_attn:
        tk = tv = tq
        sk = sv = sq
    else:
        tk, tv = torch.tensor(k, requires_grad=True), torch.tensor(v, requires_grad=True)
        sk, sv = sg.tensor(k, requires_grad=True), sg.tensor(v, requires_grad=True)
    tkw = {n: torch.tensor(m) if isinstance(m, np.ndarray) else m for n, m in kw.items()}
    skw = {n: sg.tensor(m) if isinstance(m, np.ndarray) else m for n, m in kw.items()}
    to, tw = tm(tq, tk, tv, **tkw)
    so, sw = sm(sq, sk, sv, **skw)
    np.testing.assert_allclose(so.detach().numpy(), to.detach().numpy(), atol=1e-10)
    if tw is None:
        assert sw is None
    else:
        np.testing.assert_allclose(sw.detach().numpy(), tw.detach().numpy(), atol=1e-10)
    w = RNG.standard_normal(tuple(to.shape))
    tl, sl = (to * torch.tensor(w)).sum(), (so * sg.tensor(w)).sum()
    if tw is not None:
        w2 = RNG.standard_normal(tuple(tw.shape))
        tl, sl = tl + (tw * torch.tensor(w2)).sum(), sl + (sw * sg.tensor(w2)).sum()
    tl.backward()
    sl.backward()
    pairs = [(sq, tq)] if self_attn else [(sq, tq), (sk, tk), (sv, tv)]
    for s, t in pairs:
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), atol=1e-10)
    sp = dict(sm.named_parameters())
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(sp[name].grad.numpy(), p.grad.numpy(), atol=1e-10,
                                   err_msg=name)


@needs_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("average", [True, False])
def test_mha_self_attention_masks(batch_first, average):
    tm, sm = _mha_pair(batch_first=batch_first)
    x = RNG.standard_normal((3, 5, 8) if batch_first else (5, 3, 8))
    kpm = np.zeros((3, 5), bool)
    kpm[1, 3:] = True
    causal = np.triu(np.ones((5, 5), bool), 1)
    _mha_parity(tm, sm, x, x, x, self_attn=True, key_padding_mask=kpm, attn_mask=causal,
                average_attn_weights=average)


@needs_torch
def test_mha_cross_attention_kdim_vdim_float_masks():
    tm, sm = _mha_pair(E=6, H=3, kdim=4, vdim=5, bias=False)
    q, k, v = (RNG.standard_normal((4, 2, 6)), RNG.standard_normal((7, 2, 4)),
               RNG.standard_normal((7, 2, 5)))
    am = RNG.standard_normal((2 * 3, 4, 7))  # 3-D float mask (N*heads, L, S)
    kpm = np.where(RNG.random((2, 7)) > 0.8, -np.inf, 0.0)
    kpm[:, 0] = 0.0
    _mha_parity(tm, sm, q, k, v, attn_mask=am, key_padding_mask=kpm)
    _mha_parity(tm, sm, q, k, v, need_weights=False)


@needs_torch
def test_mha_bias_kv_zero_attn_and_unbatched():
    tm, sm = _mha_pair(add_bias_kv=True, add_zero_attn=True)
    q, k = RNG.standard_normal((4, 8)), RNG.standard_normal((6, 8))
    kpm = np.zeros(6, bool)
    kpm[4:] = True
    _mha_parity(tm, sm, q, k, k.copy(), key_padding_mask=kpm)


def test_mha_defaults_and_errors():
    sg.manual_seed(0)
    m = nn.MultiheadAttention(16, 4, batch_first=True)
    assert m.in_proj_weight.shape == (48, 16) and m.out_proj.weight.shape == (16, 16)
    assert np.all(m.in_proj_bias.detach().numpy() == 0)
    x = sg.randn(2, 5, 16)
    out, w = m(x, x, x)
    assert out.shape == (2, 5, 16) and w.shape == (2, 5, 5) and out.dtype == sg.float32
    np.testing.assert_allclose(w.detach().numpy().sum(-1), 1, rtol=1e-5)
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(5, 4\).*\(5, 5\)"):
        m(x, x, x, attn_mask=sg.zeros(5, 4))
    with pytest.raises(RuntimeError, match=r"key_padding_mask shape of \(2, 5\)"):
        m(x, x, x, key_padding_mask=sg.zeros(2, 4, dtype=sg.bool))
    with pytest.raises(RuntimeError, match="embedding dimension of 16"):
        m(sg.randn(2, 5, 12), x, x)
    with pytest.raises(ValueError, match="4-D"):
        m(sg.randn(1, 2, 5, 16), x, x)
    with pytest.raises(RuntimeError, match="is_causal"):
        m(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="batch"):
        m(x, sg.randn(3, 5, 16), sg.randn(3, 5, 16))


def test_mha_gradcheck_small():
    sg.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, dtype=sg.float64)
    kpm = sg.tensor(np.array([[False, False, True], [False, False, False]]))
    gradcheck(lambda q, k: m(q, k, k, key_padding_mask=kpm)[0],
              RNG.standard_normal((2, 2, 4)), RNG.standard_normal((3, 2, 4)))


def test_one_hot():
    out = F.one_hot(sg.tensor(np.array([0, 2, 1])), num_classes=4).numpy()
    np.testing.assert_array_equal(out, np.eye(4, dtype=np.int64)[[0, 2, 1]])


@needs_torch
@pytest.mark.parametrize("float_mask", [False, True])
def test_sdpa_fully_masked_row_is_zero_like_torch(float_mask):
    q, k, v = _qkv((1, 2), 3, 4, 2, 2)
    allowed = np.ones((3, 4), bool)
    allowed[1] = False
    mask = np.where(allowed, 0.0, -np.inf) if float_mask else allowed
    torch_parity(lambda a, b, c: F.scaled_dot_product_attention(a, b, c,
                                                                attn_mask=sg.tensor(mask)),
                 lambda a, b, c: torch.nn.functional.scaled_dot_product_attention(
                     a, b, c, attn_mask=torch.tensor(mask)), q, k, v, atol=1e-10)


@needs_torch
def test_mha_fully_padded_sequence_like_torch():
    tm, sm = _mha_pair()
    x = RNG.standard_normal((3, 2, 8))
    kpm = np.zeros((2, 3), bool)
    kpm[1] = True  # the second sequence is all padding
    _mha_parity(tm, sm, x, x, x, self_attn=True, key_padding_mask=kpm, need_weights=False)
    with np.errstate(invalid="ignore"):
        _, w = sm(sg.tensor(x), sg.tensor(x), sg.tensor(x), key_padding_mask=sg.tensor(kpm))
    assert np.isnan(w.detach().numpy()[1]).all()  # PyTorch returns NaN weights here too
