"""Reverse-mode engine: dependency counting, a gradient dict, one unbroadcast per edge.

The backward pass visits the graph's tensors, outputs first: a tensor is visited once every
op that uses it has sent back its share (PyTorch's engine counts dependencies the same
way). Each tensor's gradient is the sum of what the nodes using it sent back; the tensor's
own node (``_ctx``, the ``Function`` that made it) turns that gradient into one gradient per
input (its vector-Jacobian product), which the engine reduces to the input's shape and adds
to the input's slot. Leaves add their gradient into ``.grad``.

Gradients flow as raw arrays (the fast path) or, with ``create_graph=True``, as Tensors whose
own graph can be differentiated again. The first gradient reaching a tensor is kept as it
is; later ones are added to it, in place once the engine alone owns the buffer.

The engine never imports ``Tensor``: the caller passes ``xp``, the NumPy-named namespace over
Tensors (``softgrad.tensor.graph_xp``), which wraps arrays as Tensors (``xp.const``) and is
what a recorded backward computes with.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from softgrad.backend import np, unbroadcast
from softgrad.engine import function, grad_mode
from softgrad.engine.function import Function

_np_generic, _np_asarray, _ndarray = np.generic, np.asarray, np.ndarray

# Callbacks queued (by hooks) during a backward pass, run once it has finished.
_final_callbacks: list[Callable[[], None]] = []


def queue_callback(callback: Callable[[], None]) -> None:
    """Run ``callback()`` when the backward pass now running has finished (from a hook)."""
    _final_callbacks.append(callback)


def toposort(roots: Sequence[Any]) -> list:
    """Nodes reachable from ``roots`` through ``_ctx``, inputs before the nodes that use them."""
    order: list = []
    seen: set[int] = set()
    stack = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        ctx = node._ctx
        if ctx is not None:
            stack.extend((p, False) for p in ctx.parents if p.requires_grad)
    return order


def run_backward(roots: Sequence[Any], seeds: Sequence[Any], xp: Any, *,
                 retain_graph: bool = False, create_graph: bool = False,
                 inputs: Sequence[Any] | None = None,
                 capture: Sequence[Any] | None = None) -> dict[int, Any]:
    """Backpropagate ``seeds`` from ``roots``, then run the callbacks that hooks queued.

    Args:
        roots: output Tensors.
        seeds: their gradients (arrays, or Tensors when ``create_graph``).
        xp: the namespace over Tensors (see the module docstring).
        retain_graph: keep the saved values so the graph can be walked again.
        create_graph: record the backward pass itself (higher-order gradients).
        inputs: accumulate into the ``.grad`` of these tensors only (default: every leaf
            that requires grad, and the non-leaves that ``retain_grad``).
        capture: return the gradients of these tensors and accumulate nothing
            (``autograd.grad``).
    Returns:
        ``{id(tensor): gradient}`` for the tensors in ``capture``.
    """
    mark = len(_final_callbacks)
    try:
        captured = _backward(roots, seeds, xp, retain_graph, create_graph, inputs, capture)
    except BaseException:
        del _final_callbacks[mark:]
        raise
    while len(_final_callbacks) > mark:
        _final_callbacks.pop(mark)()
    return captured


def dependencies(roots: Sequence[Any]) -> dict[int, int]:
    """``{id(tensor): uses}``: how many recorded ops in the graph of ``roots`` take each
    tensor that requires grad as an input (a tensor used twice by one op counts twice);
    the roots are in it too (0 where no op of the graph uses them)."""
    uses = {id(r): 0 for r in roots}  # a root is expanded once, from the start
    stack = list({id(r): r for r in roots}.values())
    while stack:
        ctx = stack.pop()._ctx
        if ctx is None:
            continue
        for p in ctx.parents:
            if p.requires_grad:
                key = id(p)
                n = uses.get(key)
                if n is None:  # first seen: expand it too
                    uses[key] = 1
                    stack.append(p)
                else:
                    uses[key] = n + 1
    return uses


def _backward(roots: Sequence[Any], seeds: Sequence[Any], xp: Any, retain_graph: bool,
              create_graph: bool, inputs: Sequence[Any] | None,
              capture: Sequence[Any] | None) -> dict[int, Any]:
    """Visit each tensor once every op that uses it has sent its gradient (a tensor is
    *ready* when its count of ``dependencies`` falls to zero), outputs first."""
    grads: dict[int, Any] = {}  # id(tensor) -> the sum of the gradients it has received
    owned: dict[int, bool] = {}  # id(tensor) -> that sum's buffer is the engine's alone
    for root, seed in zip(roots, seeds):
        _add(grads, owned, root, seed, False, create_graph)
    targets = None if inputs is None else {id(t) for t in inputs}
    capture_ids = None if capture is None else {id(t) for t in capture}
    captured: dict[int, Any] = {}
    pending = dependencies(roots)
    ready = [r for r in {id(r): r for r in roots}.values() if not pending[id(r)]]
    with grad_mode.set_grad_enabled(create_graph):
        while ready:
            node = ready.pop()
            ctx = node._ctx
            key = id(node)
            g = grads.pop(key, None)
            if g is None:  # nothing that needs a gradient depends on this tensor
                if ctx is not None:
                    _count_down(ctx, pending, ready)
                continue
            own = owned.pop(key)
            if getattr(node, "_grad_hooks", None):
                g, own = _run_tensor_hooks(node, g, own, create_graph, xp)
            if capture_ids is not None:  # autograd.grad: return, do not accumulate
                if key in capture_ids:
                    captured[key] = g
            elif targets is not None:  # backward(inputs=...): into those tensors only
                if key in targets:
                    _accumulate(node, g, own and ctx is None, create_graph, xp)
            elif node.requires_grad and (ctx is None or node._retains_grad):
                _accumulate(node, g, own and ctx is None, create_graph, xp)
            if ctx is not None:
                _send_to_inputs(ctx, g, grads, owned, create_graph, xp)
                _count_down(ctx, pending, ready)
                if not retain_graph:
                    ctx.release()
    return captured


def _count_down(ctx: Function, pending: dict[int, int], ready: list) -> None:
    """``ctx`` has sent its inputs their gradients: an input that no other op still owes a
    gradient is ready."""
    for p in ctx.parents:
        key = id(p)
        n = pending.get(key, 0)  # 0 also for an input that needs no gradient
        if n:
            pending[key] = n - 1
            if n == 1:
                ready.append(p)


def _send_to_inputs(ctx: Function, g: Any, grads: dict, owned: dict, create_graph: bool,
                    xp: Any) -> None:
    """Run ``ctx``'s vector-Jacobian product on ``g`` and add each input's share to its slot,
    reduced to the input's shape and cast to its dtype."""
    if ctx._freed:
        raise RuntimeError(
            "Trying to backward through the graph a second time (or directly access saved "
            "tensors after they have already been freed). Saved intermediate values of the "
            "graph are freed when you call .backward() or autograd.grad(). Specify "
            "retain_graph=True if you need to backward a second time.")
    if ctx._versions is not None and ctx._changes != function.inplace_changes:
        ctx.check_versions()  # it saved inputs, and some tensor changed in place since
    if create_graph:
        _send_recorded(ctx, g, grads, owned, xp)
        return
    pgs = ctx.backward(g)
    if pgs.__class__ is not tuple:
        pgs = (pgs,)
    sent: list[int] = []  # arrays already sent to an input: not the engine's to add into
    for parent, need, pg in zip(ctx.parents, ctx.needs_input_grad, pgs):
        if pg is None or not need:
            continue
        data = parent._data
        if pg.__class__ is not _ndarray and isinstance(pg, _np_generic):
            pg = _np_asarray(pg)  # a NumPy scalar (from 0-d arithmetic): make it an array
        if pg.shape != data.shape:
            pg = unbroadcast(pg, data.shape)
        if pg.dtype != data.dtype:
            pg = pg.astype(data.dtype)
        key = id(pg)
        fresh = pg is not g and pg.base is None and key not in sent
        sent.append(key)
        key = id(parent)
        if key in grads:
            _add(grads, owned, parent, pg, fresh, False)
        else:
            grads[key], owned[key] = pg, fresh


def _send_recorded(ctx: Function, g: Any, grads: dict, owned: dict, xp: Any) -> None:
    """``_send_to_inputs`` with ``create_graph``: the gradients are Tensors, recorded."""
    pgs = _recorded_backward(ctx, g, xp)
    if pgs.__class__ is not tuple:
        pgs = (pgs,)
    for parent, need, pg in zip(ctx.parents, ctx.needs_input_grad, pgs):
        if pg is None or not need:
            continue
        shape = parent._data.shape
        if pg.shape != shape:
            pg = unbroadcast(pg, shape)
        _add(grads, owned, parent, pg, False, True)


def _recorded_backward(ctx: Function, g: Any, xp: Any) -> Any:
    """``ctx``'s backward run on Tensors, so that it is itself recorded (``create_graph``):
    ``ctx.xp`` is the Tensor namespace and ``ctx.saved`` gives Tensors while it runs.
    ``_backward_graph`` is ``backward`` unless the primitive names a recorded variant."""
    array_xp = ctx.xp
    ctx._graph, ctx.xp = True, xp
    try:
        return ctx._backward_graph(_as_tensor(g, xp))
    finally:
        ctx._graph, ctx.xp = False, array_xp


def _add(grads: dict, owned: dict, node: Any, g: Any, fresh: bool, create_graph: bool) -> None:
    """Sum ``g`` into the gradient slot of ``node`` (``fresh``: nothing else holds ``g``)."""
    key = id(node)
    cur = grads.get(key)
    if cur is None:
        grads[key], owned[key] = g, fresh
    elif create_graph:
        grads[key] = cur + g
    elif owned[key]:
        cur += g
    else:
        new = cur + g
        grads[key] = _np_asarray(new) if isinstance(new, _np_generic) else new
        owned[key] = True


def _accumulate(tensor: Any, g: Any, own: bool, create_graph: bool, xp: Any) -> None:
    """Add ``g`` into ``tensor.grad`` (taking the buffer when ``own``: nothing else can see
    it), then, for a leaf, call its post-accumulate-grad hooks."""
    if create_graph:
        gt = _as_tensor(g, xp)
        tensor.grad = gt if tensor.grad is None else tensor.grad + gt
    else:
        if hasattr(g, "_ctx"):
            g = g._data
        if isinstance(g, _np_generic):
            g, own = _np_asarray(g), True
        if tensor.grad is None:
            tensor.grad = xp.const(g if own else g.copy())
        else:
            tensor.grad._data += g
    hooks = getattr(tensor, "_post_acc_hooks", None) if tensor._ctx is None else None
    if hooks:
        for hook in list(hooks.values()):
            hook(tensor)


def _run_tensor_hooks(node: Any, g: Any, own: bool, create_graph: bool, xp: Any) -> tuple:
    """Call ``Tensor.register_hook`` hooks on the gradient; a hook may return a replacement."""
    for hook in list(node._grad_hooks.values()):
        new = hook(_as_tensor(g, xp))
        if new is not None:
            g = new if create_graph else new._data
            own = False
    return g, own


def _as_tensor(g: Any, xp: Any) -> Any:
    return g if hasattr(g, "_ctx") else xp.const(g)
