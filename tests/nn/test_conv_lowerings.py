"""Every convolution lowering (im2col, per-tap GEMMs, Winograd F(2x2, 3x3)), with and without
the compiled kernels, agrees with the others and with PyTorch; the reused work buffers are
safe when one layer runs twice in a graph, with retain_graph and with double backward."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import needs_torch, torch
from softgrad.ops import _conv_kernels, conv_columns, conv_lowering, conv_plan, winograd

LOWERINGS = ["im2col", "taps", "winograd", "persample"]


@pytest.fixture(params=[False, True], ids=["numpy", "kernels"])
def kernels(request, monkeypatch):
    """Runs a test with the compiled kernels off, then on (where numba is installed)."""
    if request.param and _conv_kernels.kernels() is None:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(_conv_kernels, "USE", request.param)
    return request.param


def _rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _run(lib, x, w, b, g, **kw):
    """(y, grad_x, grad_w, grad_b) of a conv2d/conv3d with upstream gradient g."""
    xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
    bt = lib.tensor(b, requires_grad=True)
    conv = (lib.nn.functional.conv3d if x.ndim == 5 else
            lib.nn.functional.conv1d if x.ndim == 3 else lib.nn.functional.conv2d)
    y = conv(xt, wt, bt, **kw)
    (y * lib.tensor(g)).sum().backward()
    return [a.detach().numpy() for a in (y, xt.grad, wt.grad, bt.grad)]


CASES = [  # (x shape, w shape, kwargs); forcing a lowering ignores its channel minimum
    ((2, 8, 9, 7), (8, 8, 3, 3), dict(padding=1)),
    ((1, 8, 5, 19), (8, 8, 3, 3), dict(padding=1)),  # wide: Winograd's compiled transforms
    ((3, 8, 4, 4), (10, 8, 3, 3), dict(padding=1)),
    ((2, 8, 6, 5), (8, 8, 3, 3), dict(padding=(2, 0))),
    ((2, 6, 8, 8), (7, 6, 3, 3), dict(padding=1, stride=2)),
    ((2, 6, 7, 6), (7, 6, 1, 1), dict(stride=2)),
    ((2, 6, 5, 5), (7, 6, 3, 2), dict(padding=1, dilation=(2, 1))),
    ((2, 8, 2, 3), (6, 8, 3, 3), dict(padding=1)),
    ((2, 6, 5, 6, 4), (5, 6, 3, 2, 3), dict(padding=1, stride=(2, 1, 1))),
    ((2, 6, 9), (5, 6, 3), dict(padding=2, stride=2)),
]


@needs_torch
@pytest.mark.parametrize("lowering", LOWERINGS)
@pytest.mark.parametrize("xs,ws,kw", CASES)
def test_each_lowering_matches_torch(monkeypatch, kernels, lowering, xs, ws, kw) -> None:
    """Forced lowerings (where they apply; the others fall back to the default choice)."""
    monkeypatch.setattr(conv_lowering, "FORCE", lowering)
    x, w, b = _rand(*xs), _rand(*ws, seed=1), _rand(ws[0], seed=2)
    y_ref = getattr(torch.nn.functional, f"conv{len(xs) - 2}d")(
        torch.tensor(x), torch.tensor(w), torch.tensor(b), **kw)
    g = _rand(*y_ref.shape, seed=3)
    mine, ref = _run(sg, x, w, b, g, **kw), _run(torch, x, w, b, g, **kw)
    for name, a, r in zip(("y", "grad_x", "grad_w", "grad_b"), mine, ref):
        np.testing.assert_allclose(a, r, rtol=1e-9, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("xs,ws,kw", CASES[:4])
def test_lowerings_agree_in_float32(monkeypatch, kernels, xs, ws, kw) -> None:
    x, w, b = (_rand(*xs, dtype=np.float32), _rand(*ws, seed=1, dtype=np.float32),
               _rand(ws[0], seed=2, dtype=np.float32))
    outs = []
    for lowering in LOWERINGS:
        monkeypatch.setattr(conv_lowering, "FORCE", lowering)
        y = F.conv2d(sg.tensor(x), sg.tensor(w), sg.tensor(b), **kw)
        g = _rand(*y.shape, seed=3, dtype=np.float32)
        outs.append(_run(sg, x, w, b, g, **kw))
    for other in outs[1:]:
        for a, r in zip(other, outs[0]):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, r, rtol=2e-4, atol=2e-4 * np.abs(r).max())


def test_choice_per_shape() -> None:
    def how(xs, ws, stride=1, pad=1):
        geo = ((stride, stride), ((pad, pad), (pad, pad)), (1, 1), 1)
        p = conv_plan.plan(xs[2:], ws[2:], geo[0], geo[1], geo[2])
        return conv_lowering.choose(p, xs, ws, geo)

    assert how((32, 64, 32, 32), (64, 64, 3, 3)) == "winograd"
    assert how((32, 512, 4, 4), (512, 512, 3, 3)) == "winograd"
    assert how((32, 512, 2, 2), (512, 512, 3, 3)) == "taps"  # tiles would be mostly padding
    assert how((32, 512, 1, 1), (512, 512, 3, 3)) == "taps"  # 8 of 9 taps read padding
    assert how((32, 64, 32, 32), (128, 64, 1, 1), stride=2, pad=0) == "taps"  # a plain GEMM
    assert how((32, 64, 32, 32), (128, 64, 3, 3), stride=2) == "im2col"
    assert how((32, 3, 32, 32), (64, 3, 3, 3)) == "im2col"  # too few channels for either


def test_numba_kernels_match_numpy_transforms_bit_for_bit() -> None:
    k = _conv_kernels.kernels()
    if k is None:
        pytest.skip("numba is not installed")
    rng = np.random.default_rng(5)
    for dtype in (np.float32, np.float64):
        p = rng.standard_normal((3, 2, 10, 8)).astype(dtype)
        v_np = np.empty((16, 3, 2, 4, 3), dtype)
        winograd.input_transform(np, p, 2, 4, 3, v_np)
        v_k = np.empty_like(v_np)
        k.wino_input(p, v_k)
        np.testing.assert_array_equal(v_k, v_np)
        m = rng.standard_normal((16, 5, 2, 4, 3)).astype(dtype)
        bias = rng.standard_normal(5).astype(dtype)
        y_np = np.empty((2, 5, 7, 5), dtype)
        lay = winograd._Layout(False)
        winograd._store(np, lay, winograd.output_transform(np, m), y_np, bias)
        y_k = np.empty_like(y_np)
        k.wino_output(m, y_k, bias, True)
        np.testing.assert_array_equal(y_k, y_np)
        g = rng.standard_normal((2, 5, 7, 5)).astype(dtype)
        gy = np.zeros((5, 2, 8, 6), dtype)
        gy[:, :, :7, :5] = g.swapaxes(0, 1)
        gm_np = np.empty((16, 5, 2, 4, 3), dtype)
        winograd.grad_output_transform(np, gy, 2, 4, 3, gm_np)
        gm_k = np.empty_like(gm_np)
        k.wino_grad_output(g, gm_k)
        np.testing.assert_array_equal(gm_k, gm_np)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_both_column_layouts_agree(nd) -> None:
    shape = {1: (3, 4, 11), 2: (3, 4, 9, 8), 3: (3, 4, 6, 7, 5)}[nd]
    kernel, stride = (3, 2, 3)[:nd], (1, 1, 1)[:nd]
    pads, dil = ((1, 1), (2, 2), (0, 0))[:nd], (1, 2, 1)[:nd]
    geo = (stride, pads, dil, 1)
    x = _rand(*shape, dtype=np.float32)
    p = conv_plan.plan(shape[2:], kernel, stride, pads, dil)
    cols = {}
    for batch_last in (False, True):
        layout = conv_columns.Columns(np, p, geo, 4, kernel)
        layout.batch_last = batch_last
        c = np.full(layout.shape(2), np.nan, np.float32)
        layout.fill(x, 1, 2, c)
        gx = np.full(shape, np.nan, np.float32)
        layout.add_back(c, gx, 1, 2)
        if batch_last:  # back to the batch-beside-taps order
            c = np.moveaxis(c, -1, 1 + nd)
        assert not np.isnan(c).any() and not np.isnan(gx[1:]).any()
        cols[batch_last] = (c, gx[1:])
    np.testing.assert_array_equal(cols[True][0], cols[False][0])
    np.testing.assert_allclose(cols[True][1], cols[False][1], rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------- buffer reuse
@needs_torch
@pytest.mark.parametrize("lowering", LOWERINGS)
def test_one_layer_twice_in_a_graph_with_retain_graph(monkeypatch, kernels, lowering) -> None:
    """Work buffers are shared by every call: two uses of one conv layer (with different
    inputs) in one graph, backward twice with retain_graph, gradients still exact."""
    monkeypatch.setattr(conv_lowering, "FORCE", lowering)
    x1, x2 = _rand(2, 8, 6, 6), _rand(3, 8, 6, 6, seed=4)
    w = _rand(8, 8, 3, 3, seed=1)
    results = []
    for lib in (sg, torch):
        conv = lib.nn.functional.conv2d
        a, b_ = lib.tensor(x1, requires_grad=True), lib.tensor(x2, requires_grad=True)
        wt = lib.tensor(w, requires_grad=True)
        h = conv(conv(a, wt, padding=1), wt, padding=1)  # the layer applied to its own output
        loss = (h * h).sum() + (conv(b_, wt, padding=1) ** 3).sum()
        loss.backward(retain_graph=True)
        first = [t.grad.numpy().copy() for t in (a, b_, wt)]
        loss.backward()
        results.append(first + [t.grad.numpy() for t in (a, b_, wt)])
    for mine, ref in zip(*results):
        np.testing.assert_allclose(mine, ref, rtol=1e-9, atol=1e-9)


@needs_torch
@pytest.mark.parametrize("lowering", LOWERINGS)
def test_double_backward_through_each_lowering(monkeypatch, kernels, lowering) -> None:
    monkeypatch.setattr(conv_lowering, "FORCE", lowering)
    x, w = _rand(2, 8, 5, 5), _rand(8, 8, 3, 3, seed=1) * 0.1
    outs = []
    for lib in (sg, torch):
        xt, wt = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv2d(xt, wt, padding=1)
        (gx,) = lib.autograd.grad((y * y).sum(), [xt], create_graph=True)
        (gx * gx).sum().backward()
        outs.append([xt.grad.detach().numpy(), wt.grad.detach().numpy()])
    for mine, ref in zip(*outs):
        np.testing.assert_allclose(mine, ref, rtol=1e-8, atol=1e-9)


def test_workspace_is_reused_and_releasable() -> None:
    x = sg.randn(4, 8, 12, 12)
    w = sg.randn(8, 8, 3, 3, requires_grad=True)
    F.conv2d(x, w, padding=1).sum().backward()
    held = conv_plan.workspace_bytes()
    assert held > 0
    F.conv2d(x, w, padding=1).sum().backward()
    assert conv_plan.workspace_bytes() == held  # the same buffers, not new ones
    conv_plan.release_workspace()
    assert conv_plan.workspace_bytes() == 0


@pytest.mark.parametrize("lowering", LOWERINGS)
def test_each_lowering_on_the_fake_gpu_module(monkeypatch, lowering) -> None:
    """Device arrays go through ``self.xp`` (never bare NumPy, no host work buffers): every
    lowering on the fake CuPy module gives the CPU results and stays on the device."""
    from tests.helpers import fake_cuda
    from softgrad import backend

    monkeypatch.setattr(conv_lowering, "FORCE", lowering)
    x, w, b = _rand(2, 8, 9, 7), _rand(8, 8, 3, 3, seed=1), _rand(8, seed=2)
    g = _rand(2, 8, 9, 7, seed=3)
    fake_cuda.install()
    try:
        res = {}
        for dev in ("cpu", "cuda"):
            xt = sg.tensor(x, device=dev, requires_grad=True)
            wt = sg.tensor(w, device=dev, requires_grad=True)
            y = F.conv2d(xt, wt, sg.tensor(b, device=dev), padding=1)
            (y * sg.tensor(g, device=dev)).sum().backward()
            assert isinstance(y._data, backend._cupy.ndarray) == (dev == "cuda")
            res[dev] = [backend.to_numpy(a._data) for a in (y, xt.grad, wt.grad)]
    finally:
        fake_cuda.uninstall()
    for a, r in zip(res["cuda"], res["cpu"]):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)
