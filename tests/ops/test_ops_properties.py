"""Property tests over random shapes, dims and broadcasting (hypothesis, compared with torch)."""
from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softgrad as sg
from tests.helpers.checks import needs_torch, torch, torch_parity

SETTINGS = settings(max_examples=25, deadline=None)

BINARY = {
    "add": lambda m, a, b: a + b,
    "sub": lambda m, a, b: b - a,
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / (b.abs() + 0.5),
    "pow": lambda m, a, b: (a.abs() + 0.5) ** b,
    "maximum": lambda m, a, b: m.maximum(a, b),
    "where": lambda m, a, b: m.where(b > 0, a, b),
    "remainder": lambda m, a, b: a % (b.abs() + 0.5),
}


def _arrays(seed: int, *shapes: tuple) -> list:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


@needs_torch
@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                max_side=3),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_binary_ops_broadcast_like_torch(shapes, op: str, seed: int) -> None:
    a, b = _arrays(seed, *shapes.input_shapes)
    f = BINARY[op]
    torch_parity(lambda x, y: f(sg, x, y), lambda x, y: f(torch, x, y), a, b)
    x, y = sg.tensor(a, requires_grad=True), sg.tensor(b, requires_grad=True)
    out = f(sg, x, y)
    assert out.shape == shapes.result_shape
    out.sum().backward()
    assert x.grad.shape == a.shape and y.grad.shape == b.shape


@st.composite
def _shape_and_dims(draw, max_dims: int = 4) -> tuple:
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=1, max_side=4))
    nd = len(shape)
    dims = draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=nd,
                         unique_by=lambda d: d % nd))
    return shape, tuple(dims), draw(st.booleans())


REDUCTIONS = {
    "sum": lambda m, x, d, k: x.sum(d, keepdim=k),
    "mean": lambda m, x, d, k: x.mean(d, keepdim=k),
    "amax": lambda m, x, d, k: x.amax(d, keepdim=k),
    "amin": lambda m, x, d, k: m.amin(x, d, keepdim=k),
    "var": lambda m, x, d, k: x.var(d, keepdim=k),
    "std": lambda m, x, d, k: x.std(d, keepdim=k, correction=0),
    "logsumexp": lambda m, x, d, k: x.logsumexp(d, keepdim=k),
    "norm": lambda m, x, d, k: x.norm(2, dim=d, keepdim=k),
    "prod": lambda m, x, d, k: x.prod(d[0], keepdim=k),
    "max": lambda m, x, d, k: x.max(d[0], keepdim=k).values,
    "cumsum": lambda m, x, d, k: x.cumsum(d[0]),
}


@needs_torch
@SETTINGS
@given(spec=_shape_and_dims(), op=st.sampled_from(sorted(REDUCTIONS)),
       seed=st.integers(0, 2**16))
def test_reductions_over_random_dims_match_torch(spec, op: str, seed: int) -> None:
    shape, dims, keepdim = spec
    if op == "var":
        assume(np.prod([shape[d] for d in dims]) > 1)
    (a,) = _arrays(seed, shape)
    f = REDUCTIONS[op]
    torch_parity(lambda x: f(sg, x, dims, keepdim), lambda x: f(torch, x, dims, keepdim), a)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=5, max_side=4), data=st.data())
def test_permute_and_reshape_round_trip_with_gradient(shape, data) -> None:
    perm = data.draw(st.permutations(range(len(shape))))
    inverse = tuple(np.argsort(perm))
    a = np.arange(float(np.prod(shape))).reshape(shape)
    x = sg.tensor(a, requires_grad=True)
    moved = x.permute(*perm)
    np.testing.assert_array_equal(moved.detach().numpy(), a.transpose(perm))
    flat = moved.reshape(-1).reshape(moved.shape)
    back = flat.permute(*inverse)
    np.testing.assert_array_equal(back.detach().numpy(), a)
    w = np.random.default_rng(0).standard_normal(shape)
    (back * sg.tensor(w)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), w)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), data=st.data())
def test_split_then_cat_is_identity(shape, data) -> None:
    dim = data.draw(st.integers(0, len(shape) - 1))
    n = shape[dim]
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
    sizes = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    x = sg.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
    parts = x.split(sizes, dim)
    assert [p.shape[dim] for p in parts] == sizes
    out = sg.cat(parts, dim)
    np.testing.assert_array_equal(out.detach().numpy(), x.detach().numpy())
    out.sum().backward()
    assert (x.grad.numpy() == 1).all()


@SETTINGS
@given(size=st.integers(1, 6), index=st.lists(st.integers(-6, 5), min_size=1, max_size=12),
       seed=st.integers(0, 2**16))
def test_integer_indexing_accumulates_repeated_gradients(size, index, seed) -> None:
    index = [i for i in index if -size <= i < size]
    assume(index)
    w = np.random.default_rng(seed).standard_normal(len(index))
    x = sg.zeros(size, 2, dtype=sg.float64, requires_grad=True)
    (x[index] * sg.tensor(w).unsqueeze(1)).sum().backward()
    expected = np.zeros(size)
    np.add.at(expected, np.array(index), w)
    np.testing.assert_allclose(x.grad.numpy(), np.stack([expected, expected], 1), atol=1e-12)


@needs_torch
@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(signature="(m?,n),(n,p?)->(m?,p?)",
                                                max_dims=3, max_side=3),
       seed=st.integers(0, 2**16))
def test_matmul_broadcasts_like_torch(shapes, seed: int) -> None:
    a, b = _arrays(seed, *shapes.input_shapes)
    torch_parity(lambda x, y: x @ y, lambda x, y: x @ y, a, b)
