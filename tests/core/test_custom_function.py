"""Custom ``autograd.Function`` subclasses written PyTorch's way, checked against PyTorch."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import softgrad as sg
from softgrad.autograd.function import once_differentiable


def _define(lib, once=lambda f: f):
    class MyReLU(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k=2.0):
            ctx.save_for_backward(x)
            ctx.k = k
            return x.clamp(min=0) * k

        @staticmethod
        @once
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            g = grad.clone()
            g[x < 0] = 0
            return g * ctx.k, None

    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y

    class SumProd(lib.autograd.Function):  # two outputs, setup_context style
        @staticmethod
        def forward(a, b):
            return a + b, a * b

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, g_sum, g_prod):
            a, b = ctx.saved_tensors
            return (g_sum + g_prod * b if ctx.needs_input_grad[0] else None,
                    g_sum + g_prod * a if ctx.needs_input_grad[1] else None)

    class Cube(lib.autograd.Function):  # differentiable backward: double backward works
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * grad

    return MyReLU, Exp, SumProd, Cube


def _run(lib):
    MyReLU, Exp, SumProd, Cube = _define(lib)
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = lib.tensor(rng.standard_normal((3, 4)))
    y = MyReLU.apply(a, 3.0)
    s, p = SumProd.apply(a, Exp.apply(b))
    loss = (y * w).sum() + (s * w).sum() + (p * p).sum()
    loss.backward()
    x = lib.tensor([0.5, -1.5], requires_grad=True)
    (g,) = lib.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (gg,) = lib.autograd.grad(g.sum(), x)
    return [loss.detach().numpy(), a.grad.numpy(), b.grad.numpy(), g.detach().numpy(),
            gg.numpy(), type(y.grad_fn).__name__ if lib is not sg else y.grad_fn.name()]


def test_custom_functions_match_torch() -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = _run(sg), _run(torch)
    for o, t in zip(ours[:-1], theirs[:-1]):
        np.testing.assert_allclose(o, t, rtol=1e-10, atol=1e-12)
    assert ours[-1] == theirs[-1] == "MyReLUBackward"
    assert "grad_fn=<MyReLUBackward>" in repr(_define(sg)[0].apply(
        sg.tensor([1.0], requires_grad=True)))


def test_custom_function_gradcheck() -> None:
    _, Exp, SumProd, Cube = _define(sg)
    x = sg.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    z = sg.tensor(np.linspace(0.5, 2, 5), requires_grad=True)
    assert sg.autograd.gradcheck(lambda v: Exp.apply(v), (x,))
    assert sg.autograd.gradcheck(lambda u, v: SumProd.apply(u, v)[1], (x, z))
    assert sg.autograd.gradcheck(lambda v: Cube.apply(v), (x,))


def test_needs_input_grad_no_grad_and_non_tensor_args() -> None:
    seen = []

    class Scale(sg.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, factor):
            seen.append(ctx.needs_input_grad)
            return x * y * factor

        @staticmethod
        def backward(ctx, g):
            return g, None, None

    x, y = sg.ones(2, requires_grad=True), sg.ones(2)
    out = Scale.apply(x, y, 3)
    assert seen[-1] == (True, False, False) and out.requires_grad
    with sg.no_grad():
        assert not Scale.apply(x, y, 3).requires_grad
    assert not Scale.apply(y, y, 3).requires_grad  # nothing needs grad: no node


def test_saved_tensors_are_freed_and_version_checked() -> None:
    _, Exp, _, _ = _define(sg)
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = Exp.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()
    MyReLU = _define(sg)[0]
    v = sg.tensor([1.0, -2.0], requires_grad=True) * 1
    out = MyReLU.apply(v)
    with sg.no_grad():
        v.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.sum().backward()


def _doubling(name: str, backward: Any = None) -> type:
    """A Function subclass called ``name`` computing ``2 * a``, with ``backward`` if given."""
    body = {"forward": staticmethod(lambda ctx, a: a * 2)}
    if backward is not None:
        body["backward"] = staticmethod(backward)
    return type(name, (sg.autograd.Function,), body)


def test_wrong_backward_results_are_clear_errors() -> None:
    TooMany = _doubling("TooMany", lambda ctx, g: (g, g))
    WrongShape = _doubling("WrongShape", lambda ctx, g: g[:1])
    NoBackward = _doubling("NoBackward")
    a = sg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"TooManyBackward returned an incorrect number of "
                                           r"gradients \(expected 1, got 2\)"):
        TooMany.apply(a).sum().backward()
    with pytest.raises(RuntimeError, match=r"WrongShapeBackward returned an invalid gradient at "
                                           r"index 0 - got \[1\] but expected shape compatible "
                                           r"with \[2\]"):
        WrongShape.apply(a).sum().backward()
    with pytest.raises(NotImplementedError, match="backward or vjp"):
        NoBackward.apply(a).sum().backward()


def test_vjp_alias_and_mark_non_differentiable() -> None:
    class SortWithIndex(sg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, idx = x.sort()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            return values, idx

        @staticmethod
        def vjp(ctx, g, _g_idx):
            (idx,) = ctx.saved_tensors
            out = sg.zeros_like(g)
            out[idx] = g
            return out

    x = sg.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, idx = SortWithIndex.apply(x)
    assert not idx.requires_grad and values.requires_grad
    (values * sg.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [100.0, 1.0, 10.0]


def test_once_differentiable_runs_backward_without_recording() -> None:
    MyReLU = _define(sg, once=once_differentiable)[0]
    x = sg.tensor([1.0, -1.0], requires_grad=True)
    (g,) = sg.autograd.grad(MyReLU.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [2.0, 0.0] and not g.requires_grad


def test_primitive_style_subclass_still_applies_on_arrays() -> None:
    class Square(sg.autograd.Function):
        def forward(self, a):
            self.save_for_backward(a)
            return a * a

        def backward(self, g):
            (a,) = self.saved
            return 2 * a * g

    x = sg.tensor([3.0], requires_grad=True)
    Square.apply(x).backward()
    assert x.grad.item() == 6.0


def test_a_second_derivative_through_a_function_with_a_non_differentiable_output() -> None:
    class SquareAndSign(sg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            sign = (x > 0).to(x.dtype)
            ctx.mark_non_differentiable(sign)
            return x * x, sign

        @staticmethod
        def backward(ctx, g, g_sign):
            (x,) = ctx.saved_tensors
            assert float(g_sign.abs().sum()) == 0.0  # zeros: the output has no gradient
            return 2 * x * g

    x = sg.tensor([1.5, -2.0], dtype=sg.float64, requires_grad=True)
    y, _ = SquareAndSign.apply(x)
    (gx,) = sg.autograd.grad(y.sum(), x, create_graph=True)
    (gxx,) = sg.autograd.grad(gx.sum(), x)
    np.testing.assert_allclose(gx.detach().numpy(), [3.0, -4.0])
    np.testing.assert_allclose(gxx.numpy(), [2.0, 2.0])
