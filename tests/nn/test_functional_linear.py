"""nn.functional.linear (fused x @ W.T + b) and dropout (seeded inverted dropout)."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import gradcheck, needs_torch, torch, torch_parity

TF = torch.nn.functional if torch is not None else None


@needs_torch
@pytest.mark.parametrize("x_shape", [(4,), (3, 4), (2, 3, 4), (2, 1, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(x_shape: tuple, bias: bool, rng: np.random.Generator) -> None:
    arrays = [rng.standard_normal(x_shape), rng.standard_normal((5, 4))]
    if bias:
        arrays.append(rng.standard_normal(5))
    torch_parity(F.linear, TF.linear, *arrays)


@needs_torch
def test_linear_with_vector_weight_matches_torch(rng: np.random.Generator) -> None:
    torch_parity(F.linear, TF.linear, rng.standard_normal((3, 4)), rng.standard_normal(4))


def test_linear_gradcheck(rng: np.random.Generator) -> None:
    gradcheck(F.linear, rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)),
              rng.standard_normal(5))


def test_linear_is_one_node_and_bias_grad_sums_leading_dims(rng: np.random.Generator) -> None:
    x = sg.tensor(rng.standard_normal((2, 3, 4)).astype(np.float32))
    w = sg.tensor(rng.standard_normal((5, 4)).astype(np.float32), requires_grad=True)
    b = sg.tensor(np.zeros(5, np.float32), requires_grad=True)
    y = F.linear(x, w, b)
    assert type(y.grad_fn).__name__ == "Linear" and y.grad_fn.parents[0] is x
    y.sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), np.full(5, 6.0))
    np.testing.assert_allclose(w.grad.numpy(), np.tile(x.numpy().sum(axis=(0, 1)), (5, 1)),
                               rtol=1e-5)
    assert y.dtype == w.grad.dtype == b.grad.dtype == sg.float32


def test_linear_double_backward_through_weight(rng: np.random.Generator) -> None:
    # d/dW of sum((x W^T)^2) is 2 (x W^T)^T x, itself linear in W
    x = sg.tensor(rng.standard_normal((3, 4)))
    w = sg.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    (g,) = sg.autograd.grad((F.linear(x, w) ** 2).sum(), [w], create_graph=True)
    (h,) = sg.autograd.grad(g.sum(), [w])
    xn = x.numpy()  # sum(g) = 2 sum_n (x W^T)_n . 1 * s_n, s = row sums of x
    np.testing.assert_allclose(h.numpy(), np.tile(2 * xn.T @ xn.sum(1), (2, 1)), rtol=1e-10)


def test_linear_shape_and_dtype_errors_name_the_shapes() -> None:
    with pytest.raises(RuntimeError, match=r"\(4, 3\).*\(5, 2\)"):
        F.linear(sg.zeros(4, 3), sg.zeros(5, 2))
    with pytest.raises(RuntimeError, match="dtype"):
        F.linear(sg.zeros(4, 3, dtype=sg.float64), sg.zeros(5, 3))
    with pytest.raises(RuntimeError, match="out_features=5"):
        F.linear(sg.zeros(4, 3), sg.zeros(5, 3), sg.zeros(4))


def test_dropout_is_seeded_scaled_and_reuses_its_mask() -> None:
    x = sg.ones(200, 50, requires_grad=True)
    sg.manual_seed(3)
    y = F.dropout(x, p=0.3)
    sg.manual_seed(3)
    y2 = F.dropout(sg.ones(200, 50), p=0.3)
    np.testing.assert_array_equal(y.detach().numpy(), y2.numpy())
    vals = y.detach().numpy()
    assert set(np.unique(vals)) == {0.0, np.float32(1 / 0.7)}
    assert abs((vals == 0).mean() - 0.3) < 0.02  # 10000 draws: 5 standard deviations ~0.023
    (y * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 2 * vals)  # same mask, same scale
    assert y.dtype == x.grad.dtype == sg.float32


def test_dropout_eval_zero_and_one() -> None:
    x = sg.randn(4, 5, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 0.0).detach().numpy(), x.detach().numpy())
    y = F.dropout(x, 1.0)
    y.sum().backward()
    assert (y.detach().numpy() == 0).all() and (x.grad.numpy() == 0).all()


def test_dropout_float64_and_inplace() -> None:
    x = sg.ones(1000, dtype=sg.float64)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x and x.dtype == sg.float64
    assert set(np.unique(x.numpy())) == {0.0, 2.0}


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_probability(p: float) -> None:
    with pytest.raises(ValueError, match=f"between 0 and 1, but got {p}"):
        F.dropout(sg.ones(3), p)
