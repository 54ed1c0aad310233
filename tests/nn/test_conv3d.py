"""3-D convolution and pooling: parity with PyTorch (values and gradients, float64),
finite differences, float32, modules (state_dict layout) and errors."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import gradcheck, needs_torch, torch, torch_parity

nn = sg.nn
TF = torch.nn.functional if torch is not None else None


def _rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# (input shape, weight shape, stride, padding, dilation, groups)
CONV3D = [((2, 3, 5, 6, 7), (4, 3, 3, 3, 3), 1, 0, 1, 1),
          ((2, 4, 7, 8, 9), (6, 2, 3, 2, 3), 2, 1, 1, 2),
          ((1, 4, 9, 7, 8), (4, 2, 2, 3, 2), (1, 2, 3), (2, 1, 0), (2, 1, 2), 2),
          ((2, 4, 6, 7, 5), (4, 1, 3, 3, 1), 1, "same", (1, 2, 1), 4),
          ((2, 2, 5, 5, 5), (3, 2, 2, 2, 2), 1, "same", 1, 1),
          ((1, 3, 4, 5, 6), (2, 3, 1, 1, 1), (2, 1, 2), "valid", 1, 1)]


@needs_torch
@pytest.mark.parametrize("case", CONV3D)
@pytest.mark.parametrize("bias", [True, False])
def test_conv3d_matches_torch(case: tuple, bias: bool) -> None:
    xs, ws, s, p, d, g = case
    arrays = [_rand(*xs), _rand(*ws, seed=1)] + ([_rand(ws[0], seed=2)] if bias else [])
    torch_parity(lambda *a: F.conv3d(*a[:2], a[2] if bias else None, s, p, d, g),
                 lambda *a: TF.conv3d(*a[:2], a[2] if bias else None, s, p, d, g),
                 *arrays, atol=1e-10, rtol=1e-9)


@needs_torch
def test_conv3d_unbatched_matches_torch() -> None:
    torch_parity(lambda x, w: F.conv3d(x, w, padding=1),
                 lambda x, w: TF.conv3d(x, w, padding=1),
                 _rand(2, 4, 3, 5), _rand(3, 2, 3, 3, 3, seed=1), atol=1e-10)


def test_conv3d_gradcheck() -> None:
    gradcheck(lambda x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=1, groups=2),
              _rand(1, 2, 3, 4, 3), _rand(2, 1, 2, 2, 2, seed=1), _rand(2, seed=2))


# (spatial, kernel, stride, padding, dilation, ceil_mode)
POOL3D = [((4, 4, 4), 2, None, 0, 1, False), ((5, 7, 6), 3, 2, 1, 1, True),
          ((7, 6, 8), (2, 3, 2), (1, 2, 1), (1, 1, 0), (2, 1, 1), False),
          ((5, 5, 5), 2, 2, 1, 1, True)]


@needs_torch
@pytest.mark.parametrize("case", POOL3D)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool3d_matches_torch(case: tuple, ties: bool) -> None:
    sp, k, s, p, d, c = case
    x = _rand(2, 3, *sp)
    if ties:  # repeated maxima: the first in (D, H, W) order takes the gradient
        x = np.floor(x * 1.5)
    torch_parity(lambda x: F.max_pool3d(x, k, s, p, d, c, True),
                 lambda x: TF.max_pool3d(x, k, s, p, d, c, True), x, atol=1e-12)
    mod = nn.MaxPool3d(k, s, p, d, return_indices=True, ceil_mode=c)
    _, idx = mod(sg.tensor(x[0]))  # unbatched
    _, ref = TF.max_pool3d(torch.tensor(x[0]), k, s, p, d, c, True)
    assert idx.dtype == sg.int64
    np.testing.assert_array_equal(idx.numpy(), ref.numpy())


@needs_torch
@pytest.mark.parametrize("case", POOL3D)
@pytest.mark.parametrize("include", [True, False])
def test_avg_pool3d_matches_torch(case: tuple, include: bool) -> None:
    sp, k, s, p, _, c = case
    torch_parity(lambda x: F.avg_pool3d(x, k, s, p, c, include),
                 lambda x: TF.avg_pool3d(x, k, s, p, c, include), _rand(2, 3, *sp),
                 atol=1e-12)


@needs_torch
def test_avg_pool3d_divisor_override_matches_torch() -> None:
    torch_parity(lambda x: F.avg_pool3d(x, 3, 1, 1, divisor_override=5),
                 lambda x: TF.avg_pool3d(x, 3, 1, 1, divisor_override=5), _rand(1, 2, 4, 5, 4),
                 atol=1e-12)


@needs_torch
@pytest.mark.parametrize("size", [(3, 4, 5), 1, (None, 2, None), (7, 8, 9)])
def test_adaptive_avg_pool3d_matches_torch(size) -> None:
    torch_parity(lambda x: F.adaptive_avg_pool3d(x, size),
                 lambda x: TF.adaptive_avg_pool3d(x, size), _rand(2, 3, 7, 8, 9), atol=1e-12)


def test_pool3d_gradcheck() -> None:
    x = _rand(1, 2, 4, 5, 4)
    gradcheck(lambda x: F.max_pool3d(x, 2, 1, 1), x)
    gradcheck(lambda x: F.avg_pool3d(x, 3, 2, 1, True, False), x)
    gradcheck(lambda x: F.adaptive_avg_pool3d(x, (3, 2, 3)), x)


@needs_torch
def test_modules_match_torch_via_state_dict() -> None:
    tn = torch.nn
    for kw in (dict(stride=2, padding=1), dict(padding="same", groups=2, bias=False),
               dict(padding=1, padding_mode="replicate", dilation=(1, 2, 1))):
        ref = tn.Conv3d(4, 6, (3, 2, 3), **kw).double()
        mine = nn.Conv3d(4, 6, (3, 2, 3), dtype=sg.float64, **kw)
        sd = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
        assert {k: tuple(v.shape) for k, v in mine.state_dict().items()} == \
            {k: v.shape for k, v in sd.items()}
        mine.load_state_dict({k: sg.tensor(v) for k, v in sd.items()})
        x = _rand(2, 4, 6, 7, 8)
        torch_parity(mine, ref, x, atol=1e-10)
        assert repr(mine) == repr(ref)
    for make in (lambda m: m.MaxPool3d(3, 2, 1), lambda m: m.AvgPool3d(2, ceil_mode=True),
                 lambda m: m.AdaptiveAvgPool3d((2, None, 3))):
        torch_parity(make(nn), make(tn), _rand(2, 3, 5, 6, 7), atol=1e-12)
        assert repr(make(nn)) == repr(make(tn))


def test_float32_stays_float32() -> None:
    x = sg.tensor(_rand(2, 4, 5, 6, 5).astype(np.float32), requires_grad=True)
    conv = nn.Conv3d(4, 6, 3, padding=1, groups=2)
    assert conv.weight.dtype == sg.float32
    for layer in (conv, nn.MaxPool3d(2, padding=1), nn.AvgPool3d(3, 1, 1, count_include_pad=False),
                  nn.AdaptiveAvgPool3d(2)):
        y = layer(x)
        assert y.dtype == sg.float32
        y.sum().backward()
        assert x.grad.dtype == sg.float32
        x.grad = None
    assert conv.weight.grad.dtype == sg.float32


def test_clear_errors() -> None:
    w = sg.randn(4, 2, 3, 3, 3)
    with pytest.raises(RuntimeError, match="to have 2 channels, but got 3"):
        F.conv3d(sg.randn(1, 3, 5, 5, 5), w)
    with pytest.raises(RuntimeError, match="expected 4D .*5D"):
        F.conv3d(sg.randn(2, 5, 5), w)
    with pytest.raises(RuntimeError, match="expected 5D weight"):
        F.conv3d(sg.randn(1, 2, 5, 5, 5), sg.randn(4, 2, 3, 3))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        F.conv3d(sg.randn(1, 2, 2, 5, 5), w)
    with pytest.raises(RuntimeError, match="divisible by groups"):
        F.conv3d(sg.randn(1, 4, 5, 5, 5), sg.randn(3, 2, 3, 3, 3), groups=2)
    with pytest.raises(RuntimeError, match="expected input with 4 channels"):
        nn.Conv3d(4, 2, 3)(sg.randn(1, 3, 5, 5, 5))
    with pytest.raises(RuntimeError, match="expected 4D .* or 5D"):
        nn.Conv3d(4, 2, 3)(sg.randn(4, 5, 5))
    with pytest.raises(ValueError, match="kernel_size must be an int or a tuple of 3"):
        F.max_pool3d(sg.randn(1, 2, 4, 4, 4), (2, 2))
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.avg_pool3d(sg.randn(1, 2, 4, 4, 4), 2, padding=2)
    with pytest.raises(RuntimeError, match="expected 4D .*5D"):
        F.max_pool3d(sg.randn(2, 4, 4), 2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.max_pool3d(sg.randn(1, 2, 1, 4, 4), 2)
