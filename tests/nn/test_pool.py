"""Pooling: parity with PyTorch (values, gradients, indices, ties), finite differences,
float32, modules and errors."""
from __future__ import annotations

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


def _ties(*shape: int, seed: int = 0) -> np.ndarray:
    """Small integers, so windows hold repeated maxima (the first one must win)."""
    return np.floor(_rand(*shape, seed=seed) * 1.5)


# (H, W, kernel, stride, padding, dilation, ceil_mode)
POOL2D = [(8, 8, 2, None, 0, 1, False), (7, 9, 3, 2, 1, 1, False), (7, 9, 3, 2, 1, 1, True),
          (10, 11, (3, 2), (2, 3), (1, 1), (2, 1), True), (5, 5, 2, 2, 1, 1, True),
          (6, 7, 3, 1, 1, 2, False), (9, 9, 3, 3, 0, 1, True)]


@needs_torch
@pytest.mark.parametrize("case", POOL2D)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_matches_torch(case: tuple, ties: bool) -> None:
    h, w, k, s, p, d, c = case
    x = _ties(2, 3, h, w) if ties else _rand(2, 3, h, w)
    torch_parity(lambda x: F.max_pool2d(x, k, s, p, d, c, True),
                 lambda x: TF.max_pool2d(x, k, s, p, d, c, True), x, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("k,s,p,d,c", [(2, None, 0, 1, False), (3, 2, 1, 1, True),
                                       (3, 1, 1, 2, False), (4, 3, 2, 1, True)])
def test_max_pool1d_matches_torch(k: int, s, p: int, d: int, c: bool) -> None:
    torch_parity(lambda x: F.max_pool1d(x, k, s, p, d, c, True),
                 lambda x: TF.max_pool1d(x, k, s, p, d, c, True), _ties(2, 3, 11), atol=1e-12)


@needs_torch
@pytest.mark.parametrize("case", [c for c in POOL2D if c[5] == 1])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_matches_torch(case: tuple, count_include_pad: bool) -> None:
    h, w, k, s, p, _, c = case
    torch_parity(lambda x: F.avg_pool2d(x, k, s, p, c, count_include_pad),
                 lambda x: TF.avg_pool2d(x, k, s, p, c, count_include_pad), _rand(2, 3, h, w),
                 atol=1e-12)


@needs_torch
def test_avg_pool_divisor_override_and_1d() -> None:
    torch_parity(lambda x: F.avg_pool2d(x, 3, 2, 1, True, False, 5),
                 lambda x: TF.avg_pool2d(x, 3, 2, 1, True, False, 5), _rand(2, 3, 7, 9))
    for k, s, p, c, cip in [(2, None, 0, False, True), (3, 2, 1, True, False),
                            (4, 3, 2, True, True)]:
        torch_parity(lambda x: F.avg_pool1d(x, k, s, p, c, cip),
                     lambda x: TF.avg_pool1d(x, k, s, p, c, cip), _rand(2, 3, 11))


@needs_torch
@pytest.mark.parametrize("size", [(3, 4), (1, 1), (7, 9), (4, None), 5, (2, 6)])
def test_adaptive_pools_match_torch(size) -> None:
    x = _rand(2, 3, 7, 9)
    torch_parity(lambda x: F.adaptive_avg_pool2d(x, size),
                 lambda x: TF.adaptive_avg_pool2d(x, size), x)
    for arr in (x, _ties(2, 3, 7, 9)):
        torch_parity(lambda x: F.adaptive_max_pool2d(x, size, True),
                     lambda x: TF.adaptive_max_pool2d(x, size, True), arr)


@needs_torch
def test_adaptive_pools_1d_match_torch() -> None:
    x = _rand(2, 3, 10)
    torch_parity(lambda x: F.adaptive_avg_pool1d(x, 4), lambda x: TF.adaptive_avg_pool1d(x, 4), x)
    torch_parity(lambda x: F.adaptive_max_pool1d(x, 3, True),
                 lambda x: TF.adaptive_max_pool1d(x, 3, True), _ties(2, 3, 10))


def test_pool_gradcheck() -> None:
    gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), _rand(1, 2, 6, 5))
    gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), _rand(1, 2, 6, 5))
    gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 2)), _rand(1, 2, 7, 5))
    gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 2)), _rand(1, 2, 7, 5))
    gradcheck(lambda x: F.max_pool1d(x, 2, 1, dilation=2), _rand(2, 2, 7))


def test_nan_propagates_through_max_pool() -> None:
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    y = F.max_pool2d(sg.tensor(x), 2).numpy()
    assert np.isnan(y[0, 0, 0, 0]) and y[0, 0, 1, 1] == 15


def test_float32_and_unbatched() -> None:
    x = sg.randn(3, 8, 8, requires_grad=True)
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.adaptive_avg_pool2d(x, 3),
              F.adaptive_max_pool2d(x, 3)):
        assert y.dtype == sg.float32 and y.dim() == 3
        y.sum().backward()
        assert x.grad.dtype == sg.float32
    assert F.max_pool1d(sg.randn(4, 9), 3).shape == (4, 3)


@needs_torch
def test_pool_modules_match_torch() -> None:
    x = _rand(2, 3, 9, 8)
    pairs = [(nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
             (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
             (nn.AvgPool2d(3, 2, 1, count_include_pad=False),
              torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
             (nn.AdaptiveAvgPool2d((2, 3)), torch.nn.AdaptiveAvgPool2d((2, 3))),
             (nn.AdaptiveMaxPool2d(4), torch.nn.AdaptiveMaxPool2d(4))]
    for s, t in pairs:
        torch_parity(s, t, x)
        assert repr(s) == repr(t)
    x1 = _rand(2, 3, 10)
    for s, t in [(nn.MaxPool1d(3, 2), torch.nn.MaxPool1d(3, 2)),
                 (nn.AvgPool1d(3, 2, 1), torch.nn.AvgPool1d(3, 2, 1)),
                 (nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4)),
                 (nn.AdaptiveMaxPool1d(4), torch.nn.AdaptiveMaxPool1d(4))]:
        torch_parity(s, t, x1)
    _, idx = nn.MaxPool2d(2, return_indices=True)(sg.tensor(x))
    _, tidx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    assert idx.dtype == sg.int64 and (idx.numpy() == tidx.numpy()).all()


def test_pool_errors() -> None:
    x = sg.randn(2, 3, 4, 4)
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match=r"Output size is too small"):
        F.max_pool2d(x, 5)
    with pytest.raises(RuntimeError, match=r"expected 3D \(unbatched\) or 4D .*\[4, 4\]"):
        F.max_pool2d(sg.randn(4, 4), 2)
    with pytest.raises(RuntimeError, match="floating point"):
        F.avg_pool2d(sg.tensor(np.ones((1, 1, 4, 4), dtype=np.int64)), 2)
    with pytest.raises(ValueError, match="output_size must have 2 elements"):
        F.adaptive_avg_pool2d(x, (1, 2, 3))


@needs_torch
@settings(max_examples=25, deadline=None)
@given(st.integers(2, 9), st.integers(2, 9), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), st.integers(0, 1), st.integers(1, 2), st.booleans(), st.booleans(),
       st.integers(0, 10**6))
def test_pool_random_configs_match_torch(h, w, kh, kw, s, p, d, ceil, ties, seed) -> None:
    """Random geometry: whenever PyTorch accepts it, max/avg pooling agree (with ties)."""
    x = _ties(2, 2, h, w, seed=seed) if ties else _rand(2, 2, h, w, seed=seed)
    k = (kh, kw)
    try:
        TF.max_pool2d(torch.tensor(x), k, s, p, d, ceil)
    except RuntimeError:
        return
    torch_parity(lambda x: F.max_pool2d(x, k, s, p, d, ceil, True),
                 lambda x: TF.max_pool2d(x, k, s, p, d, ceil, True), x)
    try:
        TF.avg_pool2d(torch.tensor(x), k, s, p, ceil, ties)
    except RuntimeError:
        return
    torch_parity(lambda x: F.avg_pool2d(x, k, s, p, ceil, ties),
                 lambda x: TF.avg_pool2d(x, k, s, p, ceil, ties), x)


@needs_torch
def test_all_minus_inf_windows_point_inside_the_input() -> None:
    x = np.full((1, 2, 3, 4), -np.inf)
    x[0, 1, 2, 3] = 1.0
    s, t = sg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sy, si = F.max_pool2d(s, 3, 2, 1, return_indices=True)
    ty, ti = TF.max_pool2d(t, 3, 2, 1, return_indices=True)
    assert (si.numpy() == ti.numpy()).all()
    sy.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(s.grad.numpy(), t.grad.numpy())


@needs_torch
@pytest.mark.parametrize("hw,k,s,p,size", [((6, 8), 2, None, 0, None), ((7, 9), 3, 2, 1, None),
                                           ((7, 9), 2, 2, 0, (7, 9))])
def test_max_unpool_matches_torch(hw, k, s, p, size) -> None:
    x = _rand(2, 3, *hw)
    _, idx = TF.max_pool2d(torch.tensor(x), k, s, p, return_indices=True)
    pooled = TF.max_pool2d(torch.tensor(x), k, s, p).numpy()
    torch_parity(lambda v: F.max_unpool2d(v, sg.tensor(idx.numpy()), k, s, p, size),
                 lambda v: TF.max_unpool2d(v, idx, k, s, p, size), pooled)
    x1 = _rand(2, 3, 10)
    _, idx1 = TF.max_pool1d(torch.tensor(x1), 2, return_indices=True)
    torch_parity(lambda v: nn.MaxUnpool1d(2)(v, sg.tensor(idx1.numpy())),
                 lambda v: torch.nn.MaxUnpool1d(2)(v, idx1),
                 TF.max_pool1d(torch.tensor(x1), 2).numpy())
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(sg.tensor(pooled), sg.tensor(idx.numpy() + 1000), k, s, p)


def test_max_pool_then_unpool_round_trip() -> None:
    x = sg.randn(2, 3, 6, 6)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    back = F.max_unpool2d(y, idx, 2).numpy()
    assert back.shape == (2, 3, 6, 6) and (back != 0).sum() == y.numel()
    np.testing.assert_array_equal(back.max(axis=(2, 3)), x.numpy().max(axis=(2, 3)))
