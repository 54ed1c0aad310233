"""The compiled CNN kernels of the ``fast`` extra: col2im (strided convolutions with
overlapping windows), the max-pool backward over tiling windows and batch norm's affine
passes. Each is checked against PyTorch and against the NumPy path (kernels off), on odd
shapes, padding, dilation, groups, 1-D/2-D/3-D, ceil_mode, return_indices, ties, NaN and
-inf."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from softgrad.ops import _conv_kernels, _pool_kernels, conv_lowering

torch = pytest.importorskip("torch")  # every test compares with PyTorch

HAVE_NUMBA = _conv_kernels.kernels() is not None


def _rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _conv(lib, x, w, g, transpose=False, **kw):
    xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
    nd = x.ndim - 2
    f = getattr(lib.nn.functional, f"conv{'_transpose' if transpose else ''}{nd}d")
    y = f(xt, wt, **kw)
    (y * lib.tensor(g)).sum().backward()
    return [a.detach().numpy() for a in (y, xt.grad, wt.grad)]


CONV_CASES = [  # (x shape, w shape, kwargs): stride > 1 and overlapping windows
    ((2, 3, 9, 11), (4, 3, 3, 3), {"stride": 2, "padding": 1}),
    ((3, 2, 10, 7), (5, 2, 3, 2), {"stride": (2, 3), "padding": (1, 0)}),
    ((2, 4, 13, 12), (6, 2, 3, 3), {"stride": 2, "padding": 2, "dilation": 2, "groups": 2}),
    ((2, 3, 7, 8, 9), (4, 3, 3, 3, 3), {"stride": 2, "padding": 1}),
    ((1, 2, 6, 9, 5), (3, 2, 3, 2, 3), {"stride": (2, 1, 2), "padding": (1, 0, 1)}),
    ((2, 3, 17), (4, 3, 5), {"stride": 3, "padding": 2}),
    ((2, 16, 16, 16, 16), (32, 16, 3, 3, 3), {"stride": 2, "padding": 1}),
]


@pytest.mark.parametrize("lowering", [None, "im2col"])
@pytest.mark.parametrize("xs,ws,kw", CONV_CASES)
def test_strided_conv_grads_match_torch_with_and_without_kernels(monkeypatch, lowering, xs,
                                                                 ws, kw) -> None:
    monkeypatch.setattr(conv_lowering, "FORCE", lowering)
    x, w = _rand(*xs, seed=1), _rand(*ws, seed=2)
    y = torch.nn.functional.__dict__[f"conv{len(xs) - 2}d"](torch.tensor(x), torch.tensor(w),
                                                          **kw)
    g = _rand(*y.shape, seed=3)
    ref = _conv(torch, x, w, g, **kw)
    runs = {}
    for use in ([False, True] if HAVE_NUMBA else [False]):
        monkeypatch.setattr(_conv_kernels, "USE", use)
        runs[use] = _conv(sg, x, w, g, **kw)
        for a, b in zip(runs[use], ref):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    if HAVE_NUMBA:
        for a, b in zip(runs[True], runs[False]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_strided_conv_float32_kernels_close_to_numpy(monkeypatch) -> None:
    if not HAVE_NUMBA:
        pytest.skip("numba is not installed")
    x, w = _rand(4, 8, 15, 15, dtype=np.float32), _rand(8, 8, 3, 3, seed=1, dtype=np.float32)
    g = _rand(4, 8, 8, 8, seed=2, dtype=np.float32)
    out = {}
    for use in (False, True):
        monkeypatch.setattr(_conv_kernels, "USE", use)
        out[use] = _conv(sg, x, w, g, stride=2, padding=1)
    for a, b in zip(out[True], out[False]):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_col2im_kernel_is_used_and_adjoint_of_im2col() -> None:
    """<im2col(x), c> == <x, col2im(c)> for the compiled col2im on a 3-D strided case."""
    if not HAVE_NUMBA:
        pytest.skip("numba is not installed")
    x = _rand(2, 3, 5, 6, 7)
    cols = _rand(2, 3, 3, 3, 3, 3, 3, 4, seed=4)
    gx = np.full_like(x, np.nan)
    assert _conv_kernels.col2im(cols, gx, (1, 1, 1), (2, 2, 2), (1, 1, 1))
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1), (1, 1)))
    im = np.zeros_like(cols)
    for i in range(3):
        for j in range(3):
            for k in range(3):
                im[:, :, i, j, k] = xp[:, :, i:i + 5:2, j:j + 5:2, k:k + 8:2][:, :, :3, :3, :4]
    np.testing.assert_allclose((im * cols).sum(), (x * gx).sum(), rtol=1e-12)


def test_conv_transpose_strided_with_kernels_matches_torch(monkeypatch) -> None:
    x, w = _rand(2, 4, 5, 6, seed=5), _rand(4, 3, 3, 3, seed=6)
    kw = {"stride": 2, "padding": 1, "output_padding": 1}
    y = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w), **kw)
    g = _rand(*y.shape, seed=7)
    ref = _conv(torch, x, w, g, transpose=True, **kw)
    for use in ([False, True] if HAVE_NUMBA else [False]):
        monkeypatch.setattr(_conv_kernels, "USE", use)
        for a, b in zip(_conv(sg, x, w, g, transpose=True, **kw), ref):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------- max pooling
def _pool(lib, x, g_seed, nd, **kw):
    xt = lib.tensor(x, requires_grad=True)
    f = getattr(lib.nn.functional, f"max_pool{nd}d")
    out = f(xt, **kw)
    y, idx = (out if kw.get("return_indices") else (out, None))
    g = lib.tensor(np.random.default_rng(g_seed).standard_normal(tuple(y.shape)).astype(x.dtype))
    (y * g).sum().backward()
    res = [y.detach().numpy(), xt.grad.numpy()]
    return res + ([idx.numpy()] if idx is not None else [])


def _tied(shape, seed=0, dtype=np.float32):
    """Integer values in 0..2: many ties inside windows (the first maximum must win)."""
    return np.random.default_rng(seed).integers(0, 3, shape).astype(dtype)


def _special():
    x = _rand(2, 2, 6, 6, dtype=np.float32)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan
    x[1, 1, :2, :2] = -np.inf
    x[1, 0, 2:4, 2:4] = np.inf
    return x


POOL_CASES = [  # (x, nd, kwargs)
    (_tied((4, 3, 8, 8)), 2, {"kernel_size": 2}),
    (_tied((2, 3, 9, 7), seed=1), 2, {"kernel_size": 2}),                 # floor: uncovered edge
    (_rand(2, 3, 9, 9, seed=2), 2, {"kernel_size": 3}),                     # float64, 3x3
    (_tied((2, 3, 8, 12), seed=3), 2, {"kernel_size": (2, 3)}),
    (_tied((2, 2, 13), seed=4), 1, {"kernel_size": 3}),                     # 1-D
    (_tied((2, 3, 9, 7), seed=5), 2, {"kernel_size": 2, "ceil_mode": True}),   # NumPy path
    (_tied((2, 3, 8, 8), seed=6), 2, {"kernel_size": 2, "stride": 1}),         # overlapping
    (_tied((2, 3, 8, 8), seed=7), 2, {"kernel_size": 2, "padding": 1}),        # padded
]


@pytest.mark.parametrize("ri", [False, True])
@pytest.mark.parametrize("case", range(len(POOL_CASES)))
def test_max_pool_backward_matches_torch_and_numpy_path(monkeypatch, case, ri) -> None:
    x, nd, kw = POOL_CASES[case]
    kw = dict(kw, return_indices=ri)
    ref = _pool(torch, x, 9, nd, **kw)
    runs = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("SOFTGRAD_NUMBA", flag)
        runs[flag] = _pool(sg, x, 9, nd, **kw)
        for a, b in zip(runs[flag], ref):  # overlapping windows add in another order
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    for a, b in zip(runs["0"], runs["1"]):
        np.testing.assert_array_equal(a, b)


def test_max_pool_nan_and_inf_windows_match_numpy_path(monkeypatch) -> None:
    x = _special()
    runs = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("SOFTGRAD_NUMBA", flag)
        runs[flag] = _pool(sg, x, 3, 2, kernel_size=2, return_indices=True)
    for a, b in zip(runs["0"], runs["1"]):
        np.testing.assert_array_equal(a, b)
    ref = _pool(torch, x, 3, 2, kernel_size=2, return_indices=True)
    np.testing.assert_array_equal(runs["1"][0], ref[0])
    nan_window = np.zeros(x.shape, bool)  # which NaN of a window takes the gradient is
    nan_window[0, 0, :2, :2] = True       # the NumPy path's choice (its first NaN)
    np.testing.assert_array_equal(runs["1"][1][~nan_window], ref[1][~nan_window])


def test_max_pool_kernel_taken_only_for_tiling_windows(monkeypatch) -> None:
    probe = np.zeros((1, 1, 1, 1), np.float32)
    if _pool_kernels.kernels(np, probe, probe.astype(np.uint8)) is None:
        pytest.skip("numba is not installed or switched off")
    calls = []
    real = _pool_kernels.kernels

    def spy(*a):
        k = real(*a)
        calls.append(k is not None)
        return k
    monkeypatch.setattr(_pool_kernels, "kernels", spy)
    x = _tied((2, 3, 8, 8))
    _pool(sg, x, 0, 2, kernel_size=2)
    assert calls == [True]
    calls.clear()
    _pool(sg, x, 0, 2, kernel_size=2, stride=1)
    _pool(sg, x, 0, 2, kernel_size=2, padding=1)
    _pool(sg, _tied((2, 3, 9, 9)), 0, 2, kernel_size=2, ceil_mode=True)
    assert calls == []


def test_max_pool_double_backward_unchanged_on_tiling_windows() -> None:
    x = _rand(2, 2, 4, 4, seed=11)
    xt = sg.tensor(x, requires_grad=True)
    y = sg.nn.functional.max_pool2d(xt, 2)
    (gx,) = sg.autograd.grad((y * y).sum(), xt, create_graph=True)
    (ggx,) = sg.autograd.grad(gx.sum(), xt)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, 2)
    (tg,) = torch.autograd.grad((ty * ty).sum(), tx, create_graph=True)
    (tgg,) = torch.autograd.grad(tg.sum(), tx)
    np.testing.assert_allclose(gx.detach().numpy(), tg.detach().numpy())
    np.testing.assert_allclose(ggx.numpy(), tgg.numpy())


# ---------------------------------------------------------------------- batch norm passes
@pytest.mark.parametrize("shape,dtype,affine", [
    ((16, 8, 9, 7), np.float32, True), ((5, 3, 11), np.float64, True),
    ((4, 6, 3, 5), np.float32, False), ((2, 3, 2, 3, 4), np.float32, True)])
def test_batch_norm_compiled_passes_equal_numpy_path_and_torch(monkeypatch, shape, dtype,
                                                               affine) -> None:
    x = (_rand(*shape, seed=12) * 3 + 1).astype(dtype)
    g = _rand(*shape, seed=13).astype(dtype)
    nd = len(shape) - 2
    runs = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("SOFTGRAD_NUMBA", flag)
        bn = getattr(sg.nn, f"BatchNorm{max(nd, 1)}d")(shape[1], affine=affine).to(
            sg.float64 if dtype == np.float64 else sg.float32)
        xt = sg.tensor(x, requires_grad=True)
        y = bn(xt)
        y.backward(sg.tensor(g))
        runs[flag] = [y.detach().numpy(), xt.grad.numpy()] + (
            [bn.weight.grad.numpy(), bn.bias.grad.numpy()] if affine else [])
    for a, b in zip(runs["0"], runs["1"]):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    tbn = getattr(torch.nn, f"BatchNorm{max(nd, 1)}d")(shape[1], affine=affine).to(
        torch.float64 if dtype == np.float64 else torch.float32)
    tx = torch.tensor(x, requires_grad=True)
    ty = tbn(tx)
    ty.backward(torch.tensor(g))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(runs["1"][0], ty.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(runs["1"][1], tx.grad.numpy(), rtol=tol, atol=tol)
