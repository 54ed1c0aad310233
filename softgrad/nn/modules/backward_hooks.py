"""Module backward hooks: ``register_full_backward_hook`` and ``..._pre_hook``.

As in PyTorch, a module with backward hooks passes its tensor inputs and outputs through
identity functions. The one on the outputs sees ``grad_output`` first (pre-hooks may replace
it); the one on the inputs then sees ``grad_input`` and calls
``hook(module, grad_input, grad_output)``, whose non-None result replaces ``grad_input``.
"""
from __future__ import annotations

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


class _OutputHook(Function):
    @staticmethod
    def forward(ctx: Any, state: _HookState, *tensors: Tensor) -> tuple:
        ctx.state = state
        return tuple(t.detach() for t in tensors)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple:
        return (None, *ctx.state.on_grad_output(grads))


class _InputHook(Function):
    @staticmethod
    def forward(ctx: Any, state: _HookState, *tensors: Tensor) -> tuple:
        ctx.state = state
        return tuple(t.detach() for t in tensors)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple:
        return (None, *ctx.state.on_grad_input(grads))


def hook_inputs(module: Any, args: tuple) -> tuple:
    """The shared state of this call, and ``args`` with the tensors that need grad routed
    through the input hook node."""
    slots = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    state = _HookState(module, len(slots))
    if not slots:
        return state, args
    wrapped = _InputHook.apply(state, *(args[i] for i in slots))
    new = list(args)
    for i, t in zip(slots, wrapped):
        new[i] = t
    return state, tuple(new)


def hook_outputs(state: _HookState, out: Any) -> Any:
    """``out`` (a Tensor or a tuple) with the tensors that need grad routed through the
    output hook node."""
    single = isinstance(out, Tensor)
    outs = (out,) if single else out if isinstance(out, tuple) else None
    if outs is None:
        return out
    idx = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not idx:
        return out
    hooked = _OutputHook.apply(state, *(outs[i] for i in idx))
    result = list(outs)
    for i, t in zip(idx, hooked):
        result[i] = t
    return result[0] if single else tuple(result)
