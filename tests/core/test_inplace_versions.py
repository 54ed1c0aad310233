"""In-place operations and autograd: PyTorch's version-counter semantics.

A leaf that requires grad refuses in-place changes while recording; a value that backward
needs and that was changed in place afterwards (directly, through a view, through
``detach()`` or through a ``state_dict`` entry) is detected at backward with a clear error.
Each scenario runs on softgrad and on PyTorch, which must agree on whether it raises.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
from tests.helpers.checks import needs_torch, torch


def _leaf(m, n: int = 4):
    return m.tensor(np.linspace(-1.0, 1.0, n), requires_grad=True)


# name -> (scenario(m) that ends with a backward, whether it must raise)
def _saved_input_direct(m):
    x, w = _leaf(m), m.tensor(np.arange(4.0))
    z = (x * w).sum()
    w.mul_(2)
    z.backward()


def _saved_input_via_slice(m):
    x, w = _leaf(m), m.tensor(np.arange(4.0))
    z = (x * w).sum()
    w[1:3].add_(1)
    z.backward()


def _saved_input_via_reshape(m):
    x, w = _leaf(m), m.tensor(np.arange(4.0))
    z = (x * w).sum()
    w.reshape(2, 2).mul_(3)
    z.backward()


def _saved_input_via_transpose(m):
    x = m.tensor(np.ones((2, 3)), requires_grad=True)
    w = m.tensor(np.arange(6.0).reshape(2, 3))
    z = (x * w).sum()
    w.T.mul_(3)
    z.backward()


def _saved_input_via_detach(m):
    x = _leaf(m)
    y = x * 2
    z = (y * y).sum()
    y.detach().mul_(3)
    z.backward()


def _saved_leaf_changed_in_no_grad(m):
    x = _leaf(m)
    z = (x * x).sum()
    with m.no_grad():
        x.add_(1)
    z.backward()


def _saved_output_changed(m):
    x = _leaf(m)
    y = x.exp()  # Exp's backward reads its output
    z = y.sum()
    with m.no_grad():
        y.mul_(2)
    z.backward()


def _sigmoid_output_changed_through_view(m):
    x = _leaf(m)
    y = x.sigmoid()
    z = y.sum()
    with m.no_grad():
        y[:2].zero_()
    z.backward()


def _unsaved_output_changed(m):
    x = _leaf(m)
    y = x * 2  # Mul saves its inputs, not its output
    z = y.sum()
    with m.no_grad():
        y.mul_(2)
    z.backward()


def _unused_input_changed(m):
    x, w = _leaf(m), m.tensor(np.arange(4.0))
    z = (x + w).sum()  # Add saves nothing
    w.mul_(2)
    z.backward()


def _changed_before_use(m):
    x, w = _leaf(m), m.tensor(np.arange(4.0))
    w.mul_(2)
    z = (x * w).sum()
    z.backward()


SCENARIOS: dict[str, tuple[Callable, bool]] = {
    "saved_input_direct": (_saved_input_direct, True),
    "saved_input_via_slice": (_saved_input_via_slice, True),
    "saved_input_via_reshape": (_saved_input_via_reshape, True),
    "saved_input_via_transpose": (_saved_input_via_transpose, True),
    "saved_input_via_detach": (_saved_input_via_detach, True),
    "saved_leaf_changed_in_no_grad": (_saved_leaf_changed_in_no_grad, True),
    "saved_output_changed": (_saved_output_changed, True),
    "sigmoid_output_changed_through_view": (_sigmoid_output_changed_through_view, True),
    "unsaved_output_changed": (_unsaved_output_changed, False),
    "unused_input_changed": (_unused_input_changed, False),
    "changed_before_use": (_changed_before_use, False),
}


def _raises(fn: Callable, m) -> str | None:
    try:
        fn(m)
    except RuntimeError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_modified_saved_value_is_detected_at_backward(name: str) -> None:
    fn, must_raise = SCENARIOS[name]
    msg = _raises(fn, sg)
    if must_raise:
        assert msg is not None, f"{name}: the in-place change went unnoticed"
        assert "modified by an in-place operation" in msg and "version" in msg, msg
    else:
        assert msg is None, f"{name}: unexpected error {msg}"


@needs_torch
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_agree_with_torch(name: str) -> None:
    fn, must_raise = SCENARIOS[name]
    assert (_raises(fn, torch) is not None) == must_raise


@pytest.mark.parametrize("op", [
    lambda t: t.add_(1), lambda t: t.sub_(1), lambda t: t.mul_(2), lambda t: t.div_(2),
    lambda t: t.pow_(2), lambda t: t.zero_(), lambda t: t.fill_(3.0),
    lambda t: t.copy_(sg.ones(4)), lambda t: t.clamp_(0, 1), lambda t: t.__iadd__(1),
    lambda t: t.__imul__(2), lambda t: t.__setitem__(0, 5.0),
    lambda t: t.masked_fill_(sg.tensor([True, False, True, False]), 0.0),
], ids=["add_", "sub_", "mul_", "div_", "pow_", "zero_", "fill_", "copy_", "clamp_", "iadd",
        "imul", "setitem", "masked_fill_"])
def test_leaf_requiring_grad_refuses_inplace(op: Callable) -> None:
    x = _leaf(sg)
    before = x.detach().numpy().copy()
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        op(x)
    np.testing.assert_array_equal(x.detach().numpy(), before)  # nothing was written
    with sg.no_grad():  # the optimizer pattern: allowed without recording
        op(x)
    assert x._version >= 1


def test_view_of_leaf_refuses_inplace() -> None:
    x = _leaf(sg)
    with pytest.raises(RuntimeError, match="in-place"):
        x[1:].add_(1)


def test_version_counter_is_shared_by_views_detach_and_state_dict() -> None:
    x = sg.zeros(2, 3)
    views = [x[0], x[:, 1:], x.reshape(3, 2), x.T, x.view(-1), x.detach(), x.unsqueeze(0),
             x.transpose(0, 1), x.flatten()]
    for i, v in enumerate(views):
        before = x._version
        v.add_(1)
        assert x._version == before + 1 and v._version == x._version, f"view {i}"
    copies = [x + 0, x[[0, 1]], x.clone() if hasattr(x, "clone") else x * 1]
    for c in copies:
        before = x._version
        c.add_(1)
        assert x._version == before, "a copy must not share the counter"
    lin = nn.Linear(2, 2)
    sd = lin.state_dict()
    v0 = lin.weight._version
    sd["weight"].mul_(2)
    assert lin.weight._version == v0 + 1


def test_optimizer_step_between_forward_and_backward_is_detected() -> None:
    lin = nn.Linear(3, 2)
    opt = sg.optim.SGD(lin.parameters(), lr=0.1)
    x = sg.randn(4, 3, requires_grad=True)
    loss = lin(x).pow(2).sum()
    (lin(x).sum()).backward()
    opt.step()  # weight changed in place after ``loss`` saved it
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


# ------------------------------------------------------------------ recorded in-place ops
def _graph_case(m, which: str):
    x = m.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    w = m.tensor(np.arange(6.0).reshape(2, 3) / 5, requires_grad=True)
    if which == "residual":
        out = x * w
        out += x  # ResNet's ``out += identity``
        out.relu_()
        loss = (out * out).sum()
    elif which == "accumulate":
        acc = m.zeros((), dtype=m.float64)
        for i in range(3):
            acc += (x * i).sum()
        loss = acc * w.sum()
    elif which == "buffer_gets_grad":
        buf = m.zeros(2, 3, dtype=m.float64)
        buf += x * w
        buf.sigmoid_()
        loss = buf.sum()
    elif which == "mul_":
        y = x * 1.5
        y.mul_(w)
        loss = y.sum()
    elif which == "masked_fill_":
        y = x * w
        y.masked_fill_(y > 0.2, -3.0)
        loss = (y * y).sum()
    elif which == "fill_":
        y = x * 2
        y.fill_(3.0)
        loss = (y * w).sum()
    elif which == "copy_":
        y = x * 2
        y.copy_(w * 3)
        loss = (y * y).sum()
    elif which == "clamp_exp_":
        y = x * 3
        y.clamp_(-1, 1)
        y.exp_()
        loss = y.sum()
    else:  # "arith"
        y = x + 0
        y.sub_(w, alpha=2)
        y /= 3
        y **= 2
        loss = y.sum()
    loss.backward()
    grads = [None if t.grad is None else t.grad.detach().numpy() for t in (x, w)]
    return loss.item(), grads


GRAPH_CASES = ["residual", "accumulate", "buffer_gets_grad", "mul_", "masked_fill_", "fill_",
               "copy_", "clamp_exp_", "arith"]


@needs_torch
@pytest.mark.parametrize("which", GRAPH_CASES)
def test_inplace_on_non_leaf_is_recorded_like_torch(which: str) -> None:
    ours, theirs = _graph_case(sg, which), _graph_case(torch, which)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-9)
    for a, b in zip(ours[1], theirs[1]):
        if a is None or b is None:
            assert (a is None or np.allclose(a, 0)) and (b is None or np.allclose(b, 0))
        else:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_rebased_tensor_keeps_identity_memory_and_dtype() -> None:
    x = sg.randn(3, requires_grad=True)
    y = x * 2
    same = y
    y += sg.ones(3, dtype=sg.float64)  # float32 stays float32
    assert y is same and y.dtype == sg.float32 and y.grad_fn is not None
    assert y._version == 1


@pytest.mark.parametrize("setup", ["used", "viewed", "detached", "is_view"])
def test_inplace_on_non_leaf_refuses_when_old_value_could_be_needed(setup: str) -> None:
    x = sg.randn(4, requires_grad=True)
    y = x * 2
    if setup == "used":
        _ = y.exp()
    elif setup == "viewed":
        _ = y[1:]
    elif setup == "detached":
        _ = y.detach()
    else:
        y = y[1:]  # a view of an intermediate (the slicing op used it)
    with pytest.raises(RuntimeError, match="in-place"):
        y.add_(1)


def test_residual_block_module_matches_torch() -> None:
    if torch is None:
        pytest.skip("torch is not installed")

    def block(m):
        class Block(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1, self.fc2 = m.nn.Linear(4, 4), m.nn.Linear(4, 4)
                self.act = m.nn.ReLU(inplace=True)

            def forward(self, x):
                identity = x
                out = self.act(self.fc1(x))
                out = self.fc2(out)
                out += identity
                return self.act(out)
        return Block()

    ours, theirs = block(sg).double(), block(torch)
    ours.load_state_dict({k: sg.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    xs = np.random.default_rng(0).standard_normal((5, 4))
    so, to = ours(sg.tensor(xs, requires_grad=True)), theirs(torch.tensor(xs, requires_grad=True))
    np.testing.assert_allclose(so.detach().numpy(), to.detach().numpy(), rtol=1e-10)
    so.sum().backward()
    to.sum().backward()
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, err_msg=name)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu", "celu", "silu", "mish",
                                  "hardtanh", "hardswish", "hardsigmoid"])
def test_functional_inplace_activation_writes_into_a_fresh_graph_tensor(name: str) -> None:
    fn = getattr(sg.nn.functional, name)
    x = sg.tensor(np.linspace(-2, 2, 7), requires_grad=True)
    h = x * 1.5
    out = fn(h, inplace=True)
    assert out is h and out.grad_fn is not None  # PyTorch's identity: the input is the output
    (out * out).sum().backward()
    ref_x = sg.tensor(np.linspace(-2, 2, 7), requires_grad=True)
    ref = fn(ref_x * 1.5)
    (ref * ref).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ref_x.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)


def test_functional_inplace_falls_back_out_of_place_when_input_is_still_needed() -> None:
    x = sg.tensor([-1.0, 2.0], requires_grad=True)
    h = x * 3
    kept = h * h  # needs the old h
    out = sg.nn.functional.relu(h, inplace=True)
    assert out is not h and h.tolist() == [-3.0, 6.0]
    (out.sum() + kept.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0 + 18 * -1.0, 3 + 18 * 2.0])


def _setitem_case(m, which: str):
    x = m.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    v = m.tensor(np.array([0.5, -0.25, 2.0, 1.0]), requires_grad=True)
    s = x * 2
    if which == "mask":
        s[s > 0.5] = -1e9  # masking scores before a softmax
    elif which == "row":
        s[1] = v
    elif which == "slice_broadcast":
        s[:, 1:3] = v[:2]
    elif which == "int_arrays":
        s[[0, 2], [1, 3]] = v[:2] * 3
    else:  # "element"
        s[0, 0] = v[3]
    out = (s.softmax(1) * m.arange(4.0)).sum()
    out.backward()
    return out.item(), x.grad.numpy(), v.grad


@needs_torch
@pytest.mark.parametrize("which", ["mask", "row", "slice_broadcast", "int_arrays", "element"])
def test_setitem_on_a_graph_tensor_is_recorded_like_torch(which: str) -> None:
    ours, theirs = _setitem_case(sg, which), _setitem_case(torch, which)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-9)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-12)
    assert (ours[2] is None) == (theirs[2] is None)
    if ours[2] is not None:
        np.testing.assert_allclose(ours[2].numpy(), theirs[2].numpy(), rtol=1e-9, atol=1e-12)
