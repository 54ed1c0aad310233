"""Trigonometric, hyperbolic, special (erf, lgamma, digamma, ...) and binary math functions,
logical operations: values and gradients against PyTorch and finite differences, edge cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import gradcheck, needs_torch, torch
from tests.helpers.op_cases import ELEMENTWISE_EXTRA, FLOAT64_RESULTS, op_tests

test_matches_torch, test_gradient_matches_finite_differences = op_tests(
    ELEMENTWISE_EXTRA + FLOAT64_RESULTS)


def _f64(values) -> sg.Tensor:
    return sg.tensor(np.asarray(values, dtype=np.float64))


# ---------------------------------------------------------------------- accuracy on wide ranges
@needs_torch
@pytest.mark.parametrize("name, lo, hi", [
    ("erf", -6, 6), ("erfc", -6, 27), ("erfinv", -1, 1), ("lgamma", -40, 40),
    ("lgamma", 1e-6, 1e6), ("digamma", -40, 40), ("digamma", 1e-3, 1e8)])
def test_special_functions_match_torch_on_wide_ranges(name, lo, hi) -> None:
    x = np.random.default_rng(0).uniform(lo, hi, 4000)
    ours = getattr(sg, name)(_f64(x)).numpy()
    theirs = getattr(torch, name)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_polygamma_matches_torch(n) -> None:
    x = np.random.default_rng(n).uniform(-8, 30, 2000)
    np.testing.assert_allclose(sg.polygamma(n, _f64(x)).numpy(),
                               torch.polygamma(n, torch.tensor(x)).numpy(), rtol=1e-9)


@needs_torch
@pytest.mark.parametrize("name", ["erf", "erfc", "erfinv", "lgamma", "digamma", "tan", "asinh",
                                  "log2", "sinc"])
def test_float32_matches_torch_float32(name) -> None:
    x = np.random.default_rng(1).uniform(-0.99, 0.99, 1000).astype(np.float32) * (
        1 if name == "erfinv" else 5)
    if name == "log2":
        x = np.abs(x) + 0.01
    ours = getattr(sg, name)(sg.tensor(x))
    assert ours.dtype == sg.float32
    theirs = getattr(torch, name)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=2e-5, atol=2e-6)


def test_special_values_at_poles_and_ends() -> None:
    inf, nan = math.inf, math.nan
    lg = sg.lgamma(_f64([0.0, -1.0, -2.0, 1.0, 2.0, inf, -inf, nan])).numpy()
    np.testing.assert_array_equal(lg, [inf, inf, inf, 0.0, 0.0, inf, inf, nan])
    dg = sg.digamma(_f64([0.0, -0.0, -3.0, inf, nan])).numpy()
    np.testing.assert_array_equal(dg, [-inf, inf, nan, inf, nan])
    assert sg.polygamma(1, _f64([0.0])).item() == inf
    ei = sg.erfinv(_f64([1.0, -1.0, 1.5, 0.0, nan])).numpy()
    np.testing.assert_array_equal(ei, [inf, -inf, nan, 0.0, nan])
    np.testing.assert_array_equal(sg.erf(_f64([inf, -inf])).numpy(), [1.0, -1.0])
    np.testing.assert_array_equal(sg.erfc(_f64([inf, -inf])).numpy(), [0.0, 2.0])
    assert sg.sinc(_f64([0.0])).item() == 1.0
    # erfinv inverts erf, also in the far tail where 1 - x is tiny
    y = _f64([1e-300, 0.3, 3.0, 5.5, -4.0])
    np.testing.assert_allclose(sg.erfinv(sg.erf(y)).numpy()[:3], y.numpy()[:3], rtol=1e-12)
    tail = _f64([1 - 2.0**-50, 1 - 2.0**-30])
    np.testing.assert_allclose(sg.erfc(sg.erfinv(tail)).numpy(), [2.0**-50, 2.0**-30], rtol=1e-9)


def test_xlogy_at_zero_and_its_gradient() -> None:
    x = sg.tensor([0.0, 0.0, 2.0], dtype=sg.float64, requires_grad=True)
    y = sg.tensor([0.0, 3.0, 0.5], dtype=sg.float64, requires_grad=True)
    out = sg.xlogy(x, y)
    np.testing.assert_allclose(out.detach().numpy(), [0.0, 0.0, 2 * math.log(0.5)])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-math.inf, math.log(3.0), math.log(0.5)])
    assert np.isnan(sg.xlogy(_f64([0.0]), _f64([nan := math.nan])).item()) and math.isnan(nan)


@needs_torch
def test_logaddexp_is_stable_for_huge_and_infinite_inputs() -> None:
    a = np.array([1000.0, -1000.0, -math.inf, 5.0])
    b = np.array([1000.0, -1001.0, 3.0, -math.inf])
    np.testing.assert_allclose(sg.logaddexp(_f64(a), _f64(b)).numpy(),
                               torch.logaddexp(torch.tensor(a), torch.tensor(b)).numpy())
    np.testing.assert_allclose(sg.logaddexp2(_f64(a), _f64(b)).numpy(),
                               torch.logaddexp2(torch.tensor(a), torch.tensor(b)).numpy())


def test_fmax_fmin_ignore_nan_and_fmod_takes_the_sign_of_the_dividend() -> None:
    a, b = _f64([1.0, math.nan, math.nan, -2.0]), _f64([math.nan, 3.0, math.nan, 5.0])
    np.testing.assert_array_equal(sg.fmax(a, b).numpy(), [1.0, 3.0, math.nan, 5.0])
    np.testing.assert_array_equal(sg.fmin(a, b).numpy(), [1.0, 3.0, math.nan, -2.0])
    np.testing.assert_array_equal(sg.fmod(_f64([-7.0, 7.0]), 2.0).numpy(), [-1.0, 1.0])
    np.testing.assert_array_equal(sg.remainder(_f64([-7.0, 7.0]), 2.0).numpy(), [1.0, 1.0])
    ints = sg.tensor([-7, 7])
    assert sg.fmod(ints, 3).tolist() == [-1, 1] and sg.fmod(ints, 3).dtype == sg.int64


def test_logical_and_bitwise_operations() -> None:
    a, b = sg.tensor([0, 1, 2, 3]), sg.tensor([1, 1, 0, 2])
    assert sg.logical_and(a, b).tolist() == [False, True, False, True]
    assert a.logical_or(b).tolist() == [True, True, True, True]
    assert sg.logical_xor(a, b).tolist() == [True, False, True, False]
    assert sg.logical_not(a).tolist() == [True, False, False, False]
    assert sg.bitwise_and(a, b).tolist() == [0, 1, 0, 2]
    assert (a | b).tolist() == [1, 1, 2, 3] and sg.bitwise_xor(a, b).tolist() == [1, 0, 2, 1]
    assert sg.bitwise_not(a).tolist() == [-1, -2, -3, -4]
    assert (a << 2).tolist() == [0, 4, 8, 12] and (a >> 1).tolist() == [0, 0, 1, 1]
    assert (1 << a).tolist() == [1, 2, 4, 8]
    assert sg.bitwise_not(sg.tensor([True, False])).tolist() == [False, True]
    with pytest.raises(RuntimeError, match="bitwise_and.*Float|bitwise_and.*float"):
        sg.bitwise_and(sg.tensor([1.0]), sg.tensor([1.0]))
    assert sg.isposinf(_f64([math.inf, -math.inf, 1])).tolist() == [True, False, False]
    assert sg.isneginf(_f64([math.inf, -math.inf, 1])).tolist() == [False, True, False]
    assert sg.signbit(_f64([-0.0, 0.0, -2])).tolist() == [True, False, True]


def test_inplace_forms_write_into_the_tensor_and_record_when_needed() -> None:
    x = sg.tensor([0.1, 0.5, 0.9])
    ref = x.numpy().copy()
    same = x.erfinv_()
    assert same is x and x._version == 1
    np.testing.assert_allclose(x.numpy(), sg.erfinv(sg.tensor(ref)).numpy())
    x.atan2_(sg.tensor([1.0, -1.0, 2.0]))
    x.logical_not_()
    assert x.dtype == sg.float32 and x.tolist() == [0.0, 0.0, 0.0]
    leaf = sg.tensor([0.3, 0.7], dtype=sg.float64, requires_grad=True)
    h = leaf * 1
    h.tan_()
    h.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), 1 / np.cos([0.3, 0.7]) ** 2)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.lgamma_()


def test_polygamma_rejects_negative_order_and_mvlgamma_checks_its_domain() -> None:
    with pytest.raises(RuntimeError, match="negative n"):
        sg.polygamma(-1, _f64([1.0]))
    with pytest.raises(RuntimeError, match=r"greater than \(p-1\)/2"):
        sg.mvlgamma(_f64([0.5]), 3)


def test_integer_inputs_give_float_results() -> None:
    ints = sg.tensor([1, 2, 3])
    for fn in (sg.tan, sg.erf, sg.lgamma, sg.log2, sg.sinc, sg.exp2, sg.deg2rad):
        assert fn(ints).dtype == sg.float32, fn
    assert sg.atan2(ints, ints).dtype == sg.float32
    assert sg.float_power(ints, 2).dtype == sg.float64


def test_gamma_family_gradients_match_finite_differences_near_poles() -> None:
    x = np.array([-2.7, -0.3, 0.02, 0.7, 12.5, 200.0])
    gradcheck(lambda t: t.lgamma(), x)
    gradcheck(lambda t: t.digamma(), x, rtol=1e-3, atol=1e-4)


def test_onnx_export_of_the_extra_elementwise_ops(tmp_path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from tests.helpers.onnx_checks import export_and_run

    class Model(sg.nn.Module):
        def forward(self, x):
            u = x.tanh() * 0.9
            return (x.tan() + u.asin() + u.acos() + x.atan() + x.sinh() + x.cosh() + x.asinh()
                    + (x.abs() + 1.5).acosh() + u.atanh() + x.erf() + x.erfc()
                    + (x.abs() + 0.1).log2() + (x.abs() + 0.1).log10() + x.fmod(0.7)
                    + x.hypot(u) + x.logaddexp(u * 3)) * 0.1

    export_and_run(Model(), sg.randn(3, 5), tmp_path, dynamic={"in0": [0], "out": [0]},
                   sizes=(4,))
    with pytest.raises(sg.onnx.ExportError, match="Lgamma"):
        sg.onnx.export(_Lgamma(), sg.rand(2, 3), None)


class _Lgamma(sg.nn.Module):
    def forward(self, x):
        return x.lgamma()


# ---------------------------------------------------------------------- softgrad.special
_SPECIAL = [
    ("digamma", "pos", ()), ("psi", "pos", ()), ("polygamma", "pos", (2,)), ("gammaln", "real", ()),
    ("multigammaln", "big", (2,)), ("erf", "real", ()), ("erfc", "real", ()),
    ("erfcx", "wide", ()), ("erfinv", "unit", ()), ("ndtr", "real", ()),
    ("log_ndtr", "wide", ()), ("ndtri", "prob", ()), ("expit", "real", ()),
    ("logit", "prob", ()), ("exp2", "real", ()), ("expm1", "real", ()), ("log1p", "pos", ()),
    ("sinc", "real", ()), ("entr", "pos", ()), ("xlogy", "real2", ()), ("xlog1py", "real2", ()),
    ("logsumexp", "real", (1,)), ("softmax", "real", (1,)), ("log_softmax", "real", (0,))]


def _special_input(domain: str) -> list:
    rng = np.random.default_rng(0)
    shape = (3, 4)
    if domain == "pos":
        return [rng.uniform(0.5, 3.0, shape)]
    if domain == "big":
        return [rng.uniform(1.0, 4.0, shape)]
    if domain == "wide":
        return [rng.uniform(-6, 12, shape)]
    if domain == "unit":
        return [rng.uniform(-0.9, 0.9, shape)]
    if domain == "prob":
        return [rng.uniform(0.05, 0.95, shape)]
    if domain == "real2":
        a = rng.standard_normal(shape)
        a[0, 0] = 0.0
        return [a, rng.uniform(0.2, 2.0, shape)]
    return [rng.standard_normal(shape)]


@needs_torch
@pytest.mark.parametrize("name, domain, extra", _SPECIAL, ids=[s[0] for s in _SPECIAL])
def test_special_namespace_matches_torch_special(name, domain, extra) -> None:
    from tests.helpers.checks import torch_parity

    def call(mod, *xs):
        fn = getattr(mod.special, name)
        if name == "polygamma":
            return fn(extra[0], *xs)
        return fn(*xs, *extra)

    torch_parity(lambda *xs: call(sg, *xs), lambda *xs: call(torch, *xs),
                 *_special_input(domain), atol=1e-8, rtol=1e-7)


def test_special_entr_and_erfcx_edge_values() -> None:
    out = sg.special.entr(_f64([0.0, -1.0, 1.0])).numpy()
    np.testing.assert_array_equal(out, [0.0, -math.inf, -0.0])
    big = sg.special.erfcx(_f64([1e5, 1e150]))  # ~ 1 / (sqrt(pi) x): exp(x^2) overflows
    np.testing.assert_allclose(big.numpy(), 1 / (np.sqrt(np.pi) * np.array([1e5, 1e150])),
                               rtol=1e-9)
    gradcheck(lambda t: sg.special.erfcx(t), np.array([-2.0, -0.3, 0.0, 0.4, 3.0, 9.0]))
