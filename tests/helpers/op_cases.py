"""The op registry the op tests share: every Tensor op as ``fn(m, *xs)`` with ``m`` the module.

The same function runs with ``m = softgrad`` and ``m = torch``, so each case also checks
that the two APIs agree by name. ``shapes`` lists alternative input-shape sets (several
broadcast); ``domains`` says where inputs are drawn: 'real' (normal), 'pos' (0.5..2) or
'away' (|x| in 0.5..2, either sign), 'unit' (-0.9..0.9) or 'prob' (0.05..0.95).
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Sequence

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import broadcast_shapes, gradcheck, torch, torch_parity


@dataclass
class Case:
    name: str
    fn: Callable
    shapes: Sequence[tuple]
    domains: tuple = ()
    grad: bool = True  # False where torch has no derivative (the value is still compared)
    differentiable: bool = True  # False for integer results (argmax): no gradcheck
    second_order: bool = True  # False where the backward is not itself differentiable

    def arrays(self, shapes: tuple, seed: int = 0, dtype: type = np.float64) -> list:
        rng = np.random.default_rng(seed)
        out = []
        for i, shape in enumerate(shapes):
            domain = self.domains[i] if i < len(self.domains) else "real"
            if domain == "pos":
                a = rng.uniform(0.5, 2.0, shape)
            elif domain == "away":
                a = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
            elif domain == "unit":
                a = rng.uniform(-0.9, 0.9, shape)
            elif domain == "prob":
                a = rng.uniform(0.05, 0.95, shape)
            else:
                a = rng.standard_normal(shape)
            out.append(np.asarray(a, dtype=dtype))
        return out


def expand(cases: Sequence[Case], differentiable_only: bool = False) -> list:
    """pytest params ``(case, shapes)``, one per shape set, with readable ids."""
    return [pytest.param(c, s, id=f"{c.name}-{'x'.join(map(str, s[0])) or 'scalar'}")
            for c in cases for s in c.shapes if c.differentiable or not differentiable_only]


def op_tests(cases: Sequence[Case]) -> tuple:
    """The two tests every op gets: PyTorch parity and a finite-difference gradcheck.

    Use as ``test_matches_torch, test_gradient_matches_finite_differences = op_tests(CASES)``.
    """
    @pytest.mark.parametrize("case, shapes", expand(cases))
    def test_matches_torch(case: Case, shapes: tuple) -> None:
        check_parity(case, shapes)

    @pytest.mark.parametrize("case, shapes", expand(cases, differentiable_only=True))
    def test_gradient_matches_finite_differences(case: Case, shapes: tuple) -> None:
        check_gradcheck(case, shapes)

    return test_matches_torch, test_gradient_matches_finite_differences


def check_parity(case: Case, shapes: tuple) -> None:
    """Value and gradient equal PyTorch's (float64, atol 1e-6)."""
    torch_parity(lambda *xs: case.fn(sg, *xs), lambda *xs: case.fn(torch, *xs),
                 *case.arrays(shapes), grad=case.grad)


def check_gradcheck(case: Case, shapes: tuple) -> None:
    """Gradient equals float64 central differences along a random projection."""
    gradcheck(lambda *xs: case.fn(sg, *xs), *case.arrays(shapes))


BINARY_SHAPES = broadcast_shapes()
UNARY_SHAPES = [((),), ((5,),), ((2, 3, 4),)]
R3 = [((2, 3, 4),)]

ELEMENTWISE = [
    Case("add", lambda m, a, b: a + b, BINARY_SHAPES),
    Case("sub", lambda m, a, b: a - b, BINARY_SHAPES),
    Case("mul", lambda m, a, b: a * b, BINARY_SHAPES),
    Case("div", lambda m, a, b: a / b, BINARY_SHAPES, ("real", "away")),
    Case("pow", lambda m, a, b: a**b, BINARY_SHAPES, ("pos", "real")),
    Case("add_alpha", lambda m, a, b: m.add(a, b, alpha=2.5), BINARY_SHAPES[:2]),
    Case("sub_alpha", lambda m, a, b: a.sub(b, alpha=-0.5), BINARY_SHAPES[:2]),
    Case("mul_fn", lambda m, a, b: m.mul(a, b), BINARY_SHAPES[:2]),
    Case("div_fn", lambda m, a, b: m.div(a, b), BINARY_SHAPES[:2], ("real", "away")),
    Case("pow_fn", lambda m, a, b: m.pow(a, b), BINARY_SHAPES[:2], ("pos", "real")),
    Case("floordiv", lambda m, a, b: (a * 3) // b, BINARY_SHAPES, ("real", "away"), grad=False),
    Case("remainder", lambda m, a, b: (a * 3) % b, BINARY_SHAPES, ("real", "away")),
    Case("remainder_fn", lambda m, a, b: m.remainder(a * 3, b), BINARY_SHAPES[:2],
         ("real", "away")),
    Case("div_floor", lambda m, a, b: m.div(a * 3, b, rounding_mode="floor"), BINARY_SHAPES[:1],
         ("real", "away"), grad=False),
    Case("div_trunc", lambda m, a, b: m.div(a * 3, b, rounding_mode="trunc"), BINARY_SHAPES[:1],
         ("real", "away")),
    Case("maximum", lambda m, a, b: m.maximum(a, b), BINARY_SHAPES),
    Case("minimum", lambda m, a, b: m.minimum(a, b), BINARY_SHAPES),
    Case("where", lambda m, a, b: m.where(a > 0, a, b), BINARY_SHAPES),
    Case("where_scalar", lambda m, a: m.where(a > 0, a, 0.5), UNARY_SHAPES),
    Case("clamp_tensor", lambda m, a, b: a.clamp(min=b), BINARY_SHAPES),
    Case("clamp_both", lambda m, a, b: m.clamp(a, min=b, max=b + 0.5), BINARY_SHAPES[:2]),
    Case("radd", lambda m, a: 2.5 + a, UNARY_SHAPES),
    Case("rsub", lambda m, a: 2.5 - a, UNARY_SHAPES),
    Case("rmul", lambda m, a: 2.5 * a, UNARY_SHAPES),
    Case("rdiv", lambda m, a: 2.5 / a, UNARY_SHAPES, ("away",)),
    Case("rpow", lambda m, a: 2.5**a, UNARY_SHAPES),
    Case("rfloordiv", lambda m, a: 2.5 // a, UNARY_SHAPES, ("away",), grad=False),
    Case("rmod", lambda m, a: 2.5 % a, UNARY_SHAPES, ("away",), grad=False),
    Case("pow_int", lambda m, a: a**3, UNARY_SHAPES),
    Case("pow_two", lambda m, a: a**2, UNARY_SHAPES),
    Case("pow_zero", lambda m, a: a**0, UNARY_SHAPES),
    Case("pow_neg_frac", lambda m, a: a**-1.5, UNARY_SHAPES, ("pos",)),
    Case("neg", lambda m, a: -a, UNARY_SHAPES),
    Case("neg_fn", lambda m, a: m.neg(a), UNARY_SHAPES[:1]),
    Case("abs", lambda m, a: a.abs(), UNARY_SHAPES),
    Case("abs_op", lambda m, a: abs(a), UNARY_SHAPES[:1]),
    Case("exp", lambda m, a: a.exp(), UNARY_SHAPES),
    Case("log", lambda m, a: a.log(), UNARY_SHAPES, ("pos",)),
    Case("log1p", lambda m, a: a.log1p(), UNARY_SHAPES, ("pos",)),
    Case("expm1", lambda m, a: a.expm1(), UNARY_SHAPES),
    Case("sqrt", lambda m, a: a.sqrt(), UNARY_SHAPES, ("pos",)),
    Case("rsqrt", lambda m, a: a.rsqrt(), UNARY_SHAPES, ("pos",)),
    Case("sin", lambda m, a: m.sin(a), UNARY_SHAPES),
    Case("cos", lambda m, a: m.cos(a), UNARY_SHAPES),
    Case("tanh", lambda m, a: m.tanh(a), UNARY_SHAPES),
    Case("sigmoid", lambda m, a: m.sigmoid(a), UNARY_SHAPES),
    Case("relu", lambda m, a: m.relu(a), UNARY_SHAPES),
    Case("sign", lambda m, a: m.sign(a), UNARY_SHAPES),
    Case("floor", lambda m, a: (a * 3).floor(), UNARY_SHAPES),
    Case("ceil", lambda m, a: (a * 3).ceil(), UNARY_SHAPES),
    Case("round", lambda m, a: (a * 3).round(), UNARY_SHAPES),
    Case("trunc", lambda m, a: (a * 3).trunc(), UNARY_SHAPES),
    Case("clamp", lambda m, a: a.clamp(-0.5, 0.5), UNARY_SHAPES),
    Case("clamp_min", lambda m, a: m.clamp(a, min=0.1), UNARY_SHAPES),
    Case("clip_max", lambda m, a: a.clip(max=-0.1), UNARY_SHAPES),
    Case("square", lambda m, a: m.square(a), UNARY_SHAPES),
    Case("reciprocal", lambda m, a: a.reciprocal(), UNARY_SHAPES, ("away",)),
]

ELEMENTWISE_EXTRA = [
    Case("tan", lambda m, a: a.tan(), UNARY_SHAPES, ("unit",)),
    Case("asin", lambda m, a: m.asin(a), UNARY_SHAPES, ("unit",)),
    Case("acos", lambda m, a: a.acos(), UNARY_SHAPES, ("unit",)),
    Case("atan", lambda m, a: m.atan(a), UNARY_SHAPES),
    Case("arctan", lambda m, a: a.arctan(), UNARY_SHAPES[:1]),
    Case("sinh", lambda m, a: a.sinh(), UNARY_SHAPES),
    Case("cosh", lambda m, a: m.cosh(a), UNARY_SHAPES),
    Case("asinh", lambda m, a: a.asinh(), UNARY_SHAPES),
    Case("acosh", lambda m, a: m.acosh(a + 1.0), UNARY_SHAPES, ("pos",)),
    Case("atanh", lambda m, a: a.atanh(), UNARY_SHAPES, ("unit",)),
    Case("log2", lambda m, a: a.log2(), UNARY_SHAPES, ("pos",)),
    Case("log10", lambda m, a: m.log10(a), UNARY_SHAPES, ("pos",)),
    Case("exp2", lambda m, a: m.exp2(a), UNARY_SHAPES),
    Case("sinc", lambda m, a: m.sinc(a * 2), UNARY_SHAPES),
    Case("logit", lambda m, a: m.logit(a), UNARY_SHAPES, ("prob",)),
    Case("logit_eps", lambda m, a: a.logit(eps=0.2), UNARY_SHAPES, ("prob",)),
    Case("erf", lambda m, a: m.erf(a), UNARY_SHAPES),
    Case("erf_wide", lambda m, a: (a * 3).erf(), UNARY_SHAPES[1:]),
    Case("erfc", lambda m, a: (a * 3).erfc(), UNARY_SHAPES),
    Case("erfinv", lambda m, a: m.erfinv(a), UNARY_SHAPES, ("unit",)),
    Case("lgamma", lambda m, a: (a * 3).lgamma(), UNARY_SHAPES),
    Case("digamma", lambda m, a: m.digamma(a * 3), UNARY_SHAPES),
    Case("polygamma1", lambda m, a: m.polygamma(1, a * 3), UNARY_SHAPES),
    Case("polygamma3", lambda m, a: a.polygamma(3), UNARY_SHAPES, ("pos",)),
    Case("mvlgamma", lambda m, a: m.mvlgamma(a + 2, 3), UNARY_SHAPES, ("pos",)),
    Case("deg2rad", lambda m, a: a.deg2rad(), UNARY_SHAPES),
    Case("rad2deg", lambda m, a: m.rad2deg(a), UNARY_SHAPES),
    Case("frac", lambda m, a: (a * 3).frac(), UNARY_SHAPES),
    Case("fix", lambda m, a: m.fix(a * 3), UNARY_SHAPES),
    Case("sgn", lambda m, a: a.sgn(), UNARY_SHAPES, grad=False),  # torch: a ZeroTensor grad
    Case("xlogy", lambda m, a, b: m.xlogy(a, b), BINARY_SHAPES, ("real", "pos")),
    Case("xlogy_scalar", lambda m, a: a.xlogy(2.5), UNARY_SHAPES),
    Case("atan2", lambda m, a, b: m.atan2(a, b), BINARY_SHAPES),
    Case("arctan2", lambda m, a, b: a.arctan2(b), BINARY_SHAPES[:1]),
    Case("hypot", lambda m, a, b: m.hypot(a, b), BINARY_SHAPES),
    Case("logaddexp", lambda m, a, b: m.logaddexp(a * 30, b), BINARY_SHAPES),
    Case("logaddexp2", lambda m, a, b: a.logaddexp2(b), BINARY_SHAPES),
    Case("copysign", lambda m, a, b: m.copysign(a, b), BINARY_SHAPES),
    Case("fmod", lambda m, a, b: m.fmod(a * 3, b), BINARY_SHAPES, ("real", "away")),
    Case("fmod_scalar", lambda m, a: (a * 3).fmod(-1.5), UNARY_SHAPES),
    Case("fmax", lambda m, a, b: m.fmax(a, b), BINARY_SHAPES),
    Case("fmin", lambda m, a, b: a.fmin(b), BINARY_SHAPES),
    Case("ldexp", lambda m, a, b: m.ldexp(a, b), BINARY_SHAPES[:2]),
    Case("true_divide", lambda m, a, b: m.true_divide(a, b), BINARY_SHAPES[:2], ("real", "away")),
    Case("heaviside", lambda m, a, b: m.heaviside(a.round(), b), BINARY_SHAPES[:2],
         grad=False, differentiable=False),
    Case("logical_and", lambda m, a, b: m.logical_and(a > 0, b), BINARY_SHAPES[:3],
         differentiable=False),
    Case("logical_or", lambda m, a, b: (a > 0).logical_or(b > 0.5), BINARY_SHAPES[:3],
         differentiable=False),
    Case("logical_xor", lambda m, a, b: m.logical_xor(a, b > 0), BINARY_SHAPES[:3],
         differentiable=False),
    Case("logical_not", lambda m, a: m.logical_not(a > 0), UNARY_SHAPES, differentiable=False),
    Case("signbit", lambda m, a: m.signbit(a), UNARY_SHAPES, differentiable=False),
]

# float_power is computed in float64 whatever the input (so not in ALL's float32 checks)
FLOAT64_RESULTS = [
    Case("float_power", lambda m, a, b: m.float_power(a, b), BINARY_SHAPES, ("pos", "real")),
    Case("float_power_scalar", lambda m, a: a.float_power(3), UNARY_SHAPES),
]

REDUCE = [
    Case("sum_all", lambda m, a: a.sum(), R3 + [((),)]),
    Case("sum_dim", lambda m, a: a.sum(1), R3),
    Case("sum_neg_keep", lambda m, a: a.sum(dim=-1, keepdim=True), R3),
    Case("sum_tuple", lambda m, a: m.sum(a, (0, 2)), R3),
    Case("mean_all", lambda m, a: a.mean(), R3),
    Case("mean_tuple_keep", lambda m, a: a.mean((0, -1), keepdim=True), R3),
    Case("var_all", lambda m, a: a.var(), R3),
    Case("var_dim", lambda m, a: a.var(1), R3),
    Case("var_tuple_keep", lambda m, a: m.var(a, (0, 2), keepdim=True), R3),
    Case("var_correction0", lambda m, a: a.var(dim=2, correction=0), R3),
    Case("std_all", lambda m, a: a.std(), R3),
    Case("std_biased", lambda m, a: a.std(1, unbiased=False, keepdim=True), R3),
    Case("prod_all", lambda m, a: a.prod(), [((2, 3),)], ("away",)),
    Case("prod_dim", lambda m, a: a.prod(1), R3, ("away",)),
    Case("prod_keep", lambda m, a: m.prod(a, -1, keepdim=True), R3, ("away",)),
    Case("amax_all", lambda m, a: a.amax(), R3),
    Case("amax_tuple", lambda m, a: a.amax((0, 2)), R3),
    Case("amin_keep", lambda m, a: m.amin(a, 1, keepdim=True), R3),
    Case("max_all", lambda m, a: a.max(), R3),
    Case("min_all", lambda m, a: m.min(a), R3),
    Case("max_dim", lambda m, a: tuple(a.max(1)), R3),
    Case("max_dim_keep", lambda m, a: tuple(a.max(dim=-1, keepdim=True)), R3),
    Case("min_dim", lambda m, a: tuple(m.min(a, 0)), R3),
    Case("max_pair", lambda m, a, b: m.max(a, b), BINARY_SHAPES[:2]),
    Case("argmax_all", lambda m, a: a.argmax(), R3, differentiable=False),
    Case("argmax_dim", lambda m, a: m.argmax(a, 1, keepdim=True), R3, differentiable=False),
    Case("argmin_dim", lambda m, a: a.argmin(dim=-1), R3, differentiable=False),
    Case("logsumexp", lambda m, a: a.logsumexp(1), R3),
    Case("logsumexp_tuple", lambda m, a: m.logsumexp(a, (0, 2), keepdim=True), R3),
    Case("norm_fro", lambda m, a: a.norm(), R3),
    Case("norm_dim", lambda m, a: a.norm(dim=1), R3),
    Case("norm_p1", lambda m, a: a.norm(1, dim=(0, 2)), R3),
    Case("norm_p3", lambda m, a: m.norm(a, 3, dim=-1, keepdim=True), R3),
    Case("norm_inf", lambda m, a: a.norm(float("inf"), dim=1), R3),
    Case("norm_ninf", lambda m, a: a.norm(float("-inf"), dim=1), R3),
    Case("norm_p0", lambda m, a: a.norm(0, dim=1), R3),
    Case("cumsum", lambda m, a: a.cumsum(1), R3),
    Case("cumsum_neg", lambda m, a: m.cumsum(a, dim=-1), R3),
    Case("cumprod", lambda m, a: m.cumprod(a, 1), [((3, 4),)], domains=("away",)),
    Case("softmax", lambda m, a: a.softmax(-1), [((3, 4),), ((2, 3, 4),)]),
    Case("log_softmax", lambda m, a: a.log_softmax(1), [((3, 4),), ((2, 3, 4),)]),
]

SHAPE = [
    Case("reshape", lambda m, a: a.reshape(4, -1), R3),
    Case("reshape_tuple", lambda m, a: m.reshape(a, (3, 8)), R3),
    Case("view", lambda m, a: a.view(-1), R3),
    Case("view_as", lambda m, a, b: a.view_as(b), [((2, 3, 4), (6, 4))]),
    Case("flatten", lambda m, a: a.flatten(), R3),
    Case("flatten_range", lambda m, a: m.flatten(a, 1), R3),
    Case("flatten_mid", lambda m, a: a.flatten(0, 1), R3),
    Case("unflatten", lambda m, a: a.unflatten(2, (2, -1)), R3),
    Case("squeeze_all", lambda m, a: a.squeeze(), [((3, 1, 4, 1),)]),
    Case("squeeze_dim", lambda m, a: m.squeeze(a, 1), [((3, 1, 4, 1),)]),
    Case("squeeze_tuple", lambda m, a: a.squeeze((1, 3)), [((3, 1, 4, 1),)]),
    Case("unsqueeze", lambda m, a: a.unsqueeze(1), R3),
    Case("unsqueeze_neg", lambda m, a: m.unsqueeze(a, -1), R3),
    Case("transpose", lambda m, a: a.transpose(0, 2), R3),
    Case("transpose_fn", lambda m, a: m.transpose(a, -1, 1), R3),
    Case("swapaxes", lambda m, a: a.swapaxes(0, 1), R3),
    Case("swapdims_fn", lambda m, a: m.swapaxes(a, 2, 0), R3),
    Case("permute", lambda m, a: a.permute(2, 0, 1), R3),
    Case("permute_fn", lambda m, a: m.permute(a, (1, 2, 0)), R3),
    Case("T", lambda m, a: a.T, [((3, 4),)]),
    Case("mT", lambda m, a: a.mT, R3),
    Case("t", lambda m, a: a.t(), [((3, 4),)]),
    Case("movedim", lambda m, a: a.movedim(0, -1), R3),
    Case("expand", lambda m, a: a.expand(2, 3, 4), [((3, 1),)]),
    Case("expand_minus1", lambda m, a: a.expand(5, -1, -1), [((1, 4, 2),)]),
    Case("expand_as", lambda m, a, b: a.expand_as(b), [((3, 1), (2, 3, 4))]),
    Case("broadcast_to", lambda m, a: m.broadcast_to(a, (2, 3, 4)), [((4,),)]),
    Case("repeat", lambda m, a: a.repeat(2, 1, 3), [((3, 4),)]),
    Case("repeat_same", lambda m, a: a.repeat(2, 2), [((3, 4),)]),
    Case("tile", lambda m, a: a.tile(2), [((3, 4),)]),
    Case("tile_fn", lambda m, a: m.tile(a, (2, 1, 2)), [((3, 4),)]),
    Case("flip", lambda m, a: a.flip(0, 2), R3),
    Case("flip_fn", lambda m, a: m.flip(a, (-1,)), R3),
    Case("roll", lambda m, a: a.roll(1, 0), R3),
    Case("roll_multi", lambda m, a: m.roll(a, (1, -2), (0, 2)), R3),
    Case("roll_flat", lambda m, a: a.roll(5), R3),
    Case("narrow", lambda m, a: a.narrow(2, 1, 2), R3),
    Case("narrow_neg", lambda m, a: m.narrow(a, 1, -2, 2), R3),
    Case("chunk", lambda m, a: a.chunk(3, 2), [((2, 3, 5),)]),
    Case("chunk_fn", lambda m, a: m.chunk(a, 2), R3),
    Case("split_int", lambda m, a: a.split(2, 2), [((2, 3, 5),)]),
    Case("split_sizes", lambda m, a: m.split(a, [1, 3], dim=-1), R3),
    Case("unbind", lambda m, a: a.unbind(1), R3),
    Case("cat", lambda m, a, b: m.cat([a, b], 1), [((2, 3, 4), (2, 2, 4))]),
    Case("cat_neg", lambda m, a, b, c: m.cat((a, b, c), dim=-1),
         [((2, 3), (2, 1), (2, 4))]),
    Case("concat", lambda m, a, b: m.concat([a, b]), [((2, 3), (1, 3))]),
    Case("stack", lambda m, a, b: m.stack([a, b]), [((2, 3), (2, 3))]),
    Case("stack_last", lambda m, a, b, c: m.stack((a, b, c), dim=-1), [((2, 3),) * 3]),
    Case("contiguous", lambda m, a: a.t().contiguous() * 1, [((3, 4),)]),
]

_I = np.array([[0, 0, 2, 1], [1, 1, 1, 0]])
_G = np.array([[0, 0], [2, 0], [1, 1]])

_IDX = np.array([0, 2, 0])
_SCATTER = np.array([[0, 1, 2, 0], [2, 0, 1, 1]])
INDEX = [
    Case("int", lambda m, a: a[1], R3),
    Case("int_neg", lambda m, a: a[-1, 0], R3),
    Case("slice", lambda m, a: a[1:, ::2], R3),
    Case("ellipsis_none", lambda m, a: a[..., None, 1:3], R3),
    Case("mixed_basic", lambda m, a: a[0, None, ..., -2], R3),
    Case("int_array_repeats", lambda m, a: a[[0, 0, 1, 0]], R3),
    Case("int_arrays_pair", lambda m, a: a[[0, 1, 1], [2, 2, 0]], R3),
    Case("int_array_2d", lambda m, a: a[:, m.tensor(_I)], R3),
    Case("int_array_after_slice", lambda m, a: a[1:, :, [3, 3, 0]], R3),
    Case("tensor_index", lambda m, a: a[m.tensor([2, 0, 2])], [((3, 4),)]),
    Case("bool_mask", lambda m, a: a[a > 0], R3),
    Case("bool_mask_rows", lambda m, a: a[m.tensor([True, False, True])], [((3, 4),)]),
    Case("bool_and_slice", lambda m, a: a[:, m.tensor([True, False, True, True])], [((3, 4),)]),
    Case("select", lambda m, a: a.select(1, -1), R3),
    Case("gather", lambda m, a: a.gather(1, m.tensor(_G)), [((3, 4),)]),
    Case("gather_fn", lambda m, a: m.gather(a, 0, m.tensor(_I)), [((3, 4),)]),
    Case("scatter_add", lambda m, a, s: a.scatter_add(1, m.tensor(_G), s),
         [((3, 4), (3, 2))]),
    Case("scatter_add_fn", lambda m, a, s: m.scatter_add(a, 0, m.tensor(_I), s),
         [((3, 4), (2, 4))]),
    Case("index_select", lambda m, a: a.index_select(2, m.tensor([3, 0, 3])), R3),
    Case("index_select_fn", lambda m, a: m.index_select(a, 0, m.tensor([1, 1])), R3),
    Case("masked_fill", lambda m, a: a.masked_fill(a > 0.3, -1.0), R3),
    Case("masked_fill_bcast", lambda m, a: m.masked_fill(a, m.tensor([True, False, True, False]),
                                                       2.0), R3),
    Case("index_add", lambda m, a, b: a.index_add(0, m.tensor(_IDX), b, alpha=2),
         [((4, 3), (3, 3))]),
    Case("repeat_interleave", lambda m, a: m.repeat_interleave(a, 2, dim=0), [((3, 2),)]),
    Case("scatter", lambda m, a, b: a.scatter(1, m.tensor(_SCATTER[:, :3] % 3), b),
         [((2, 4), (2, 3))]),
    Case("scatter_reduce", lambda m, a, b: a.scatter_reduce(1, m.tensor(_SCATTER), b, "sum"),
         [((2, 4), (2, 4))], second_order=False),
]

MATMUL = [
    Case("mm", lambda m, a, b: a @ b, [((3, 4), (4, 2))]),
    Case("vv", lambda m, a, b: a @ b, [((4,), (4,))]),
    Case("vm", lambda m, a, b: a @ b, [((4,), (4, 2)), ((3,), (2, 3, 4))]),
    Case("mv", lambda m, a, b: m.matmul(a, b), [((3, 4), (4,)), ((2, 5, 3), (3,))]),
    Case("batched", lambda m, a, b: a.matmul(b), [((2, 3, 4), (2, 4, 5)),
                                                  ((2, 1, 3, 4), (5, 4, 2)),
                                                  ((3, 4), (2, 4, 5))]),
    Case("gram", lambda m, a: a.T @ a, [((3, 4),)]),
    Case("mm_fn", lambda m, a, b: m.mm(a, b), [((3, 4), (4, 2))]),
    Case("bmm", lambda m, a, b: m.bmm(a, b), [((2, 3, 4), (2, 4, 5))]),
    Case("dot", lambda m, a, b: m.dot(a, b), [((4,), (4,))]),
]

SQ = [((3, 3),), ((2, 4, 4),)]


def _spd(m, a):
    """A symmetric positive-definite matrix from any square ``a``."""
    return a @ a.mT + m.eye(a.shape[-1]) * 2


def _svd_invariants(m, a):
    u, s, vh = m.linalg.svd(a, full_matrices=False)
    return s, u @ vh, (u * s[..., None, :]) @ vh, u * u, vh * vh


def _eigh_invariants(m, a):
    lam, v = m.linalg.eigh(a)
    return lam, v * v, (v * lam[..., None, :]) @ v.mT


def _qr_parts(m, a):
    q, r = m.linalg.qr(a)
    return q, r


LINALG = [
    Case("inv", lambda m, a: m.linalg.inv(a), SQ),
    Case("inverse", lambda m, a: a.inverse(), SQ[:1]),
    Case("solve", lambda m, a, b: m.linalg.solve(a, b), [((3, 3), (3, 2)), ((2, 4, 4), (4, 1))]),
    Case("solve_vector", lambda m, a, b: m.linalg.solve(a, b), [((3, 3), (3,))]),
    Case("solve_right", lambda m, a, b: m.linalg.solve(a, b, left=False), [((3, 3), (2, 3))]),
    Case("solve_triangular", lambda m, a, b: m.linalg.solve_triangular(a + m.eye(3) * 3, b,
                                                                       upper=True),
         [((3, 3), (3, 2))]),
    Case("det", lambda m, a: m.linalg.det(a), SQ),
    Case("det_method", lambda m, a: a.det(), SQ[:1]),
    Case("slogdet", lambda m, a: m.linalg.slogdet(a), SQ),
    Case("logdet", lambda m, a: m.logdet(_spd(m, a)), SQ),
    Case("cholesky", lambda m, a: m.linalg.cholesky(_spd(m, a)), SQ),
    Case("cholesky_upper", lambda m, a: m.linalg.cholesky(_spd(m, a), upper=True), SQ[:1]),
    Case("pinv", lambda m, a: m.linalg.pinv(a), [((4, 3),), ((2, 3, 5),)]),
    Case("pinverse", lambda m, a: a.pinverse(), [((4, 3),)]),
    Case("matrix_exp", lambda m, a: m.linalg.matrix_exp(a), SQ),
    Case("matrix_power", lambda m, a: m.linalg.matrix_power(a, 3), SQ),
    Case("matrix_power_neg", lambda m, a: a.matrix_power(-2), SQ[:1]),
    Case("multi_dot", lambda m, a, b, c: m.linalg.multi_dot([a, b, c]),
         [((3,), (3, 4), (4, 2))]),
    Case("vector_norm", lambda m, a: m.linalg.vector_norm(a, 3, dim=-1), R3),
    Case("norm", lambda m, a: m.linalg.norm(a), R3),
    Case("matrix_norm_fro", lambda m, a: m.linalg.matrix_norm(a), R3),
    Case("matrix_norm_1", lambda m, a: m.linalg.matrix_norm(a, 1), R3),
    Case("matrix_norm_inf", lambda m, a: m.linalg.norm(a, float("inf"), dim=(0, 2)), R3),
    Case("matrix_norm_nuc", lambda m, a: m.linalg.matrix_norm(a, "nuc"), R3, second_order=False),
    Case("matrix_norm_2", lambda m, a: m.linalg.matrix_norm(a, 2), R3, second_order=False),
    Case("svdvals", lambda m, a: m.linalg.svdvals(a), [((4, 3),), ((2, 3, 5),)],
         second_order=False),
    Case("svd", _svd_invariants, [((4, 3),), ((3, 5),)], second_order=False),
    Case("eigh", lambda m, a: _eigh_invariants(m, a + a.mT), SQ, second_order=False),
    Case("qr", _qr_parts, [((4, 3),), ((3, 3),), ((2, 3, 5),)], second_order=False),
    Case("cross", lambda m, a, b: m.linalg.cross(a, b), [((4, 3), (4, 3)), ((2, 1, 3), (1, 4, 3))]),
    Case("cross_dim", lambda m, a, b: m.cross(a, b, dim=0), [((3, 4), (3, 4))]),
    Case("kron", lambda m, a, b: m.kron(a, b), [((2, 3), (3, 2)), ((2,), (2, 2, 3))]),
    Case("tensordot", lambda m, a, b: m.tensordot(a, b, dims=([1, 0], [0, 2])),
         [((3, 4, 2), (4, 5, 3))]),
    Case("tensordot_int", lambda m, a, b: m.tensordot(a, b, 1), [((3, 4), (4, 2))]),
    Case("addmv", lambda m, s, a, v: m.addmv(s, a, v, beta=0.5, alpha=2.0),
         [((3,), (3, 4), (4,))]),
    Case("addr", lambda m, s, a, b: s.addr(a, b, alpha=-1.0), [((3, 4), (3,), (4,))]),
    Case("baddbmm", lambda m, s, a, b: m.baddbmm(s, a, b, beta=2.0), [((2, 3, 2), (2, 3, 4),
                                                                      (2, 4, 2))]),
    Case("addbmm", lambda m, s, a, b: s.addbmm(a, b), [((3, 2), (2, 3, 4), (2, 4, 2))]),
    Case("addcmul", lambda m, s, a, b: m.addcmul(s, a, b, value=0.5),
         [((3, 4), (3, 4), (1, 4))]),
    Case("addcdiv", lambda m, s, a, b: s.addcdiv(a, b, value=-2.0), [((3, 4), (3, 1), (3, 4))],
         ("real", "real", "away")),
    Case("qr_r", lambda m, a: m.linalg.qr(a, mode="r").R, [((3, 3),)], grad=False,
         differentiable=False),
]

_B = np.array([[1, 0, 2], [0, 2, 1]])
_MASK = np.array([[True, False, True, True], [False, True, False, False], [True] * 4])

STATS_INDEX = [
    Case("nansum", lambda m, a: m.nansum(a), R3),
    Case("nanmean_dim", lambda m, a: a.nanmean(1, keepdim=True), R3),
    Case("quantile", lambda m, a: m.quantile(a, 0.3), R3),
    Case("quantile_dim_q", lambda m, a: a.quantile(m.tensor([0.1, 0.5, 0.95]), dim=1,
                                                   keepdim=True), R3),
    Case("quantile_lower", lambda m, a: a.quantile(0.4, 2, interpolation="lower"), R3),
    Case("quantile_higher", lambda m, a: m.quantile(a, 0.4, 0, interpolation="higher"), R3),
    Case("quantile_midpoint", lambda m, a: a.quantile(0.55, -1, interpolation="midpoint"), R3),
    Case("quantile_nearest", lambda m, a: a.quantile(0.7, 1, interpolation="nearest"), R3),
    Case("nanquantile", lambda m, a: m.nanquantile(a, 0.6, dim=2), R3),
    Case("mode", lambda m, a: tuple(m.mode((a * 2).round(), 1)), R3, grad=False),
    Case("cummax", lambda m, a: tuple(m.cummax(a, 1)), R3),
    Case("cummin", lambda m, a: tuple(a.cummin(-1)), R3),
    Case("diff", lambda m, a: m.diff(a, dim=1), R3),
    Case("diff_n2_pre", lambda m, a, b: a.diff(2, 0, prepend=b), [((4, 3), (2, 3))]),
    Case("renorm", lambda m, a: m.renorm(a, 2, 0, 1.5), R3),
    Case("aminmax", lambda m, a: tuple(m.aminmax(a, dim=1)), R3),
    Case("std_mean", lambda m, a: m.std_mean(a, 1), R3),
    Case("var_mean", lambda m, a: m.var_mean(a, (0, 2), keepdim=True), R3),
    Case("take", lambda m, a: m.take(a, m.tensor([[0, 5], [23, 5]])), R3),
    Case("tensor_split", lambda m, a: m.tensor_split(a, 3, dim=2), R3),
    Case("tensor_split_idx", lambda m, a: a.tensor_split([1, 3], 2), R3),
    Case("hsplit", lambda m, a: m.hsplit(a, [1]), R3),
    Case("vsplit", lambda m, a: a.vsplit(2), R3),
    Case("dsplit", lambda m, a: m.dsplit(a, 2), R3),
    Case("rot90", lambda m, a: m.rot90(a, 1, [1, 2]), R3),
    Case("rot90_k3", lambda m, a: a.rot90(-1), R3),
    Case("fliplr", lambda m, a: m.fliplr(a), R3),
    Case("flipud", lambda m, a: a.flipud(), R3),
    Case("index_fill", lambda m, a: a.index_fill(1, m.tensor([0, 2]), -1.5), R3),
    Case("index_copy", lambda m, a, b: m.index_copy(a, 2, m.tensor([3, 0]), b),
         [((2, 3, 4), (2, 3, 2))]),
    Case("index_put", lambda m, a, v: a.index_put((m.tensor([0, 2]), m.tensor([1, 1])), v),
         [((3, 4), (2,))]),
    Case("index_put_accumulate", lambda m, a, v: m.index_put(a, (m.tensor([0, 0, 2]),), v,
                                                             accumulate=True),
         [((3, 4), (3, 4))]),
    Case("masked_scatter", lambda m, a, s: a.masked_scatter(m.tensor(_MASK), s),
         [((3, 4), (10,))]),
    Case("put", lambda m, a, s: a.put(m.tensor([1, 7, 1]), s, accumulate=True),
         [((3, 4), (3,))]),
    Case("unfold", lambda m, a: a.unfold(2, 2, 1), R3),
    Case("unfold_step", lambda m, a: a.unfold(0, 2, 2), [((5, 3),)]),
    Case("as_strided", lambda m, a: a.as_strided((2, 3), (1, 4), 1), [((3, 4),)]),
    Case("sum_to_size", lambda m, a: a.sum_to_size(3, 1), R3),
    Case("hstack", lambda m, a, b: m.hstack([a, b]), [((2, 3), (2, 1)), ((3,), (2,))]),
    Case("vstack", lambda m, a, b: m.vstack((a, b)), [((3,), (2, 3))]),
    Case("row_stack", lambda m, a, b: m.row_stack([a, b]), [((2, 3), (1, 3))]),
    Case("dstack", lambda m, a, b: m.dstack([a, b]), [((2, 3), (2, 3, 2))]),
    Case("column_stack", lambda m, a, b: m.column_stack([a, b]), [((3,), (3, 2))]),
    Case("atleast_3d", lambda m, a, b: m.atleast_3d(a, b), [((), (3,))]),
    # PyTorch has no second derivative of cdist's direct form
    Case("cdist", lambda m, a, b: m.cdist(a, b), [((4, 3), (5, 3)), ((2, 4, 3), (2, 2, 3))],
         second_order=False),
    Case("cdist_p1", lambda m, a, b: m.cdist(a, b, p=1.0), [((4, 3), (5, 3))],
         second_order=False),
    Case("cdist_mm", lambda m, a, b: m.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
         [((4, 3), (5, 3))]),
    Case("dist", lambda m, a, b: m.dist(a, b, 3), [((3, 4), (4,))]),
    Case("block_diag", lambda m, a, b, c: m.block_diag(a, b, c), [((2, 3), (), (2,))]),
    Case("cartesian_prod", lambda m, a, b: m.cartesian_prod(a, b), [((3,), (2,))]),
    Case("combinations", lambda m, a: m.combinations(a, 2), [((4,),)]),
    Case("combinations_rep", lambda m, a: m.combinations(a, 3, with_replacement=True),
         [((3,),)]),
    # PyTorch's vander cannot be differentiated (it writes in place): values only there
    Case("vander", lambda m, a: m.vander(a, 4), [((3,),)], grad=False),
    Case("vander_increasing", lambda m, a: m.vander(a, increasing=True), [((3,),)],
         grad=False),
    Case("diag_embed", lambda m, a: m.diag_embed(a, 1), [((2, 3),)]),
    Case("diag_embed_dims", lambda m, a: m.diag_embed(a, -1, 0, 2), [((2, 3),)]),
    Case("diagflat", lambda m, a: m.diagflat(a, -1), [((2, 2),)]),
    Case("trapezoid", lambda m, a: m.trapezoid(a, dim=1), R3),
    Case("trapezoid_x", lambda m, a, x: m.trapezoid(a, x), [((3, 4), (4,))]),
    Case("trapezoid_dx", lambda m, a: m.trapezoid(a, dx=0.5, dim=0), R3),
    Case("cumulative_trapezoid", lambda m, a: m.cumulative_trapezoid(a), R3),
    Case("select_scatter", lambda m, a, s: m.select_scatter(a, s, 1, 2), [((2, 3, 4), (2, 4))]),
    Case("slice_scatter", lambda m, a, s: m.slice_scatter(a, s, 2, 1, 4, 2),
         [((2, 3, 4), (2, 3, 2))]),
    Case("diagonal_scatter", lambda m, a, s: m.diagonal_scatter(a, s, 1), [((3, 4), (3,))]),
    # PyTorch's longer names and the methods and functions composed of other ops
    Case("ravel", lambda m, a: m.ravel(a.transpose(0, 2)) * a.ravel()[:4].sum(), R3),
    Case("multiply_subtract", lambda m, a, b: a.multiply(b).subtract(b, alpha=2),
         [((2, 3), (3,))]),
    Case("divide", lambda m, a, b: a.divide(b) + m.divide(a, b, rounding_mode="trunc"),
         [((2, 3), (3,))], domains=("real", "away")),
    Case("absolute", lambda m, a: a.absolute() + m.absolute(a * 2), [((2, 3),)],
         domains=("away",)),
    Case("inner", lambda m, a, b: m.inner(a, b),
         [((2, 3, 4), (5, 4)), ((4,), (4,)), ((), (2, 3))]),
    Case("inner_method", lambda m, a, b: a.inner(b), [((3, 4), (4,))]),
    Case("vdot", lambda m, a, b: m.vdot(a, b) + a.vdot(b * 2), [((5,), (5,))]),
    Case("dist_method", lambda m, a, b: a.dist(b) + a.dist(b, 1) + a.dist(b, float("inf")),
         [((3, 4), (4,))]),
    Case("diag_embed_method", lambda m, a: a.diag_embed(-1, 2, 0), [((2, 3),)]),
    Case("diagflat_method", lambda m, a: a.diagflat(1), [((2, 2),)]),
    Case("adjoint", lambda m, a: m.adjoint(a) * 2 + a.adjoint(), R3),
    Case("nanmedian", lambda m, a: m.nanmedian(a.masked_fill(a > 1, float("nan"))), R3),
    Case("nanmedian_dim", lambda m, a: tuple(a.masked_fill(a > 0.8, float("nan"))
                                             .nanmedian(1, keepdim=True)), R3),
    # rows 3 and 4 are NaN only (NaN values: the gradient is compared with PyTorch's only)
    Case("nanmedian_dim_all_nan", lambda m, a: tuple(
        m.cat([a, a.masked_fill(a == a, float("nan"))], 0).nanmedian(-1)), [((2, 5),)],
         differentiable=False),
    Case("cov", lambda m, a: m.cov(a), [((3, 5),), ((6,),)]),
    Case("cov_correction", lambda m, a: a.cov(correction=0), [((3, 5),)]),
    Case("cov_weights", lambda m, a, w: m.cov(a, fweights=m.tensor([1, 2, 1, 3, 1]),
                                              aweights=w.abs() + 0.1), [((3, 5), (5,))]),
    Case("cov_aweights", lambda m, a, w: a.cov(aweights=w.abs() + 0.1, correction=2),
         [((2, 5), (5,))]),
    Case("corrcoef", lambda m, a: m.corrcoef(a) + a.corrcoef(), [((3, 6),), ((6,),)]),
    Case("narrow_copy", lambda m, a: m.narrow_copy(a, 1, 1, 2) * a.narrow_copy(-1, 0, 1).sum(),
         R3),
    Case("split_with_sizes", lambda m, a: m.split_with_sizes(a, [1, 3], dim=2)
         + a.split_with_sizes([2, 1], 1), R3),
    Case("frexp", lambda m, a: tuple(m.frexp(a * 10)), R3),
    Case("angle", lambda m, a: m.angle(a) + a.angle() * a, [((2, 3),)], domains=("away",)),
    Case("hardshrink", lambda m, a: m.hardshrink(a, 0.3) + a.hardshrink(), [((2, 3),)],
         domains=("away",)),
    Case("scatter_methods", lambda m, a, s, d: a.select_scatter(s, 1, 2).slice_scatter(
        s.unsqueeze(1), 1, 0, 1).diagonal_scatter(d, 1, 1, 2), [((2, 3, 4), (2, 4), (2, 3))]),
]

EINSUM_EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iij->ji", [(3, 3, 2)]),
    ("iji->j", [(2, 3, 2)]),
    ("ii,ij->j", [(3, 3), (3, 2)]),
    ("i,i", [(3,), (3,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ijk,k->ij", [(2, 3, 4), (4,)]),
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 2)]),
    ("Bi,ib", [(2, 3), (3, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 6)]),
    ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 6)]),
    ("i...->i", [(2, 3, 4)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("b...i,b...i->b...", [(2, 3, 4), (2, 1, 4)]),
    ("ij,ij->ij", [(1, 3), (4, 3)]),
    ("i,i->", [(2,), (1,)]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]),
]



def _einsum(equation: str) -> Callable:
    return lambda m, *xs: m.einsum(equation, *xs)


EINSUM = [Case(f"einsum[{eq.replace(' ', '')}]", _einsum(eq), [tuple(shapes)])
          for eq, shapes in EINSUM_EQUATIONS]

SPECIAL = [
    Case("lgamma", lambda m, a: a.lgamma(), UNARY_SHAPES, ("pos",)),
    Case("lgamma_fn", lambda m, a: m.lgamma(a * 3), UNARY_SHAPES[1:2], ("pos",)),
    Case("gammaln", lambda m, a: m.special.gammaln(a + 5), UNARY_SHAPES[1:2]),
    Case("digamma", lambda m, a: a.digamma(), UNARY_SHAPES, ("pos",)),
    Case("digamma_fn", lambda m, a: m.special.digamma(a * 10), UNARY_SHAPES[1:2], ("pos",)),
    Case("polygamma0", lambda m, a: m.polygamma(0, a), UNARY_SHAPES[1:2], ("pos",)),
    Case("polygamma1", lambda m, a: a.polygamma(1), UNARY_SHAPES, ("pos",)),
    Case("polygamma3", lambda m, a: m.special.polygamma(3, a * 4), UNARY_SHAPES[1:2],
         ("pos",)),
    Case("erf", lambda m, a: a.erf(), UNARY_SHAPES),
    Case("erf_fn", lambda m, a: m.special.erf(a * 3), UNARY_SHAPES[1:2]),
    Case("erfc", lambda m, a: m.erfc(a * 2), UNARY_SHAPES),
    Case("erfinv", lambda m, a: (a.tanh() * 0.99).erfinv(), UNARY_SHAPES),
    Case("erfinv_fn", lambda m, a: m.special.erfinv(a.tanh()), UNARY_SHAPES[1:2]),
    Case("logit", lambda m, a: a.sigmoid().logit(), UNARY_SHAPES),
    Case("logit_eps", lambda m, a: m.logit(a.sigmoid(), eps=0.2), UNARY_SHAPES[1:2]),
    Case("erfcx", lambda m, a: m.special.erfcx(a), UNARY_SHAPES),
    Case("i0", lambda m, a: m.special.i0(a * 3), UNARY_SHAPES),
    # gradient w.r.t. x (PyTorch has none w.r.t. a), differentiable twice
    Case("gammainc", lambda m, x: m.special.gammainc(m.tensor([0.5, 1.5, 3.0]), x),
         [((3,),)], domains=("pos",)),
]


def _spd(m, a):
    """A symmetric positive-definite batch built from ``a`` (*, n, n)."""
    return a @ a.mT + m.eye(a.shape[-1], dtype=a.dtype) * a.shape[-1]


def _tri(m, a, upper=False):
    """A well-conditioned triangular matrix built from ``a`` (*, n, n)."""
    t = a.triu() if upper else a.tril()
    return t + m.eye(a.shape[-1], dtype=a.dtype) * 3


LINALG_TRIANGULAR = [
    Case("cholesky", lambda m, a: m.linalg.cholesky(_spd(m, a)), [((3, 3),), ((2, 4, 4),)]),
    Case("cholesky_upper", lambda m, a: m.linalg.cholesky(_spd(m, a), upper=True),
         [((3, 3),)]),
    Case("solve_tri_lower", lambda m, a, b: m.linalg.solve_triangular(_tri(m, a), b,
                                                                        upper=False),
         [((3, 3), (3, 2)), ((2, 3, 3), (3, 4)), ((3, 3), (2, 3, 1))]),
    Case("solve_tri_upper", lambda m, a, b: m.linalg.solve_triangular(_tri(m, a, True), b,
                                                                        upper=True),
         [((3, 3), (3, 2))]),
    Case("solve_tri_right", lambda m, a, b: m.linalg.solve_triangular(
        _tri(m, a), b, upper=False, left=False), [((3, 3), (2, 3))]),
    Case("solve_tri_unit", lambda m, a, b: m.linalg.solve_triangular(
        _tri(m, a, True), b, upper=True, unitriangular=True), [((3, 3), (3, 2))]),
]

# ---------------------------------------------------------------------- nn.functional
_TARGET = np.array([0, 2, 1])            # class indices for (3, 4) logits
_EMB = np.array([[0, 2], [4, 2]])        # indices into a (5, 3) table
_CTC = np.array([[1, 2, 2], [3, 1, 0]])  # (N=2, S=3) labels, 0 is the blank


def _f(m):
    return m.nn.functional


def _ctc(m, a):
    logp = a.log_softmax(2)  # (T=6, N=2, C=4)
    return _f(m).ctc_loss(logp, m.tensor(_CTC), m.tensor([6, 5]), m.tensor([3, 2]))


def _max_unpool(m, a):
    out, idx = _f(m).max_pool2d(a, 2, return_indices=True)
    return _f(m).max_unpool2d(out, idx, 2)


IMG = [((2, 3, 5, 5),)]
FUNCTIONAL = [
    Case("elu", lambda m, a: _f(m).elu(a), UNARY_SHAPES),
    Case("gelu", lambda m, a: _f(m).gelu(a), UNARY_SHAPES),
    Case("gelu_tanh", lambda m, a: _f(m).gelu(a, approximate="tanh"), UNARY_SHAPES),
    Case("hardtanh", lambda m, a: _f(m).hardtanh(a * 2), UNARY_SHAPES),
    Case("leaky_relu", lambda m, a: _f(m).leaky_relu(a, 0.1), UNARY_SHAPES),
    Case("logsigmoid", lambda m, a: _f(m).logsigmoid(a), UNARY_SHAPES),
    Case("silu", lambda m, a: _f(m).silu(a), UNARY_SHAPES),
    Case("softplus", lambda m, a: _f(m).softplus(a, beta=2.0), UNARY_SHAPES),
    Case("linear", lambda m, a, w, b: _f(m).linear(a, w, b), [((3, 4), (5, 4), (5,))]),
    Case("sdpa", lambda m, q, k, v: _f(m).scaled_dot_product_attention(q, k, v),
         [((2, 3, 4), (2, 5, 4), (2, 5, 4))]),
    Case("conv2d", lambda m, a, w, b: _f(m).conv2d(a, w, b, stride=2, padding=1),
         [((2, 3, 5, 5), (4, 3, 3, 3), (4,))]),
    Case("conv_transpose2d", lambda m, a, w: _f(m).conv_transpose2d(a, w, stride=2),
         [((1, 2, 4, 4), (2, 3, 3, 3))]),
    Case("conv3d", lambda m, a, w: _f(m).conv3d(a, w, padding=1),
         [((1, 2, 4, 4, 3), (3, 2, 2, 2, 2))]),
    Case("unfold", lambda m, a: _f(m).unfold(a, 2), IMG),
    Case("fold", lambda m, a: _f(m).fold(a, (4, 4), 2), [((1, 8, 9),)]),
    Case("max_pool2d", lambda m, a: _f(m).max_pool2d(a, 2), IMG),
    Case("avg_pool2d", lambda m, a: _f(m).avg_pool2d(a, 2), IMG),
    Case("adaptive_max_pool2d", lambda m, a: _f(m).adaptive_max_pool2d(a, 2), IMG,
         second_order=False),
    Case("max_unpool2d", _max_unpool, [((1, 2, 4, 4),)], second_order=False),
    Case("interpolate_bilinear", lambda m, a: _f(m).interpolate(
        a, size=(7, 6), mode="bilinear", align_corners=False), IMG),
    Case("pad_constant", lambda m, a: _f(m).pad(a, (1, 2), value=0.5), [((2, 3),)]),
    Case("pad_reflect", lambda m, a: _f(m).pad(a, (2, 1), mode="reflect"), [((2, 3, 5),)],
         second_order=False),
    Case("layer_norm", lambda m, a, w, b: _f(m).layer_norm(a, (4,), w, b),
         [((3, 4), (4,), (4,))]),
    Case("batch_norm", lambda m, a: _f(m).batch_norm(a, None, None, training=True),
         [((4, 3, 2),)]),
    Case("embedding", lambda m, w: _f(m).embedding(m.tensor(_EMB), w), [((5, 3),)]),
    Case("mse_loss", lambda m, a, b: _f(m).mse_loss(a, b), [((3, 4), (3, 4))]),
    Case("l1_loss", lambda m, a, b: _f(m).l1_loss(a, b), [((3, 4), (3, 4))]),
    Case("huber_loss", lambda m, a, b: _f(m).huber_loss(a, b, delta=0.5), [((3, 4), (3, 4))]),
    Case("bce", lambda m, a, b: _f(m).binary_cross_entropy(a, b), [((3, 4), (3, 4))],
         domains=("prob", "prob")),
    Case("bce_with_logits", lambda m, a, b: _f(m).binary_cross_entropy_with_logits(a, b),
         [((3, 4), (3, 4))], domains=("real", "prob")),
    Case("kl_div", lambda m, a, b: _f(m).kl_div(a.log_softmax(-1), b.softmax(-1),
                                               reduction="batchmean"), [((3, 4), (3, 4))]),
    Case("nll_loss", lambda m, a: _f(m).nll_loss(a.log_softmax(1), m.tensor(_TARGET)),
         [((3, 4),)]),
    Case("cross_entropy", lambda m, a: _f(m).cross_entropy(a, m.tensor(_TARGET)), [((3, 4),)]),
    Case("cross_entropy_probs", lambda m, a, b: _f(m).cross_entropy(a, b.softmax(1)),
         [((3, 4), (3, 4))]),
    Case("ctc_loss", _ctc, [((6, 2, 4),)], second_order=False),
]


ALL = (ELEMENTWISE + ELEMENTWISE_EXTRA + LINALG + LINALG_TRIANGULAR + SPECIAL + STATS_INDEX
       + REDUCE + SHAPE + INDEX + MATMUL + EINSUM + FUNCTIONAL)

# Primitives with no case here, and why (tests/ops/test_op_registry.py checks that every other
# primitive of softgrad/ops is run by a case above).
NO_CASE = {
    "ToDevice": "copies between devices: needs a GPU (tests/device/test_cuda.py)",
    "Dropout": "a random mask, not PyTorch's (tests/nn/test_functional_linear.py)",
    "Sampled": "a random draw (tests/distributions/test_distributions_sampling.py)",
    "StandardGamma": "a random draw (tests/distributions/test_distributions_sampling.py)",
    "RNNTanhSeq": "the fused recurrence of nn.RNN, compared with PyTorch's in tests/nn/test_rnn.py",
    "LSTMSeq": "the fused recurrence of nn.LSTM, compared with PyTorch's in tests/nn/test_rnn.py",
    "GRUSeq": "the fused recurrence of nn.GRU, compared with PyTorch's in tests/nn/test_rnn.py",
}
