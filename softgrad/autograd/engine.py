"""Reverse-mode engine: iterative topological sort, a gradient dict, one unbroadcast per edge.

Gradients flow as raw arrays (fast path) or, with ``create_graph=True``, as Tensors whose
own graph can be differentiated again. The first gradient reaching a node is kept as is;
later ones are added to it (in place once the engine owns the buffer).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from softgrad.autograd import grad_mode
from softgrad.backend import np as _np
from softgrad.backend import unbroadcast

_np_generic, _np_asarray, _ndarray = _np.generic, _np.asarray, _np.ndarray

# Filled in by softgrad.tensor: wraps arrays as Tensors and provides the Tensor namespace
# that Function.backward uses as ``xp`` while building a higher-order graph.
TENSOR_HOOKS: dict[str, Any] = {}

# Callbacks queued (by hooks) during a backward pass, run once it has finished.
_final_callbacks: list[Callable[[], None]] = []


class HookHandle:
    """Returned by ``register_*_hook``: ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict, hook: Callable) -> None:
        HookHandle._next_id += 1
        self._hooks, self.id = hooks, HookHandle._next_id
        hooks[self.id] = hook

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


def queue_callback(callback: Callable[[], None]) -> None:
    """Run ``callback()`` when the backward pass now running has finished (from a hook)."""
    _final_callbacks.append(callback)


def run_post_accumulate_hooks(leaf: Any) -> None:
    """Call the leaf's post-accumulate-grad hooks (after ``leaf.grad`` was updated)."""
    hooks = getattr(leaf, "_post_acc_hooks", None)
    if hooks:
        for hook in list(hooks.values()):
            hook(leaf)


def run_final_callbacks() -> None:
    """Run and clear the callbacks queued during the backward pass that just ended."""
    while _final_callbacks:
        _final_callbacks.pop(0)()


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


def run_backward(roots: Sequence[Any], seeds: Sequence[Any], retain_graph: bool = False,
                 create_graph: bool = False, capture: Iterable[Any] | None = None,
                 accumulate: bool = True) -> dict[int, Any]:
    """Backpropagate (see :func:`_run_backward`), then run the callbacks hooks queued."""
    mark = len(_final_callbacks)
    try:
        captured = _run_backward(roots, seeds, retain_graph, create_graph, capture, accumulate)
    except BaseException:
        del _final_callbacks[mark:]
        raise
    if accumulate:
        while len(_final_callbacks) > mark:
            _final_callbacks.pop(mark)()
    return captured


def _run_backward(
    roots: Sequence[Any],
    seeds: Sequence[Any],
    retain_graph: bool = False,
    create_graph: bool = False,
    capture: Iterable[Any] | None = None,
    accumulate: bool = True,
) -> dict[int, Any]:
    """Backpropagate ``seeds`` from ``roots``.

    Args:
        roots: output Tensors.
        seeds: their gradients (arrays, or Tensors when ``create_graph``).
        retain_graph: keep saved values so the graph can be walked again.
        create_graph: record the backward pass itself (higher-order gradients).
        capture: Tensors whose gradient should be returned rather than accumulated.
        accumulate: add into ``.grad`` of leaves (``backward``) or not (``autograd.grad``).
    Returns:
        ``{id(tensor): gradient}`` for the tensors in ``capture``.
    """
    capture_ids = {id(t) for t in capture} if capture is not None else set()
    captured: dict[int, Any] = {}
    grads: dict[int, Any] = {}
    fresh: dict[int, bool] = {}  # node id -> its gradient buffer is owned by the engine alone
    for r, s in zip(roots, seeds):
        _add(grads, fresh, r, s, False, create_graph)

    wrap = TENSOR_HOOKS.get("wrap")
    with grad_mode.set_grad_enabled(create_graph):
        for node in reversed(toposort(roots)):
            nid = id(node)
            g = grads.pop(nid, None)
            if g is None:
                continue
            own = fresh.pop(nid, False)
            hooks = getattr(node, "_grad_hooks", None)
            if hooks:
                g, own = _run_tensor_hooks(hooks, g, own, create_graph, wrap)
            if nid in capture_ids:
                captured[nid] = g
                own = False
            ctx = node._ctx
            if ctx is None or node._retains_grad:
                if accumulate and node.requires_grad:
                    _accumulate_leaf(node, g, own and ctx is None, create_graph, wrap)
                if ctx is None:
                    if accumulate:
                        run_post_accumulate_hooks(node)
                    continue
            if ctx._freed:
                raise RuntimeError(
                    "Trying to backward through the graph a second time (or directly access "
                    "saved tensors after they have already been freed). Saved intermediate "
                    "values of the graph are freed when you call .backward() or "
                    "autograd.grad(). Specify retain_graph=True if you need to backward a "
                    "second time."
                )
            ctx.check_versions()
            if create_graph:
                ctx._graph = True
                ctx.xp = TENSOR_HOOKS["namespace"]
                try:
                    pgs = ctx.backward(g if hasattr(g, "_ctx") else wrap(g))
                finally:
                    ctx._graph = False
                    ctx.xp = TENSOR_HOOKS["xp_of"](node._data)
            else:
                pgs = ctx.backward(g)
            if type(pgs) is not tuple:
                pgs = (pgs,)
            returned: set[int] = set()
            for parent, need, pg in zip(ctx.parents, ctx.needs_input_grad, pgs):
                if pg is None or not need:
                    continue
                pshape = parent._data.shape
                if pg.shape != pshape:
                    pg = unbroadcast(pg, pshape)
                if create_graph:
                    _add(grads, fresh, parent, pg, False, True)
                    continue
                if pg.__class__ is not _ndarray and isinstance(pg, _np_generic):
                    # a NumPy scalar (from 0-d arithmetic): make it an array we own
                    pg = _np_asarray(pg)
                if pg.dtype != parent._data.dtype:
                    pg = pg.astype(parent._data.dtype)
                is_fresh = pg is not g and pg.base is None and id(pg) not in returned
                returned.add(id(pg))
                _add(grads, fresh, parent, pg, is_fresh, False)
            if not retain_graph:
                ctx.release()
    return captured


def _run_tensor_hooks(hooks: dict, g: Any, own: bool, create_graph: bool,
                      wrap: Callable) -> tuple:
    """Call ``Tensor.register_hook`` hooks on the gradient; a hook may return a replacement."""
    for hook in list(hooks.values()):
        gt = g if hasattr(g, "_ctx") else wrap(g)
        new = hook(gt)
        if new is not None:
            g = new if create_graph else new._data
            own = False
    return g, own


def _add(grads: dict, fresh: dict, node: Any, g: Any, is_fresh: bool, create_graph: bool) -> None:
    """Sum ``g`` into the gradient slot of ``node``."""
    k = id(node)
    cur = grads.get(k)
    if cur is None:
        grads[k] = g
        fresh[k] = is_fresh
    elif create_graph:
        grads[k] = cur + g
    elif fresh[k]:
        cur += g
    else:
        new = cur + g
        grads[k] = _np_asarray(new) if isinstance(new, _np_generic) else new
        fresh[k] = True


def _accumulate_leaf(node: Any, g: Any, own: bool, create_graph: bool, wrap: Callable) -> None:
    """Add ``g`` into ``node.grad``, stealing the buffer when nothing else can see it."""
    if create_graph:
        gt = g if hasattr(g, "_ctx") else wrap(g)
        node.grad = gt if node.grad is None else node.grad + gt
        return
    if hasattr(g, "_ctx"):
        g = g._data
    if isinstance(g, _np_generic):
        g, own = _np_asarray(g), True
    if node.grad is None:
        node.grad = wrap(g if own else g.copy())
    else:
        node.grad._data += g
