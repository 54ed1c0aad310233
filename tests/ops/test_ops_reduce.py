"""Reductions: sum, mean, var, std, prod, max/min, arg-reductions, logsumexp, norm, cumsum."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch, torch_parity
from tests.helpers.op_cases import REDUCE, op_tests


test_matches_torch, test_gradient_matches_finite_differences = op_tests(REDUCE)


def test_max_with_dim_returns_values_and_int64_indices() -> None:
    x = sg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]], requires_grad=True)
    out = x.max(dim=1)
    assert isinstance(out, sg.MinMaxResult)
    values, indices = out
    assert out.values is values and out.indices is indices
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert indices.dtype == sg.int64 and not indices.requires_grad
    mn = sg.min(x, 0, keepdim=True)
    assert mn.values.shape == (1, 3) and mn.indices.tolist() == [[0, 1, 0]]
    values.sum().backward()  # ties in row 1: max(dim) sends the gradient to one index
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


@needs_torch
@pytest.mark.parametrize("op", ["amax", "amin", "max_all", "max_dim", "min_dim", "norm_inf"])
def test_ties_share_gradient_as_torch(op: str) -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0], [0.0, 0.0, 0.0]])
    f = {
        "amax": lambda m, a: a.amax(1), "amin": lambda m, a: m.amin(a, 0),
        "max_all": lambda m, a: a.max(), "max_dim": lambda m, a: a.max(1)[0],
        "min_dim": lambda m, a: a.min(0).values, "norm_inf": lambda m, a: a.norm(float("inf")),
    }[op]
    torch_parity(lambda a: f(sg, a), lambda a: f(torch, a), x)


@needs_torch
def test_std_of_constant_rows_has_zero_gradient_as_torch() -> None:
    x = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])
    torch_parity(lambda a: a.std(1), lambda a: a.std(1), x)
    torch_parity(lambda a: a.std(), lambda a: a.std(), x[:1])


@needs_torch
def test_prod_gradient_with_zeros_matches_torch() -> None:
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    torch_parity(lambda a: a.prod(1), lambda a: a.prod(1), x)
    torch_parity(lambda a: a.prod(), lambda a: a.prod(), x[:1])


def test_prod_over_several_dims_and_its_second_derivative() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 2, (2, 3, 2))
    x = sg.tensor(a, requires_grad=True)
    y = x.prod((0, 2))
    np.testing.assert_allclose(y.detach().numpy(), a.prod((0, 2)))
    (g,) = sg.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), a.prod((0, 2), keepdims=True) / a)

    def grad_of_prod(t: sg.Tensor) -> sg.Tensor:
        with sg.enable_grad():
            return sg.autograd.grad(t.prod(1).sum(), t, create_graph=True)[0]

    assert sg.autograd.gradcheck(grad_of_prod, [sg.tensor(a, requires_grad=True)])


def test_logsumexp_is_stable_for_extreme_rows() -> None:
    x = sg.tensor([[1000.0, 1001.0], [-1000.0, -999.0]], requires_grad=True)
    out = x.logsumexp(1)
    np.testing.assert_allclose(out.detach().numpy(), [1001.3132617, -998.6867383], rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.2689414, 0.7310586]] * 2, rtol=1e-5)


def test_integer_reductions_follow_torch_dtypes() -> None:
    i = sg.tensor([[1, 2], [3, 4]])
    assert i.sum().dtype == sg.int64 and i.sum().item() == 10
    assert sg.tensor([True, True, False]).sum().item() == 2
    assert i.prod(1).tolist() == [2, 12] and i.cumsum(0).tolist() == [[1, 2], [4, 6]]
    assert i.max().item() == 4 and i.max(1).values.tolist() == [2, 4]
    assert i.amin().item() == 1 and i.argmax().item() == 3
    assert i.float().mean().item() == 2.5 and i.mean(dtype=sg.float64).dtype == sg.float64
    with pytest.raises(RuntimeError, match="mean"):
        i.mean()
    with pytest.raises(RuntimeError, match="floating point"):
        i.var()


def test_reductions_accept_numpy_spelling_and_zero_dim_tensors() -> None:
    x = sg.tensor(np.arange(6.0).reshape(2, 3))
    assert x.sum(axis=1, keepdims=True).shape == (2, 1)
    s = sg.tensor(3.0)
    assert s.sum(0).item() == 3.0 and s.max(0).values.item() == 3.0 and s.argmax(0).item() == 0
    assert s.mean(dim=-1, keepdim=True).shape == ()
    assert x.all().item() is False and x.any(1).tolist() == [True, True]


def test_reduction_errors_are_clear() -> None:
    x = sg.ones(2, 3)
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        x.sum(2)
    with pytest.raises(RuntimeError, match="multiple times"):
        x.sum((1, -1))
    with pytest.raises(RuntimeError, match="numel\\(\\) == 0"):
        sg.ones(0).max()
    with pytest.raises(IndexError, match="non-zero size"):
        sg.ones(2, 0).max(1)
    with pytest.raises(RuntimeError, match="numel\\(\\) == 0"):
        sg.ones(0).argmax()
    with pytest.raises(TypeError, match="unexpected keyword"):
        x.sum(dims=1)


def test_var_std_mean_agree_with_numpy() -> None:
    a = np.random.default_rng(0).standard_normal((4, 5))
    x = sg.tensor(a)
    np.testing.assert_allclose(x.var(1).numpy(), a.var(1, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(x.std(0, correction=0).numpy(), a.std(0), rtol=1e-5)
    np.testing.assert_allclose(x.mean().item(), a.mean(), rtol=1e-6)
