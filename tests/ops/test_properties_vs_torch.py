"""More property tests against PyTorch (hypothesis): unary ops, comparisons and in-place ops
with broadcasting, shape ops and index ops along random dims, point-wise losses over random
shapes. Values and gradients must agree within 1e-6 in float64.
"""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import needs_torch, torch, torch_parity

SETTINGS = settings(max_examples=15, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4)
ND_SHAPES = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)
TF = torch.nn.functional if torch is not None else None

UNARY = {
    "neg": lambda m, a: -a, "abs": lambda m, a: a.abs(), "exp": lambda m, a: a.exp(),
    "log": lambda m, a: (a.abs() + 0.5).log(), "log1p": lambda m, a: a.abs().log1p(),
    "expm1": lambda m, a: a.expm1(), "sqrt": lambda m, a: (a.abs() + 0.5).sqrt(),
    "rsqrt": lambda m, a: (a.abs() + 0.5).rsqrt(), "sin": lambda m, a: m.sin(a),
    "cos": lambda m, a: m.cos(a), "tanh": lambda m, a: a.tanh(),
    "sigmoid": lambda m, a: a.sigmoid(), "relu": lambda m, a: a.relu(),
    "sign": lambda m, a: a.sign(), "clamp": lambda m, a: a.clamp(-0.3, 0.4),
    "floor": lambda m, a: (a * 3).floor(), "ceil": lambda m, a: (a * 3).ceil(),
    "round": lambda m, a: (a * 3).round(), "pow_scalar": lambda m, a: (a.abs() + 0.5) ** 1.7,
    "rpow": lambda m, a: 1.5 ** a, "rdiv": lambda m, a: 2.0 / (a.abs() + 0.5),
    "rsub": lambda m, a: 1.0 - a, "floordiv": lambda m, a: a // 0.3,
    "softmax": lambda m, a: a.softmax(-1) if a.ndim else a.exp(),
}


def _array(shape: tuple, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


@needs_torch
@SETTINGS
@given(shape=SHAPES, op=st.sampled_from(sorted(UNARY)), seed=st.integers(0, 2**16))
def test_unary_ops_match_torch_over_random_shapes(shape, op: str, seed: int) -> None:
    f = UNARY[op]
    grad = op not in ("floordiv",)  # PyTorch has no derivative for floor division
    torch_parity(lambda x: f(sg, x), lambda x: f(torch, x), _array(shape, seed), grad=grad)


COMPARE = ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"]


@needs_torch
@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                max_side=3),
       op=st.sampled_from(COMPARE), seed=st.integers(0, 2**16))
def test_comparisons_broadcast_like_torch(shapes, op: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = (rng.integers(-1, 2, s).astype(np.float64) for s in shapes.input_shapes)
    ours = getattr(sg.tensor(a), op)(sg.tensor(b))
    theirs = getattr(torch.tensor(a), op)(torch.tensor(b))
    assert ours.dtype == sg.bool and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


INPLACE = {
    "add_": lambda t, o: t.add_(o), "sub_": lambda t, o: t.sub_(o, alpha=0.5),
    "mul_": lambda t, o: t.mul_(o), "div_": lambda t, o: t.div_(o.abs() + 0.5),
    "iadd": lambda t, o: t.__iadd__(o), "isub": lambda t, o: t.__isub__(o),
    "imul": lambda t, o: t.__imul__(o), "itruediv": lambda t, o: t.__itruediv__(o.abs() + 1),
    "pow_": lambda t, o: t.abs_().add_(0.5).pow_(o),
    "clamp_": lambda t, o: t.clamp_(-0.2, 0.3), "fill_": lambda t, o: t.fill_(1.5),
    "masked_fill_": lambda t, o: t.masked_fill_(o > 0, 2.0),
    "exp_": lambda t, o: t.exp_(), "neg_": lambda t, o: t.neg_(), "abs_": lambda t, o: t.abs_(),
    "sqrt_": lambda t, o: t.abs_().sqrt_(), "log_": lambda t, o: t.abs_().add_(0.1).log_(),
    "tanh_": lambda t, o: t.tanh_(), "sigmoid_": lambda t, o: t.sigmoid_(),
    "relu_": lambda t, o: t.relu_(), "floor_": lambda t, o: t.mul_(3).floor_(),
    "round_": lambda t, o: t.mul_(3).round_(), "sign_": lambda t, o: t.sign_(),
    "reciprocal_": lambda t, o: t.abs_().add_(1).reciprocal_(),
    "copy_": lambda t, o: t.copy_(o),
}


@needs_torch
@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                max_side=3),
       op=st.sampled_from(sorted(INPLACE)), seed=st.integers(0, 2**16))
def test_inplace_ops_broadcast_into_self_like_torch(shapes, op: str, seed: int) -> None:
    """In-place ops on tensors that need no grad: the other operand broadcasts to self."""
    out_shape = shapes.result_shape
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(out_shape), rng.standard_normal(shapes.input_shapes[1])
    s, t = sg.tensor(a), torch.tensor(a)
    rs, rt = INPLACE[op](s, sg.tensor(b)), INPLACE[op](t, torch.tensor(b))
    assert rs is s and rt is t
    np.testing.assert_allclose(s.numpy(), t.numpy(), atol=1e-12, rtol=1e-12)


SHAPE_OPS = {
    "flip": lambda m, x, d: x.flip(d), "roll": lambda m, x, d: x.roll(2, d),
    "narrow": lambda m, x, d: x.narrow(d, 0, max(1, x.shape[d] - 1)),
    "transpose": lambda m, x, d: x.transpose(d, 0), "unsqueeze": lambda m, x, d: x.unsqueeze(d),
    "squeeze": lambda m, x, d: x.squeeze(d), "select": lambda m, x, d: x.select(d, -1),
    "chunk": lambda m, x, d: x.chunk(2, d), "split": lambda m, x, d: x.split(1, d),
    "cumsum": lambda m, x, d: x.cumsum(d), "softmax": lambda m, x, d: x.softmax(d),
    "log_softmax": lambda m, x, d: x.log_softmax(d), "logsumexp": lambda m, x, d: x.logsumexp(d),
    "max_dim": lambda m, x, d: x.max(d)[0], "min_dim": lambda m, x, d: x.min(d, keepdim=True)[0],
    "prod": lambda m, x, d: x.prod(d), "std": lambda m, x, d: x.std(d),
    "var": lambda m, x, d: x.var(d, keepdim=True), "norm": lambda m, x, d: x.norm(dim=d),
    "repeat": lambda m, x, d: x.repeat(*([1] * x.ndim)).repeat(*([2] + [1] * (x.ndim - 1))),
    "expand": lambda m, x, d: x.unsqueeze(0).expand(2, *x.shape),
    "flatten": lambda m, x, d: x.flatten(d), "stack": lambda m, x, d: m.stack([x, x * 2], d),
    "cat": lambda m, x, d: m.cat([x, x.exp()], d),
    "index_select": lambda m, x, d: x.index_select(d, m.tensor([x.shape[d] - 1, 0, 0])),
    "gather": lambda m, x, d: x.gather(d, m.tensor(
        np.random.default_rng(0).integers(0, x.shape[d], x.shape))),
    "scatter_add": lambda m, x, d: x.scatter_add(d, m.tensor(
        np.random.default_rng(1).integers(0, x.shape[d], x.shape)), x * 3),
    "masked_fill": lambda m, x, d: x.masked_fill(x > 0.5, -2.0),
    "where": lambda m, x, d: m.where(x > 0, x, x * x),
    "index": lambda m, x, d: x[(slice(None),) * d + ([0, -1, 0],)],
    "bool_index": lambda m, x, d: x[x > 0],
}


@needs_torch
@SETTINGS
@given(shape=ND_SHAPES, op=st.sampled_from(sorted(SHAPE_OPS)), data=st.data(),
       seed=st.integers(0, 2**16))
def test_dim_ops_match_torch_along_random_dims(shape, op: str, data, seed: int) -> None:
    d = data.draw(st.integers(0, len(shape) - 1), label="dim")
    f = SHAPE_OPS[op]
    torch_parity(lambda x: f(sg, x, d), lambda x: f(torch, x, d), _array(shape, seed))


def _loss_inputs(name: str, shape: tuple, rng: np.random.Generator) -> list:
    if name == "binary_cross_entropy":
        return [rng.uniform(0.05, 0.95, shape), rng.uniform(0, 1, shape)]
    if name == "binary_cross_entropy_with_logits":
        return [rng.standard_normal(shape) * 3, rng.uniform(0, 1, shape)]
    if name == "kl_div":
        return [rng.standard_normal(shape) - 1, rng.uniform(0.05, 1, shape)]
    return [rng.standard_normal(shape), rng.standard_normal(shape)]


POINTWISE = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
             "binary_cross_entropy_with_logits", "kl_div"]


@needs_torch
@SETTINGS
@given(shape=SHAPES, name=st.sampled_from(POINTWISE),
       reduction=st.sampled_from(["none", "mean", "sum"]), seed=st.integers(0, 2**16))
def test_pointwise_losses_match_torch_over_random_shapes(shape, name: str, reduction: str,
                                                         seed: int) -> None:
    rng = np.random.default_rng(seed)
    arrays = _loss_inputs(name, shape, rng)
    kw = {"reduction": reduction}
    if name == "binary_cross_entropy_with_logits" and shape:
        pw = rng.uniform(0.5, 2, shape[-1:])  # pos_weight broadcasts along the last dim
        torch_parity(lambda x, y: F.binary_cross_entropy_with_logits(
                         x, y, pos_weight=sg.tensor(pw), **kw),
                     lambda x, y: TF.binary_cross_entropy_with_logits(
                         x, y, pos_weight=torch.tensor(pw), **kw), *arrays)
        return
    torch_parity(lambda x, y: getattr(F, name)(x, y, **kw),
                 lambda x, y: getattr(TF, name)(x, y, **kw), *arrays)
