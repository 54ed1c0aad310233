"""Module backward hooks: ``register_full_backward_hook`` and ``..._pre_hook``.

As in PyTorch, a module with backward hooks passes its tensor inputs and outputs through
identity functions. The one on the outputs sees ``grad_output`` first (pre-hooks may replace
it); the one on the inputs then sees ``grad_input`` and calls
``hook(module, grad_input, grad_output)``, whose non-None result replaces ``grad_input``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from softgrad.autograd.function import Function
from softgrad.tensor import Tensor


class _HookState:
    """What the two identity nodes of one module call share."""

    def __init__(self, module: Any, n_inputs: int) -> None:
        self.module, self.n_inputs = module, n_inputs
        self.grad_output: tuple | None = None

    def on_grad_output(self, grads: tuple) -> tuple:
        for hook in list(self.module._backward_pre_hooks.values()):
            res = hook(self.module, grads)
            if res is not None:
                grads = tuple(res) if isinstance(res, (tuple, list)) else (res,)
        self.grad_output = grads
        if self.n_inputs == 0:  # no input needs grad: the hooks run now, with None inputs
            self.on_grad_input(())
        return grads

    def on_grad_input(self, grads: tuple) -> tuple:
        grad_input = grads if grads else (None,)
        for hook in list(self.module._backward_hooks.values()):
            res = hook(self.module, grad_input, self.grad_output)
            if res is not None:
                grad_input = tuple(res) if isinstance(res, (tuple, list)) else (res,)
        return grad_input if grads else grads


class _HookNode(Function):
    """Identity on the tensors; backward passes their gradients to ``on_grad`` (a
    ``_HookState`` method), which returns the gradients to propagate."""

    @staticmethod
    def forward(ctx: Any, on_grad: Callable[[tuple], tuple], *tensors: Tensor) -> tuple:
        ctx.on_grad = on_grad
        return tuple(t.detach() for t in tensors)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple:
        return (None, *ctx.on_grad(grads))


def _needing_grad(values: tuple) -> list[int]:
    return [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]


def _through_node(on_grad: Callable[[tuple], tuple], values: tuple) -> tuple:
    """``values`` with the tensors that need grad routed through one ``_HookNode``."""
    slots = _needing_grad(values)
    if not slots:
        return values
    routed = list(values)
    for i, t in zip(slots, _HookNode.apply(on_grad, *(values[i] for i in slots))):
        routed[i] = t
    return tuple(routed)


def hook_inputs(module: Any, args: tuple) -> tuple:
    """The shared state of this call, and ``args`` with the tensors that need grad routed
    through the input hook node."""
    state = _HookState(module, len(_needing_grad(args)))
    return state, _through_node(state.on_grad_input, args)


def hook_outputs(state: _HookState, out: Any) -> Any:
    """``out`` (a Tensor or a tuple) with the tensors that need grad routed through the
    output hook node."""
    if isinstance(out, Tensor):
        return _through_node(state.on_grad_output, (out,))[0]
    if isinstance(out, tuple):
        return _through_node(state.on_grad_output, out)
    return out
