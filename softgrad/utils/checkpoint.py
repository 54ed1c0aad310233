"""Activation checkpointing: trade compute for memory, as ``torch.utils.checkpoint``.

``checkpoint(fn, *args)`` runs ``fn`` without recording its graph, so none of its
intermediate tensors stay alive; during backward it runs ``fn`` again on the saved inputs
(with the random state of the first run, so dropout draws the same masks) and backpropagates
through that recomputed graph.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from softgrad import backend
from softgrad.autograd import grad_mode
from softgrad.autograd.api import backward as _backward
from softgrad.autograd.function import Function
from softgrad.tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Recompute(Function):
    """forward: ``fn(*args)`` unrecorded; backward: recompute with recording and backprop."""

    @staticmethod
    def forward(ctx: Any, fn: Callable, preserve_rng: bool, kwargs: dict, sentinel: Any,
                *args: Any) -> Any:
        ctx.fn, ctx.kwargs = fn, kwargs
        ctx.rng_state = backend.get_rng_state() if preserve_rng else None
        ctx.args = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        return fn(*args, **kwargs)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        saved = iter(ctx.saved_tensors)
        inputs = []
        for a in ctx.args:
            if a is None:
                t = next(saved)
                d = t.detach()
                d.requires_grad = t.requires_grad
                inputs.append(d)
            else:
                inputs.append(a)
        outer = backend.get_rng_state()
        if ctx.rng_state is not None:
            backend.set_rng_state(ctx.rng_state)
        try:
            with grad_mode.enable_grad():
                out = ctx.fn(*inputs, **ctx.kwargs)
        finally:
            backend.set_rng_state(outer)
        outs = out if isinstance(out, tuple) else (out,)
        pairs = [(o, g) for o, g in zip(outs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if pairs:
            _backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None, None, None,
                *(x.grad if isinstance(x, Tensor) and x.requires_grad else None
                  for x in inputs))


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None,
               context_fn: Callable | None = None, determinism_check: str = "default",
               debug: bool = False, preserve_rng_state: bool = True, **kwargs: Any) -> Any:
    """Run ``function(*args, **kwargs)`` keeping only its inputs for backward.

    Args:
        function: what to run (a Module, or any function of Tensors).
        use_reentrant: ``True`` or None (PyTorch's default): the result needs grad only when
            an input does. ``False``: gradients also reach the parameters ``function`` uses
            when no input needs grad.
        preserve_rng_state: replay the random state during recomputation. Default: True.
        context_fn, determinism_check, debug: accepted for compatibility; not used.
    Returns:
        What ``function`` returns.
    """
    if use_reentrant is not False and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if not grad_mode.is_grad_enabled():
        return function(*args, **kwargs)
    needs = any(isinstance(a, Tensor) and a.requires_grad for a in args)
    sentinel = None
    if use_reentrant is False:
        sentinel = Tensor._leaf(backend.np.zeros((), dtype=backend.DEFAULT_DTYPE), True)
    elif not needs:
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=2)
    return _Recompute.apply(function, preserve_rng_state, kwargs, sentinel, *args)


def checkpoint_sequential(functions: Any, segments: int, input: Any,
                          use_reentrant: bool | None = None, **kwargs: Any) -> Any:
    """Run a ``Sequential`` (or a list of modules) in ``segments`` checkpointed chunks; the
    last chunk runs normally."""
    fns: Sequence[Callable] = list(functions.children()) if hasattr(
        functions, "children") else list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be at least 1, got {segments}")
    size = max(1, len(fns) // segments)

    def run(start: int, end: int) -> Callable:
        def forward(x: Any) -> Any:
            for f in fns[start:end]:
                x = f(x)
            return x
        return forward

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end + 1), input, use_reentrant=use_reentrant,
                           **kwargs)
    return run(end + 1, len(fns))(input)
