"""Higher-order gradients through convolution, pooling, unfold/fold and resampling:
grad-of-grad equals PyTorch's (create_graph=True)."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import needs_torch, torch

TF = torch.nn.functional if torch is not None else None


def _rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _double_parity(sg_fn, t_fn, *arrays: np.ndarray) -> None:
    """d/d(inputs) of <v, d/d(inputs) sum(w * f(x)^2)> agrees with PyTorch."""
    sx = [sg.tensor(a, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    so, to = sg_fn(*sx), t_fn(*tx)
    w = _rand(*to.shape, seed=11)
    sg_first = sg.autograd.grad((so * so * sg.tensor(w)).sum(), sx, create_graph=True)
    t_first = torch.autograd.grad((to * to * torch.tensor(w)).sum(), tx, create_graph=True)
    s_total, t_total = 0, 0
    for i, (a, b) in enumerate(zip(sg_first, t_first)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-10)
        v = _rand(*b.shape, seed=20 + i)
        s_total = s_total + (a * sg.tensor(v)).sum()
        t_total = t_total + (b * torch.tensor(v)).sum()
    s_total.backward()
    t_total.backward()
    for i, (a, b) in enumerate(zip(sx, tx)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-9,
                                   err_msg=f"second derivative of input {i}")


@needs_torch
@pytest.mark.parametrize("s,p,d,g", [(1, 0, 1, 1), (2, 1, 1, 2), (1, "same", 2, 1)])
def test_conv2d_double_backward_matches_torch(s, p, d, g) -> None:
    _double_parity(lambda x, w, b: F.conv2d(x, w, b, s, p, d, g),
                   lambda x, w, b: TF.conv2d(x, w, b, s, p, d, g),
                   _rand(2, 4, 6, 5), _rand(4, 4 // g, 3, 2, seed=1), _rand(4, seed=2))


@needs_torch
def test_conv1d_and_transpose_double_backward_match_torch() -> None:
    _double_parity(lambda x, w: F.conv1d(x, w, stride=2, padding=1),
                   lambda x, w: TF.conv1d(x, w, stride=2, padding=1),
                   _rand(2, 3, 7), _rand(2, 3, 3, seed=1))
    _double_parity(lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1, 2),
                   lambda x, w, b: TF.conv_transpose2d(x, w, b, 2, 1, 1, 2),
                   _rand(2, 4, 3, 4), _rand(4, 3, 3, 3, seed=1), _rand(6, seed=2))


@needs_torch
def test_pool_fold_resample_double_backward_match_torch() -> None:
    x = _rand(2, 3, 7, 6)
    _double_parity(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
                   lambda x: TF.max_pool2d(x, 3, 2, 1, ceil_mode=True), x)
    _double_parity(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                   lambda x: TF.avg_pool2d(x, 3, 2, 1, count_include_pad=False), x)
    _double_parity(lambda x: F.max_pool1d(x, 2), lambda x: TF.max_pool1d(x, 2), x[:, :, 0])
    _double_parity(lambda x: F.unfold(x, 2, padding=1), lambda x: TF.unfold(x, 2, padding=1), x)
    cols = _rand(2, 12, 20)
    _double_parity(lambda c: F.fold(c, (5, 6), 2, stride=1),
                   lambda c: TF.fold(c, (5, 6), 2, stride=1), cols)
    _double_parity(lambda x: F.interpolate(x, size=(9, 4), mode="bilinear"),
                   lambda x: TF.interpolate(x, size=(9, 4), mode="bilinear"), x)
    _double_parity(lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
                   lambda x: TF.adaptive_avg_pool2d(x, (3, 2)), x)


@needs_torch
def test_gradient_penalty_through_a_small_cnn() -> None:
    """A WGAN-GP style penalty: || d critic / d x ||^2 differentiated w.r.t. the weights."""
    x = _rand(3, 1, 8, 8)
    ws = [_rand(4, 1, 3, 3, seed=1), _rand(4, seed=2), _rand(1, 64, seed=3)]

    def run(lib, fn, tensor):
        xt = tensor(x, requires_grad=True)
        params = [tensor(w, requires_grad=True) for w in ws]
        h = fn.max_pool2d(fn.conv2d(xt, params[0], params[1], padding=1).tanh(), 2)
        out = (h.reshape(3, -1) @ params[2].T).sum()
        (gx,) = lib.autograd.grad(out, [xt], create_graph=True)
        (gx * gx).sum().backward()
        return [p.grad.numpy() for p in params]

    for a, b in zip(run(sg, F, sg.tensor), run(torch, TF, torch.tensor)):
        np.testing.assert_allclose(a, b, atol=1e-9)
