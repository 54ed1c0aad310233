"""The engine's cheap paths keep its behaviour: dependency counting (several roots, a root
that another root uses, an input used twice, a branch that sends no gradient), the in-place
check that is skipped while no tensor changed, small reduction gradients filled instead of
broadcast, and sigmoid's forward."""
from __future__ import annotations

import numpy as np
import pytest

try:
    import torch
except ImportError:  # the comparisons with PyTorch skip; the rest runs
    torch = None

import softgrad as sg
from softgrad import backend
from softgrad.engine.backward import dependencies

RNG = np.random.default_rng(0)


def _pair(shape: tuple) -> tuple:
    if torch is None:
        pytest.skip("PyTorch is not installed: nothing to compare with")
    a = RNG.standard_normal(shape).astype(np.float32)
    return sg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def test_root_used_by_another_root_gets_both_gradients() -> None:
    (x, tx) = _pair((3, 4))
    grads = []
    for m, t in ((sg, x), (torch, tx)):
        y = m.tanh(t) * 2
        z = (y * y).sum()
        grads.append(m.autograd.grad([y.sum(), z], [t]))
    assert np.allclose(grads[0][0].numpy(), grads[1][0].numpy(), atol=1e-5)


def test_backward_of_two_roots_where_one_feeds_the_other() -> None:
    (x, tx) = _pair((2, 5))
    for m, t in ((sg, x), (torch, tx)):
        y = m.exp(t)
        m.autograd.backward([y, (y * t).sum()], [m.ones_like(y), None])
    assert np.allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-5)


def test_diamond_and_an_input_used_twice_by_one_op() -> None:
    (x, tx) = _pair((4,))
    for m, t in ((sg, x), (torch, tx)):
        a = t * t  # one op, the same input twice
        b = m.sigmoid(t) + a
        c = (a * b - t).sum()
        c.backward()
    assert np.allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-5)


def test_dependencies_count_each_use() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    c = sg.tensor([3.0, 4.0])  # needs no gradient: not counted
    a = x * x
    out = (a + a * c).sum()
    uses = dependencies([out])
    assert uses[id(out)] == 0 and uses[id(a)] == 2 and uses[id(x)] == 2
    assert id(c) not in uses


class _NoGradient(sg.autograd.Function):
    @staticmethod
    def forward(ctx, h):  # type: ignore[no-untyped-def]
        return h * 1.0

    @staticmethod
    def backward(ctx, g):  # type: ignore[no-untyped-def]
        return None


def test_a_branch_that_sends_no_gradient_still_lets_the_rest_through() -> None:
    x = sg.tensor([1.0, -2.0], requires_grad=True)
    h = x * 2  # gets no gradient (the custom op sends None) yet leads to x
    out = (_NoGradient.apply(h) + x * 3).sum()
    out.backward()
    assert np.array_equal(x.grad.numpy(), [3.0, 3.0])
    assert h.grad is None


def test_inplace_change_after_recording_is_still_caught() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    other = sg.tensor([5.0])
    b = x * x  # saves x
    other.add_(1)  # an unrelated change: the count moves, x's version does not
    b.sum().backward(retain_graph=True)
    assert np.array_equal(x.grad.numpy(), [2.0, 4.0])
    with sg.no_grad():
        x.add_(1)
    with pytest.raises(RuntimeError, match="expected version 0"):
        b.sum().backward()


def test_unchanged_graph_backward_twice_with_retain_graph() -> None:
    x = sg.tensor([0.5, -1.5], requires_grad=True)
    y = (sg.tanh(x) * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    assert np.allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_next_functions_walkable_after_backward() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    (mul, _), = y.grad_fn.next_functions
    assert mul.name() == "MulBackward0"
    assert mul.next_functions[0][0].name() == "AccumulateGrad"
    assert mul.next_functions[1][0] is None


@pytest.mark.parametrize("shape", [(3,), (2, 5), (backend.SMALL_EXPAND + 1,)])
def test_expand_small_fills_large_views(shape: tuple) -> None:
    g = np.asarray(np.float32(1.5)).reshape((1,) * len(shape))
    out = backend.expand(g, shape, np)
    assert out.shape == shape and out.dtype == np.float32 and np.all(out == 1.5)
    small = int(np.prod(shape)) <= backend.SMALL_EXPAND
    assert out.flags.writeable == small  # a fresh array, or NumPy's read-only view


@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, False), (0, True), ((0, 1), False)])
def test_sum_and_mean_gradients_small_and_large(dim: object, keepdim: bool) -> None:
    for shape in ((3, 4), (80, 70)):  # below and above backend.SMALL_EXPAND
        (x, tx) = _pair(shape)
        w = RNG.standard_normal(shape).astype(np.float32)
        for m, t in ((sg, x), (torch, tx)):
            kw = {} if dim is None else {"dim": dim, "keepdim": keepdim}
            s = t.sum(**kw) if dim is not None else t.sum()
            mu = t.mean(**kw) if dim is not None else t.mean()
            ((s * 2).sum() + (mu * 3).sum() + (t * m.tensor(w)).sum()).backward()
        assert np.allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-5)


def test_sum_gradient_accumulates_into_its_input_twice() -> None:
    x = sg.tensor(RNG.standard_normal((2, 3)).astype(np.float32), requires_grad=True)
    y = x * 1.0
    (y.sum() + y.sum() * 2).backward()  # two filled gradients meet at y
    assert np.allclose(x.grad.numpy(), 3.0)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_forward_matches_the_two_branch_formula(dtype: type) -> None:
    a = np.concatenate([RNG.standard_normal(50) * 10,
                        [0.0, -0.0, 1e-8, -1e-8, 88.0, -88.0, 1e4, -1e4, np.inf, -np.inf,
                         np.nan]]).astype(dtype)
    with np.errstate(all="ignore"):
        e = np.exp(-np.abs(a))
        ref = np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(dtype)
    got = sg.sigmoid(sg.tensor(a)).numpy()
    assert got.dtype == dtype
    assert np.array_equal(got, ref, equal_nan=True)
    assert float(sg.sigmoid(sg.tensor(0.25))) == pytest.approx(1 / (1 + np.exp(-0.25)))
