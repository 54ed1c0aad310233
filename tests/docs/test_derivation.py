"""The derivation softgrad is born from, step by step, as tests.

Logits z go through Softmax (or Sigmoid) to probabilities p; cross-entropy
L = -1/l sum_i sum_c y_ic log p_ic against one-hot labels y. Then dL/dp = -y / p / l, the
Softmax Jacobian is diag(f) - f f^T, Sigmoid's derivative is f (1 - f) element-wise, and
the chain gives (p - y) / l at the logits.
"""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from softgrad.autograd.functional import jacobian


def _problem(rng: np.random.Generator, l: int = 6, c: int = 4) -> tuple:
    z = rng.standard_normal((l, c)) * 2
    labels = rng.integers(0, c, l)
    return z, labels, np.eye(c)[labels]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_softmax_jacobian_is_diag_f_minus_f_f_transpose(rng: np.random.Generator) -> None:
    x = sg.tensor(rng.standard_normal(5))
    f = _softmax(x.numpy())
    J = jacobian(lambda v: F.softmax(v, dim=0), x).numpy()
    np.testing.assert_allclose(J, np.diag(f) - np.outer(f, f), atol=1e-15)
    # diagonal f_i (1 - f_i), off-diagonal -f_i f_j
    np.testing.assert_allclose(np.diag(J), f * (1 - f), atol=1e-15)
    assert (J[~np.eye(5, dtype=bool)] < 0).all()


def test_sigmoid_derivative_is_f_one_minus_f_and_its_jacobian_is_diagonal(
        rng: np.random.Generator) -> None:
    x = sg.tensor(rng.standard_normal(6) * 3)
    f = 1 / (1 + np.exp(-x.numpy()))
    J = jacobian(F.sigmoid, x).numpy()
    np.testing.assert_allclose(J, np.diag(f * (1 - f)), atol=1e-15)
    assert (J[~np.eye(6, dtype=bool)] == 0).all()


def test_cross_entropy_gradient_wrt_probabilities_is_minus_y_over_p(
        rng: np.random.Generator) -> None:
    z_np, _, y_np = _problem(rng)
    l = z_np.shape[0]
    z = sg.tensor(z_np, requires_grad=True)
    y = sg.tensor(y_np)
    p = F.softmax(z, dim=1)
    p.retain_grad()
    L = -(y * p.log()).sum() / l
    L.backward()
    pn = p.detach().numpy()
    np.testing.assert_allclose(p.grad.numpy(), -y_np / pn / l, rtol=1e-12)
    # and through the Softmax Jacobian the chain arrives at (p - y) / l
    np.testing.assert_allclose(z.grad.numpy(), (pn - y_np) / l, atol=1e-15)


def test_chain_by_hand_equals_p_minus_y(rng: np.random.Generator) -> None:
    z, _, y = _problem(rng)
    l = z.shape[0]
    p = _softmax(z)
    dL_dp = -y / p / l
    jac = [np.diag(f) - np.outer(f, f) for f in p]  # one Jacobian per sample
    dL_dz = np.stack([J.T @ g for J, g in zip(jac, dL_dp)])
    np.testing.assert_allclose(dL_dz, (p - y) / l, atol=1e-15)


def test_fused_cross_entropy_gradient_at_logits_is_p_minus_y_over_l(
        rng: np.random.Generator) -> None:
    z_np, labels, y_np = _problem(rng)
    l = z_np.shape[0]
    z = sg.tensor(z_np, requires_grad=True)
    loss = F.cross_entropy(z, sg.tensor(labels))
    loss.backward()
    p = _softmax(z_np)
    np.testing.assert_allclose(loss.item(), -(y_np * np.log(p)).sum() / l, rtol=1e-12)
    np.testing.assert_allclose(z.grad.numpy(), (p - y_np) / l, atol=1e-15)


def test_index_and_one_hot_targets_give_the_same_loss_and_gradient(
        rng: np.random.Generator) -> None:
    z_np, labels, y_np = _problem(rng)
    for reduction in ("mean", "sum", "none"):
        za = sg.tensor(z_np, requires_grad=True)
        zb = sg.tensor(z_np, requires_grad=True)
        a = F.cross_entropy(za, sg.tensor(labels), reduction=reduction)
        b = F.cross_entropy(zb, sg.tensor(y_np), reduction=reduction)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
        a.sum().backward()
        b.sum().backward()
        np.testing.assert_allclose(za.grad.numpy(), zb.grad.numpy(), atol=1e-15)


def test_sigmoid_with_binary_cross_entropy_gives_f_minus_y_over_l(
        rng: np.random.Generator) -> None:
    z_np = rng.standard_normal(8) * 2
    y_np = (rng.random(8) > 0.5).astype(np.float64)
    f = 1 / (1 + np.exp(-z_np))
    for composed in (True, False):
        z = sg.tensor(z_np, requires_grad=True)
        y = sg.tensor(y_np)
        loss = (F.binary_cross_entropy(F.sigmoid(z), y) if composed
                else F.binary_cross_entropy_with_logits(z, y))
        loss.backward()
        np.testing.assert_allclose(z.grad.numpy(), (f - y_np) / 8, atol=1e-15)


@pytest.mark.parametrize("dtype", [sg.float32, sg.float64])
def test_huge_logits_give_finite_loss_and_gradients(dtype) -> None:
    z_np = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [-1e4, -1e4, -1e4]])
    labels = np.array([1, 0, 2])
    for target in (sg.tensor(labels), sg.tensor(np.eye(3)[labels], dtype=dtype)):
        z = sg.tensor(z_np, dtype=dtype, requires_grad=True)
        loss = F.cross_entropy(z, target, label_smoothing=0.1)
        loss.backward()
        assert loss.dtype == dtype and np.isfinite(loss.item())
        assert z.grad.dtype == dtype and np.isfinite(z.grad.numpy()).all()
        m = z_np.max(axis=1, keepdims=True)
        log_p = z_np - m - np.log(np.exp(z_np - m).sum(axis=1, keepdims=True))
        smoothed = 0.9 * np.eye(3)[labels] + 0.1 / 3
        assert loss.item() == pytest.approx(-(smoothed * log_p).sum() / 3, rel=1e-6)
    for fn in (F.softmax, F.log_softmax):
        z = sg.tensor(z_np, dtype=dtype, requires_grad=True)
        out = fn(z, dim=1)
        (out * sg.tensor(np.arange(9.0).reshape(3, 3), dtype=dtype)).sum().backward()
        assert np.isfinite(out.detach().numpy()).all() and np.isfinite(z.grad.numpy()).all()


def test_log_softmax_of_shifted_rows_is_finite_and_equal() -> None:
    out = F.log_softmax(sg.tensor([[1000.0, 1001.0], [-1000.0, -999.0]]), dim=1).numpy()
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], out[1])


def test_softmax_backward_is_a_vjp_of_the_dense_jacobian(rng: np.random.Generator) -> None:
    # the O(N*C) rule y * (g - sum(g * y)) equals J^T g for every row
    z = sg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    g = rng.standard_normal((3, 4))
    y = F.softmax(z, dim=1)
    (y * sg.tensor(g)).sum().backward()
    f = y.detach().numpy()
    dense = np.stack([(np.diag(r) - np.outer(r, r)).T @ gi for r, gi in zip(f, g)])
    np.testing.assert_allclose(z.grad.numpy(), dense, atol=1e-15)
