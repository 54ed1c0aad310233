"""The autograd engine: accumulation, graph freeing, grad modes, higher order, errors."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import needs_torch, torch


def test_x_minus_x_and_x_over_x_have_zero_gradient() -> None:
    x = sg.tensor([1.0, 2.0, -3.0], requires_grad=True)
    (x - x).sum().backward()
    assert (x.grad.numpy() == 0).all()
    x.grad = None
    (x / x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0, atol=1e-7)


def test_gradients_accumulate_across_backward_calls() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_shared_pass_through_gradients_do_not_alias() -> None:
    a = sg.tensor([1.0, 2.0], requires_grad=True)
    b = sg.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad._data += 10  # must not leak into b.grad
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_long_chain_has_no_recursion_limit() -> None:
    x = sg.tensor([1.5], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 0.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_second_backward_through_freed_graph_raises() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_backward_on_non_scalar_needs_gradient() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(gradient=sg.tensor([1.0, 0.5]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0])


def test_inplace_change_of_saved_input_is_detected() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    w = sg.tensor([3.0, 4.0])
    y = (x * w).sum()
    w += 1
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_inplace_on_leaf_requiring_grad_raises() -> None:
    x = sg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        x += 1
    with sg.no_grad():
        x += 1
    assert x.item() == 2.0


def test_no_grad_and_decorators() -> None:
    x = sg.tensor([1.0], requires_grad=True)
    with sg.no_grad():
        assert not (x * 2).requires_grad
        with sg.enable_grad():
            assert (x * 2).requires_grad

    @sg.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with sg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert sg.is_grad_enabled()


def test_graph_is_freed_after_backward() -> None:
    x = sg.tensor(np.ones(3), requires_grad=True)
    y = (x.exp() * 2).sum()
    fn = y.grad_fn
    y.backward()
    assert fn._freed and fn._saved == ()


def test_float32_stays_float32_through_gradients() -> None:
    x = sg.randn(4, 3, requires_grad=True)
    w = sg.randn(3, 2, requires_grad=True)
    y = ((x @ w).tanh() * 2.5 + 1).exp().mean()
    assert y.dtype == sg.float32
    y.backward()
    assert x.grad.dtype == sg.float32 and w.grad.dtype == sg.float32


def test_higher_order_grad_of_cube() -> None:
    x = sg.tensor([1.0, -2.0, 0.5], dtype=sg.float64, requires_grad=True)
    (g,) = sg.autograd.grad((x**3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * x.detach().numpy() ** 2)
    (gg,) = sg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * x.detach().numpy())


@needs_torch
@pytest.mark.parametrize("name", ["tanh_mul", "sigmoid_exp", "matmul_sin", "logsumexp"])
def test_grad_of_grad_matches_torch(name: str) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    fns = {
        "tanh_mul": lambda m, x, y: (m.tanh(x) * y[:3, :1]).sum(),
        "sigmoid_exp": lambda m, x, y: (m.sigmoid(x).exp() ** 2).sum(),
        "matmul_sin": lambda m, x, y: m.sin(x @ y).sum(),
        "logsumexp": lambda m, x, y: m.logsumexp(x * 2, 1).sum(),
    }
    f = fns[name]
    results = []
    for mod, make in ((sg, lambda v: sg.tensor(v, requires_grad=True)),
                      (torch, lambda v: torch.tensor(v, requires_grad=True))):
        x, y = make(a), make(b)
        g = mod.autograd.grad(f(mod, x, y), x, create_graph=True)[0]
        gg = mod.autograd.grad((g * g).sum(), (x, y), allow_unused=True)
        results.append([t.detach().numpy() if t is not None else None for t in gg])
    for s, t in zip(*results):
        if t is None:
            assert s is None or np.allclose(s, 0)
        else:
            np.testing.assert_allclose(s, t, atol=1e-6)


def test_hessian_of_quadratic_form() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    A = sg.tensor(a + a.T)
    x = sg.tensor(rng.standard_normal(3))
    H = sg.autograd.functional.hessian(lambda v: (v @ A @ v) * 0.5, x)
    np.testing.assert_allclose(H.numpy(), a + a.T, atol=1e-10)


def test_gradcheck_reports_a_wrong_gradient() -> None:
    class BadSquare(sg.autograd.Function):
        def forward(self, a):
            self.save_for_backward(a)
            return a * a

        def backward(self, g):
            (a,) = self.saved
            return g * a  # wrong: should be 2 * g * a

    x = sg.tensor([1.0, 2.0], dtype=sg.float64, requires_grad=True)
    with pytest.raises(sg.autograd.GradcheckError, match="input 0"):
        sg.autograd.gradcheck(lambda t: sg.Tensor._apply(BadSquare, t), [x])


def test_zero_dim_gradients_accumulate() -> None:
    x = sg.tensor(0.5, requires_grad=True)
    (x * x).backward()
    assert x.grad.item() == 1.0 and isinstance(x.grad._data, np.ndarray)
    loss = (x * 3).sum()
    (loss + loss + loss).backward()
    assert x.grad.item() == 10.0


def test_a_primitive_runs_on_arrays_alone_and_through_apply() -> None:
    from softgrad.ops.elementwise import Mul

    a, b, g = np.array([1.0, 2.0]), np.array([3.0, -4.0]), np.array([0.5, 2.0])
    fn = Mul()
    np.testing.assert_array_equal(fn.forward(a, b), a * b)
    fn.needs_input_grad = (True, True)  # what the engine sets when it records the node
    ga, gb = fn.backward(g)
    np.testing.assert_array_equal(ga, g * b)
    np.testing.assert_array_equal(gb, g * a)
    x, y = sg.tensor(a, requires_grad=True), sg.tensor(b)
    out = Mul.apply(x, y)
    assert type(out.grad_fn) is Mul and out.grad_fn.needs_input_grad == (True, False)
    out.backward(sg.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), g * b)
    with pytest.raises(TypeError, match="Mul.apply expects Tensors"):
        Mul.apply(a, b)


def test_backward_with_inputs_accumulates_in_place_like_backward() -> None:
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = sg.tensor([3.0, 4.0], requires_grad=True)
    (x * y).sum().backward(inputs=[x])
    first = x.grad
    (x * y).sum().backward(inputs=[x])
    assert x.grad is first and y.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 8.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * y).sum().backward(inputs=[sg.tensor([1.0, 2.0])])
