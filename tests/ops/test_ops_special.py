"""Special functions (lgamma, digamma, polygamma, erf, erfc, erfinv, logit) and linear algebra
(cholesky, solve_triangular): values and gradients against PyTorch and finite differences,
plus edge values (poles, infinities, the ends of erfinv's domain)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import gradcheck, needs_torch, torch
from tests.helpers.op_cases import LINALG, SPECIAL, op_tests

test_matches_torch, test_gradient_matches_finite_differences = op_tests(SPECIAL + LINALG)

_EDGE = np.array([0.0, -1.0, -2.5, -0.5, 1e-300, 1e-8, 1.0, 2.0, 0.5, 170.5, 1e6, math.inf,
                  -math.inf, math.nan, -7.2, 11.0])


@needs_torch
@pytest.mark.parametrize("name", ["lgamma", "digamma", "polygamma1", "polygamma2", "erf",
                                  "erfc"])
def test_edge_values_match_torch(name: str) -> None:
    def run(mod, x):
        if name.startswith("polygamma"):
            return mod.polygamma(int(name[-1]), x)
        return getattr(x, name)()

    keep = _EDGE
    if name.startswith("polygamma"):  # PyTorch's values at poles and +-inf are not limits
        keep = keep[np.isfinite(keep) & ~((keep <= 0) & (keep == np.floor(keep)))]
    ours = run(sg, sg.tensor(keep, dtype=sg.float64)).numpy()
    theirs = run(torch, torch.tensor(keep, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-12, equal_nan=True)


@needs_torch
def test_erfinv_ends_and_tails_match_torch() -> None:
    y = np.array([-1.0, 1.0, 1.5, -1.5, 0.0, 1 - 1e-16, -1 + 1e-12, 0.999999, 1e-12, 0.5,
                  -0.5000001, math.nan])
    ours = sg.tensor(y, dtype=sg.float64).erfinv().numpy()
    theirs = torch.tensor(y, dtype=torch.float64).erfinv().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0, equal_nan=True)


@needs_torch
def test_lgamma_digamma_on_a_wide_range_match_torch() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(1e-3, 5, 500), rng.uniform(5, 1e4, 200),
                        -rng.uniform(0, 20, 200) - 0.01])
    for name in ("lgamma", "digamma"):
        ours = getattr(sg.tensor(x, dtype=sg.float64), name)().numpy()
        theirs = getattr(torch.tensor(x), name)().numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10, err_msg=name)


def test_float32_in_float32_out_and_ints_promote() -> None:
    x = sg.tensor([0.5, 1.5, 3.0])
    for out in (x.lgamma(), x.digamma(), x.polygamma(2), x.erf(), x.erfc(),
                (x / 4).erfinv(), (x / 4).logit()):
        assert out.dtype == sg.float32
    assert sg.lgamma(sg.tensor([1, 2, 3])).dtype == sg.float32
    np.testing.assert_allclose(sg.lgamma(sg.tensor([1, 2, 3, 4])).numpy(),
                               [0.0, 0.0, math.log(2), math.log(6)], atol=1e-6)


def test_in_place_forms_and_bad_polygamma_order() -> None:
    x = sg.tensor([0.5, 2.0])
    expect = x.lgamma().numpy()
    assert x.lgamma_() is x and np.allclose(x.numpy(), expect)
    with pytest.raises(RuntimeError, match="negative n"):
        x.polygamma(-1)
    with pytest.raises(TypeError, match="must be int"):
        x.polygamma(1.5)


def test_cholesky_refuses_a_matrix_that_is_not_positive_definite() -> None:
    with pytest.raises(RuntimeError, match="not positive-definite"):
        sg.linalg.cholesky(sg.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(RuntimeError, match="square"):
        sg.linalg.cholesky(sg.zeros(2, 3))
    with pytest.raises(RuntimeError, match="Incompatible shapes"):
        sg.linalg.solve_triangular(sg.eye(3), sg.zeros(2, 1), upper=False)


def test_gammainc_values_and_x_gradient_match_torch_and_a_gradient_matches_differences() -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.uniform(0.05, 5, 60), rng.uniform(5, 300, 20), [1e-3]])
    x = a * rng.uniform(0.01, 3, a.shape)
    xs = sg.tensor(x, dtype=sg.float64, requires_grad=True)
    p = sg.special.gammainc(sg.tensor(a, dtype=sg.float64), xs)
    p.sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    pt = torch.special.gammainc(torch.tensor(a), xt)
    pt.sum().backward()
    np.testing.assert_allclose(p.detach().numpy(), pt.detach().numpy(), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(xs.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose((1 - sg.special.gammaincc(sg.tensor(a), sg.tensor(x))).numpy(),
                               p.detach().numpy(), rtol=1e-5, atol=1e-6)
    # PyTorch has no derivative in a; softgrad's (central differences) matches differences
    gradcheck(lambda s: sg.special.gammainc(s, sg.tensor(x[:8], dtype=sg.float64)), a[:8],
              atol=1e-6, rtol=1e-5)
