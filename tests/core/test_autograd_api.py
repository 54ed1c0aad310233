"""The public autograd tools equal PyTorch's: autograd.grad (grad_outputs, create_graph,
allow_unused), backward(inputs=...), functional.jacobian / hessian / vjp, and gradcheck."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import needs_torch, torch

FUNCS = {
    "softmax": lambda m, x: (m.nn.functional.softmax(x, dim=0) if m is torch
                             else F.softmax(x, dim=0)),
    "tanh_sum_sq": lambda m, x: (x.tanh() ** 2).sum() * x,
    "prod_cumsum": lambda m, x: x.cumsum(0) * x.prod(),
    "log_softmax_mv": lambda m, x: (x.reshape(2, -1) @ x.reshape(-1, 2)).log_softmax(1).flatten(),
}
SCALAR = {
    "quartic": lambda m, x: (x ** 4).sum() + (x[0] * x[-1]),
    "logsumexp": lambda m, x: x.logsumexp(0) * x.norm(),
    "cross_entropy": lambda m, x: (m.nn.functional if m is torch else F).cross_entropy(
        x.reshape(2, -1), m.tensor([1, 0])),
}


def _x(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(4)


@needs_torch
@pytest.mark.parametrize("name", sorted(FUNCS))
def test_jacobian_matches_torch(name: str) -> None:
    f = FUNCS[name]
    ours = sg.autograd.functional.jacobian(lambda v: f(sg, v), sg.tensor(_x()))
    theirs = torch.autograd.functional.jacobian(lambda v: f(torch, v), torch.tensor(_x()))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("name", sorted(SCALAR))
def test_hessian_matches_torch(name: str) -> None:
    f = SCALAR[name]
    ours = sg.autograd.functional.hessian(lambda v: f(sg, v), sg.tensor(_x(1)))
    theirs = torch.autograd.functional.hessian(lambda v: f(torch, v), torch.tensor(_x(1)))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-8, atol=1e-10)


@needs_torch
def test_jacobian_of_several_inputs_and_vjp_match_torch() -> None:
    def f(m, a, b):
        return (a[:, None] * b[None, :]).tanh().sum(0)

    a, b = _x(2), _x(3)
    ours = sg.autograd.functional.jacobian(lambda p, q: f(sg, p, q), (sg.tensor(a), sg.tensor(b)))
    theirs = torch.autograd.functional.jacobian(lambda p, q: f(torch, p, q),
                                                (torch.tensor(a), torch.tensor(b)))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-9, atol=1e-12)
    v = _x(4)
    out_s, g_s = sg.autograd.functional.vjp(lambda p: f(sg, p, sg.tensor(b)), sg.tensor(a),
                                            sg.tensor(v))
    out_t, g_t = torch.autograd.functional.vjp(lambda p: f(torch, p, torch.tensor(b)),
                                               torch.tensor(a), torch.tensor(v))
    np.testing.assert_allclose(out_s.numpy(), out_t.numpy(), rtol=1e-12)
    np.testing.assert_allclose(g_s.numpy(), g_t.numpy(), rtol=1e-9, atol=1e-12)


@needs_torch
def test_grad_with_grad_outputs_create_graph_and_unused_inputs() -> None:
    def run(m):
        x = m.tensor(_x(5), requires_grad=True)
        w = m.tensor(_x(6), requires_grad=True)
        unused = m.tensor(_x(7), requires_grad=True)
        y = (x * w).sin() * x
        gx, gu = m.autograd.grad(y, [x, unused], grad_outputs=m.tensor(_x(8)),
                                 create_graph=True, allow_unused=True)
        assert gu is None
        z = (gx ** 2).sum()
        gw, = m.autograd.grad(z, [w])
        return gx.detach().numpy(), gw.numpy()

    for a, b in zip(run(sg), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@needs_torch
def test_backward_inputs_accumulates_only_there() -> None:
    def run(m):
        x = m.tensor(_x(9), requires_grad=True)
        w = m.tensor(_x(10), requires_grad=True)
        ((x * w).exp().sum()).backward(inputs=[w])
        return x.grad, w.grad.numpy()

    (sx, sw), (tx, tw) = run(sg), run(torch)
    assert sx is None and tx is None
    np.testing.assert_allclose(sw, tw, rtol=1e-12)


def test_public_gradcheck_accepts_right_and_rejects_wrong_gradients() -> None:
    x = sg.tensor(_x(11), requires_grad=True)
    assert sg.autograd.gradcheck(lambda v: (v.sigmoid() * v).sum(), (x,))

    class Wrong(sg.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            return v * v

        @staticmethod
        def backward(ctx, g):
            return g  # should be 2 * v * g

    try:
        ok = sg.autograd.gradcheck(lambda v: Wrong.apply(v), (x,), raise_exception=False)
    except (AttributeError, TypeError, NotImplementedError):
        # no custom-Function API: break a gradient by detaching half of the graph instead
        ok = sg.autograd.gradcheck(lambda v: v * v.detach(), (x,), raise_exception=False)
    assert ok is False
    with pytest.raises(Exception, match=r"input 0 \(shape \(4,\)\): at index \(\d,\) "
                                        r"analytical gradient .* vs numerical"):
        sg.autograd.gradcheck(lambda v: v * v.detach(), (x,))
