"""Convolutions: functional and module parity with PyTorch (values, input/weight/bias
gradients), finite-difference gradients, float32 preservation, initialisation and errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import gradcheck, needs_torch, torch, torch_parity

nn = sg.nn
TF = torch.nn.functional if torch is not None else None


def _rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# (N, C, H, W, O, kernel, stride, padding, dilation, groups)
CONV2D = [
    (2, 3, 7, 8, 4, 3, 1, 0, 1, 1),
    (2, 4, 9, 7, 6, 3, 2, 1, 1, 2),
    (1, 4, 10, 11, 4, (2, 3), (2, 1), (1, 2), (2, 1), 4),
    (3, 2, 5, 5, 3, 5, 1, "same", 1, 1),
    (2, 2, 6, 7, 4, (2, 4), 1, "same", (2, 1), 2),
    (2, 2, 6, 6, 4, 2, 3, 0, 1, 2),
    (2, 3, 5, 6, 2, 3, 1, "valid", 1, 1),
    (1, 6, 8, 8, 6, 3, (1, 2), 2, 3, 3),
]


@needs_torch
@pytest.mark.parametrize("case", CONV2D)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(case: tuple, bias: bool) -> None:
    n, c, h, w, o, k, s, p, d, g = case
    kk = k if isinstance(k, tuple) else (k, k)
    arrays = [_rand(n, c, h, w), _rand(o, c // g, *kk, seed=1)]
    if bias:
        arrays.append(_rand(o, seed=2))
    torch_parity(lambda *a: F.conv2d(*a, stride=s, padding=p, dilation=d, groups=g),
                 lambda *a: TF.conv2d(*a, stride=s, padding=p, dilation=d, groups=g),
                 *arrays, atol=1e-10, rtol=1e-9)


# (N, C, L, O, kernel, stride, padding, dilation, groups)
CONV1D = [(2, 3, 9, 4, 3, 1, 0, 1, 1), (2, 4, 11, 6, 3, 2, 1, 2, 2),
          (3, 2, 8, 4, 4, 1, "same", 2, 2), (1, 3, 7, 3, 7, 1, 3, 1, 3)]


@needs_torch
@pytest.mark.parametrize("case", CONV1D)
def test_conv1d_matches_torch(case: tuple) -> None:
    n, c, length, o, k, s, p, d, g = case
    torch_parity(lambda x, w, b: F.conv1d(x, w, b, s, p, d, g),
                 lambda x, w, b: TF.conv1d(x, w, b, s, p, d, g),
                 _rand(n, c, length), _rand(o, c // g, k, seed=1), _rand(o, seed=2),
                 atol=1e-10, rtol=1e-9)


# (N, C_in, H, W, C_out, kernel, stride, padding, output_padding, dilation, groups)
CONVT2D = [(2, 3, 4, 5, 4, 3, 1, 0, 0, 1, 1), (2, 4, 4, 3, 6, 3, 2, 1, 1, 1, 2),
           (1, 4, 3, 4, 4, (2, 3), (2, 3), (1, 0), (1, 2), (2, 1), 4),
           (2, 2, 3, 3, 2, 2, 2, 0, 0, 1, 1), (1, 2, 5, 4, 3, 3, 3, 2, 2, 1, 1)]


@needs_torch
@pytest.mark.parametrize("case", CONVT2D)
def test_conv_transpose2d_matches_torch(case: tuple) -> None:
    n, c, h, w, o, k, s, p, op, d, g = case
    kk = k if isinstance(k, tuple) else (k, k)
    torch_parity(lambda x, wt, b: F.conv_transpose2d(x, wt, b, s, p, op, g, d),
                 lambda x, wt, b: TF.conv_transpose2d(x, wt, b, s, p, op, g, d),
                 _rand(n, c, h, w), _rand(c, o // g, *kk, seed=1), _rand(o, seed=2),
                 atol=1e-10, rtol=1e-9)


@needs_torch
@pytest.mark.parametrize("s,p,op,d,g", [(1, 0, 0, 1, 1), (2, 1, 1, 1, 2), (3, 2, 1, 2, 1)])
def test_conv_transpose1d_matches_torch(s: int, p: int, op: int, d: int, g: int) -> None:
    torch_parity(lambda x, w, b: F.conv_transpose1d(x, w, b, s, p, op, g, d),
                 lambda x, w, b: TF.conv_transpose1d(x, w, b, s, p, op, g, d),
                 _rand(2, 4, 6), _rand(4, 6 // g, 3, seed=1), _rand(6, seed=2),
                 atol=1e-10, rtol=1e-9)


def test_conv_gradcheck() -> None:
    gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2),
              _rand(1, 2, 5, 4), _rand(4, 1, 3, 2, seed=1), _rand(4, seed=2))
    gradcheck(lambda x, w: F.conv1d(x, w, padding="same", dilation=2),
              _rand(2, 2, 6), _rand(3, 2, 3, seed=1))
    gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                 output_padding=1),
              _rand(1, 2, 3, 3), _rand(2, 3, 3, 3, seed=1), _rand(3, seed=2))


def test_unbatched_input_and_float32() -> None:
    x = sg.randn(3, 9, 9)
    w = sg.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    assert y.shape == (4, 9, 9) and y.dtype == sg.float32
    y.sum().backward()
    assert w.grad.dtype == sg.float32
    assert F.conv1d(sg.randn(3, 10), sg.randn(2, 3, 3)).shape == (2, 8)
    yt = F.conv_transpose2d(sg.randn(2, 4, 5, 5), sg.randn(4, 2, 3, 3), stride=2)
    assert yt.shape == (2, 2, 11, 11) and yt.dtype == sg.float32


# ---------------------------------------------------------------------------- modules
def _compare(s_mod, t_mod, x: np.ndarray, atol: float = 1e-10, **call) -> None:
    """Load torch's state_dict into the softgrad module; compare output and all gradients."""
    s_mod.load_state_dict(t_mod.state_dict())
    assert list(s_mod.state_dict()) == list(t_mod.state_dict())
    sx, tx = sg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sy, ty = s_mod(sx, **call), t_mod(tx, **call)
    np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), atol=atol)
    wgt = _rand(*ty.shape, seed=7)
    (sy * sg.tensor(wgt)).sum().backward()
    (ty * torch.tensor(wgt)).sum().backward()
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), atol=atol)
    for (name, a), b in zip(s_mod.named_parameters(), t_mod.parameters()):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol, err_msg=name)


@needs_torch
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, groups=2),
                                dict(padding="same", dilation=2, bias=False),
                                dict(padding=1, padding_mode="reflect"),
                                dict(padding=(1, 2), padding_mode="replicate", stride=(2, 1)),
                                dict(padding="same", padding_mode="circular")])
def test_conv2d_module_matches_torch(kw: dict) -> None:
    s = nn.Conv2d(4, 6, 3, dtype=sg.float64, **kw)
    t = torch.nn.Conv2d(4, 6, 3, **kw)
    _compare(s, t, _rand(2, 4, 7, 8))


@needs_torch
@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1, groups=3),
                                dict(padding="same", padding_mode="reflect")])
def test_conv1d_module_matches_torch(kw: dict) -> None:
    _compare(nn.Conv1d(3, 6, 3, dtype=sg.float64, **kw), torch.nn.Conv1d(3, 6, 3, **kw),
             _rand(2, 3, 10))


@needs_torch
def test_conv_transpose_modules_match_torch() -> None:
    kw = dict(stride=2, padding=1, output_padding=1, groups=2)
    _compare(nn.ConvTranspose2d(4, 6, 3, dtype=sg.float64, **kw),
             torch.nn.ConvTranspose2d(4, 6, 3, **kw), _rand(2, 4, 5, 4))
    _compare(nn.ConvTranspose1d(4, 2, 3, dtype=sg.float64, stride=2),
             torch.nn.ConvTranspose1d(4, 2, 3, stride=2), _rand(2, 4, 5))
    # output_size picks the output padding, as in PyTorch
    _compare(nn.ConvTranspose2d(4, 6, 3, dtype=sg.float64, stride=2),
             torch.nn.ConvTranspose2d(4, 6, 3, stride=2), _rand(1, 4, 5, 5),
             output_size=(12, 11))


@needs_torch
def test_conv_module_repr_and_init_match_torch() -> None:
    s = nn.Conv2d(3, 8, (3, 5), stride=2, padding=1, groups=1, bias=False)
    t = torch.nn.Conv2d(3, 8, (3, 5), stride=2, padding=1, bias=False)
    assert repr(s) == repr(t)
    s = nn.ConvTranspose2d(4, 8, 3, stride=2, output_padding=1, groups=2)
    t = torch.nn.ConvTranspose2d(4, 8, 3, stride=2, output_padding=1, groups=2)
    assert repr(s) == repr(t)
    assert tuple(s.weight.shape) == tuple(t.weight.shape) == (4, 4, 3, 3)
    for kw in [dict(padding="same"), dict(padding=(1, 2), padding_mode="reflect", dilation=2)]:
        assert repr(nn.Conv2d(3, 3, 3, **kw)) == repr(torch.nn.Conv2d(3, 3, 3, **kw))


def test_conv_default_init_bounds() -> None:
    conv = nn.Conv2d(6, 16, 5)
    fan_in = 6 * 25
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) gives the same bound
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound and w.std() == pytest.approx(bound / math.sqrt(3), rel=0.1)


# ---------------------------------------------------------------------------- errors
def test_conv_errors_name_the_shapes() -> None:
    x = sg.randn(2, 3, 8, 8)
    with pytest.raises(RuntimeError, match=r"expected input\[2, 3, 8, 8\] to have 4 channels"):
        F.conv2d(x, sg.randn(5, 4, 3, 3))
    with pytest.raises(RuntimeError, match=r"got input of size: \[3, 8\]"):
        F.conv2d(sg.randn(3, 8), sg.randn(5, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r"Kernel size can't be greater"):
        F.conv2d(x, sg.randn(5, 3, 9, 9), padding=0)
    with pytest.raises(RuntimeError, match="divisible by groups"):
        F.conv2d(x, sg.randn(5, 1, 3, 3), groups=3)
    with pytest.raises(ValueError, match="not supported for strided"):
        F.conv2d(x, sg.randn(5, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="dtype"):
        F.conv2d(x.double(), sg.randn(5, 3, 3, 3))
    with pytest.raises(RuntimeError, match="output padding must be smaller"):
        F.conv_transpose2d(x, sg.randn(3, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="in_channels .* divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    conv = nn.Conv2d(3, 6, 3)
    with pytest.raises(RuntimeError,
                       match=r"expected input with 3 channels, got 1 .*\[2, 1, 8, 8\]"):
        conv(sg.randn(2, 1, 8, 8))
    with pytest.raises(RuntimeError, match=r"expected 3D \(unbatched\) or 4D"):
        conv(sg.randn(2, 3, 8, 8, 1))


@needs_torch
@settings(max_examples=25, deadline=None)
@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(3, 9),
       st.integers(3, 9), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 2), st.integers(1, 2), st.integers(0, 10**6))
def test_conv2d_random_configs_match_torch(n, g, cpg, h, w, kh, kw, s, p, d, seed) -> None:
    """Random geometry: whenever PyTorch accepts it, values and all gradients agree."""
    c, o = g * cpg, g * 2
    if h + 2 * p < d * (kh - 1) + 1 or w + 2 * p < d * (kw - 1) + 1:
        return
    torch_parity(lambda x, wt, b: F.conv2d(x, wt, b, s, p, d, g),
                 lambda x, wt, b: TF.conv2d(x, wt, b, s, p, d, g),
                 _rand(n, c, h, w, seed=seed), _rand(o, cpg, kh, kw, seed=seed + 1),
                 _rand(o, seed=seed + 2), atol=1e-10, rtol=1e-9)
    op = min(s, d) - 1 if s > 1 or d > 1 else 0
    xa, wa = _rand(n, c, h, w, seed=seed), _rand(c, 2, kh, kw, seed=seed + 3)
    try:
        TF.conv_transpose2d(torch.tensor(xa), torch.tensor(wa), None, s, p, op, g, d)
    except RuntimeError:  # PyTorch rejects this geometry: so must softgrad, clearly
        with pytest.raises((RuntimeError, ValueError), match="conv_transpose2d"):
            F.conv_transpose2d(sg.tensor(xa), sg.tensor(wa), None, s, p, op, g, d)
        return
    torch_parity(lambda x, wt: F.conv_transpose2d(x, wt, None, s, p, op, g, d),
                 lambda x, wt: TF.conv_transpose2d(x, wt, None, s, p, op, g, d),
                 xa, wa, atol=1e-10, rtol=1e-9)


@needs_torch
def test_large_columns_are_recomputed_not_kept(monkeypatch) -> None:
    """Above the size cap forward keeps no im2col buffer; backward rebuilds it exactly."""
    from softgrad.ops import conv as conv_ops

    monkeypatch.setattr(conv_ops, "KEEP_COLS_BYTES", 0)
    x, w = sg.tensor(_rand(2, 3, 6, 5), requires_grad=True), sg.randn(4, 3, 3, 3).double()
    w.requires_grad_()
    y = F.conv2d(x, w, stride=2, padding=1)
    assert y.grad_fn.cols is None
    torch_parity(lambda x, w: F.conv2d(x, w, stride=2, padding=1, dilation=(1, 2)),
                 lambda x, w: TF.conv2d(x, w, stride=2, padding=1, dilation=(1, 2)),
                 _rand(2, 3, 6, 7), _rand(4, 3, 3, 2, seed=1), atol=1e-10, rtol=1e-9)
    torch_parity(lambda x, w: F.conv1d(x, w, padding=2), lambda x, w: TF.conv1d(x, w, padding=2),
                 _rand(2, 3, 6), _rand(4, 3, 3, seed=1), atol=1e-10, rtol=1e-9)


@needs_torch
def test_empty_batch() -> None:
    torch_parity(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1),
                 _rand(0, 3, 5, 5), _rand(4, 3, 3, 3, seed=1))
    torch_parity(lambda x, w: F.conv_transpose2d(x, w, stride=2),
                 lambda x, w: TF.conv_transpose2d(x, w, stride=2),
                 _rand(0, 3, 4, 4), _rand(3, 2, 3, 3, seed=1))


@needs_torch
@pytest.mark.parametrize("c,o,g,k,p,d", [(2, 2, 1, 3, 1, 1), (4, 2, 2, (3, 2), (2, 1), (2, 1)),
                                         (3, 3, 3, 3, 1, 1), (2, 3, 1, 3, 3, 1)])
def test_stride1_input_grad_paths_match_torch(c, o, g, k, p, d) -> None:
    """Large stride-1 maps take the 'full convolution of g' input gradient (except where
    the padding exceeds the dilated kernel); both paths and conv_transpose agree."""
    kk = k if isinstance(k, tuple) else (k, k)
    torch_parity(lambda x, w: F.conv2d(x, w, padding=p, dilation=d, groups=g),
                 lambda x, w: TF.conv2d(x, w, padding=p, dilation=d, groups=g),
                 _rand(2, c, 17, 16), _rand(o, c // g, *kk, seed=1), atol=1e-10, rtol=1e-9)
    torch_parity(lambda x, w: F.conv_transpose2d(x, w, padding=p, dilation=d, groups=g),
                 lambda x, w: TF.conv_transpose2d(x, w, padding=p, dilation=d, groups=g),
                 _rand(2, c, 17, 16), _rand(c, o // g, *kk, seed=1),
                 atol=1e-10, rtol=1e-9)


@needs_torch
@pytest.mark.parametrize("chunk", [1, 3000])
@pytest.mark.parametrize("lowering", [None, "im2col", "taps"])
def test_batch_sliced_columns_match_torch(monkeypatch, chunk: int, lowering) -> None:
    """With a tiny column budget every conv runs in batch slices (forward, input and weight
    gradients, transposed conv), with either lowering; results are unchanged."""
    from softgrad.ops import conv_lowering

    monkeypatch.setattr(conv_lowering, "CHUNK_BYTES", chunk)
    monkeypatch.setattr(conv_lowering, "FORCE", lowering)
    torch_parity(lambda x, w, b: F.conv2d(x, w, b, 2, 1, 1, 2),
                 lambda x, w, b: TF.conv2d(x, w, b, 2, 1, 1, 2),
                 _rand(5, 4, 7, 6), _rand(6, 2, 3, 3, seed=1), _rand(6, seed=2),
                 atol=1e-10, rtol=1e-9)
    torch_parity(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1),
                 _rand(3, 2, 17, 16), _rand(2, 2, 3, 3, seed=1), atol=1e-10, rtol=1e-9)
    torch_parity(lambda x, w: F.conv1d(x, w, stride=2), lambda x, w: TF.conv1d(x, w, stride=2),
                 _rand(4, 3, 9), _rand(2, 3, 3, seed=1), atol=1e-10, rtol=1e-9)
    torch_parity(lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1, 2),
                 lambda x, w, b: TF.conv_transpose2d(x, w, b, 2, 1, 1, 2),
                 _rand(5, 4, 3, 4), _rand(4, 3, 3, 3, seed=1), _rand(6, seed=2),
                 atol=1e-10, rtol=1e-9)


@needs_torch
def test_lenet_float32_matches_torch_through_state_dict() -> None:
    """A whole LeNet in float32: same state_dict keys, loss and parameter gradients."""

    def lenet(lib):
        m = lib.nn
        return m.Sequential(m.Conv2d(1, 6, 5), m.ReLU(), m.MaxPool2d(2), m.Conv2d(6, 16, 5),
                            m.ReLU(), m.MaxPool2d(2), m.Flatten(), m.Linear(256, 120), m.ReLU(),
                            m.Linear(120, 10))

    t_model = lenet(torch).float()
    s_model = lenet(sg)
    s_model.load_state_dict(t_model.state_dict())
    x = _rand(8, 1, 28, 28).astype(np.float32)
    y = np.arange(8) % 10
    s_loss = F.cross_entropy(s_model(sg.tensor(x)), sg.tensor(y))
    t_loss = TF.cross_entropy(t_model(torch.tensor(x)), torch.tensor(y))
    s_loss.backward()
    t_loss.backward()
    assert s_loss.dtype == sg.float32
    np.testing.assert_allclose(s_loss.item(), t_loss.item(), rtol=1e-5)
    for (name, p), q in zip(s_model.named_parameters(), t_model.parameters()):
        assert p.grad.dtype == sg.float32
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-3, atol=1e-5,
                                   err_msg=name)
