"""``sg.autograd.Function``: the class to subclass for a differentiable function of your own.

Written PyTorch's way, a subclass gives ``forward(ctx, *args)`` and ``backward(ctx, *grads)``
as static methods working on Tensors; ``MyFn.apply(*args)`` runs forward without recording
and puts one node in the graph whose backward calls yours. Written softgrad's way, like the
primitives of ``ops/`` (``forward``/``backward`` methods on raw arrays, see
``softgrad.engine.function``), ``MyFn.apply`` runs it through ``Tensor._apply``.

Example:
    >>> class Square(sg.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return 2 * x * grad
    >>> y = Square.apply(sg.tensor([3.0], requires_grad=True))
"""
from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable
from typing import Any

from softgrad import backend
from softgrad.engine import function as _primitive
from softgrad.engine import grad_mode
from softgrad.tensor.core import Tensor


class Function(_primitive.Function):
    """Subclass it to define a differentiable function (see the module docstring)."""

    _ctx_style = False  # forward/backward are static methods taking ctx (PyTorch's style)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._ctx_style = isinstance(inspect.getattr_static(cls, "forward"), staticmethod)

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run the function on ``args`` and record it for backward."""
        if cls._ctx_style:
            return apply_custom(cls, args, kwargs)
        return super().apply(*args, **kwargs)

    @staticmethod
    def vjp(ctx: Any, *grad_outputs: Any) -> Any:  # pragma: no cover - abstract
        """PyTorch's other name for a custom Function's ``backward``."""
        raise NotImplementedError


class BackwardNode(_primitive.Function):
    """The graph node of one ``apply``: holds the ctx and calls the user's backward."""

    def __init__(self, fn_cls: type, ctx: Any, slots: list[int], n_args: int,
                 outputs: list[tuple]) -> None:
        super().__init__()
        self.fn_cls, self.ctx, self.slots, self.n_args = fn_cls, ctx, slots, n_args
        # per forward output: ("grad", offset, size, shape, dtype) for a differentiable one
        # (its slice of the node's flat output), ("zeros", shape, dtype) for a tensor that
        # gets no gradient, ("none",) for anything else
        self.outputs = outputs

    def name(self) -> str:
        return f"{self.fn_cls.__name__}Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    def backward(self, g: Any) -> Any:
        graph = self._graph
        gt = g if isinstance(g, Tensor) else Tensor._wrap(g)
        graded = sum(1 for o in self.outputs if o[0] == "grad")
        grads_out: list[Tensor | None] = []
        for kind, *info in self.outputs:
            if kind == "grad":
                off, size, shape, dtype = info
                piece = gt if graded == 1 else gt[off:off + size].reshape(shape)
                grads_out.append(piece if piece.dtype == dtype else piece.to(dtype))
            elif kind == "zeros" and self.ctx.materialize_grads:
                xp = backend.xp_of(gt._data)  # self.xp is the Tensor namespace when recorded
                grads_out.append(Tensor._wrap(xp.zeros(info[0], dtype=info[1])))
            else:
                grads_out.append(None)
        if self.ctx._saved is None:
            _ = self.ctx.saved_tensors  # raises the freed-graph error
        with grad_mode.set_grad_enabled(graph):
            got = _user_backward(self.fn_cls)(self.ctx, *grads_out)
        got = got if isinstance(got, tuple) else (got,)
        name = self.name()
        if len(got) < self.n_args or any(v is not None for v in got[self.n_args:]):
            raise RuntimeError(f"function {name} returned an incorrect number of gradients "
                               f"(expected {self.n_args}, got {len(got)})")
        out: list[Any] = []
        for k, slot in enumerate(self.slots):
            v = got[slot]
            if v is None:
                out.append(None)
                continue
            if not isinstance(v, Tensor):
                raise TypeError(f"function {name} returned a {type(v).__name__} as gradient "
                                f"{slot}; expected a Tensor or None")
            want = self.parents[k].shape
            if tuple(v.shape) != tuple(want) and not _broadcastable(v.shape, want):
                raise RuntimeError(f"Function {name} returned an invalid gradient at index "
                                   f"{slot} - got {list(v.shape)} but expected shape "
                                   f"compatible with {list(want)}")
            out.append(v if graph else v._data)
        return tuple(out)

    def release(self) -> None:
        self.ctx._saved = None
        fn_cls = self.fn_cls
        super().release()
        self.fn_cls = fn_cls  # the node keeps its name


def _broadcastable(got: tuple, want: tuple) -> bool:
    if len(got) < len(want):
        return False
    lead = len(got) - len(want)
    return all(w == 1 or g == w for g, w in zip(got[lead:], want))


def _user_backward(cls: type[Function]) -> Callable:
    """The subclass's ``backward``, or its ``vjp`` (PyTorch accepts either, not both)."""
    bw, vjp = cls.backward, cls.vjp
    if bw is not _primitive.Function.backward and vjp is not Function.vjp and bw is not vjp:
        raise RuntimeError(f"Implementing both 'backward' and 'vjp' for a custom Function is "
                           f"not allowed; {cls.__name__} defines both")
    if vjp is not Function.vjp:
        return vjp
    if bw is _primitive.Function.backward:
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD.")
    return bw


def apply_custom(cls: Any, args: tuple, kwargs: dict) -> Any:
    ctx = FunctionCtx()
    slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    with grad_mode.no_grad():
        if _has_setup_context(cls):
            output = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, output)
        else:
            output = cls.forward(ctx, *args, **kwargs)
    record = grad_mode.is_grad_enabled() and any(ctx.needs_input_grad)
    if not record:
        return output
    outs = output if isinstance(output, tuple) else (output,)
    diff = [i for i, o in enumerate(outs)
            if isinstance(o, Tensor) and o._data.dtype.kind in "fc"
            and id(o) not in ctx._non_differentiable]
    if not diff:
        return output
    layout: list[tuple] = []
    offset = 0
    for o in outs:
        if isinstance(o, Tensor) and any(o is outs[i] for i in diff):
            layout.append(("grad", offset, o._data.size, o._data.shape, o._data.dtype))
            offset += o._data.size
        elif isinstance(o, Tensor):
            layout.append(("zeros", o._data.shape, o._data.dtype))
        else:
            layout.append(("none",))
    node = BackwardNode(cls, ctx, slots, len(args), layout)
    parents = tuple(args[i] for i in slots)
    if len(diff) == 1:
        result = _node_output(node, outs[diff[0]]._data, parents)
        if not isinstance(output, tuple):
            return result
        pieces = {diff[0]: result}
    else:
        arrays = [outs[i]._data for i in diff]
        xp = backend.xp_of(arrays[0])
        common = xp.result_type(*arrays)
        holder = _node_output(node, xp.concatenate(
            [a.reshape(-1).astype(common, copy=False) for a in arrays]), parents)
        pieces = {}
        for i in diff:
            _, off, size, shape, dtype = layout[i]
            piece = holder[off:off + size].reshape(shape)
            pieces[i] = piece if piece._data.dtype == dtype else piece.to(dtype)
    return tuple(pieces[i] if i in pieces else o.detach() if isinstance(o, Tensor) else o
                 for i, o in enumerate(outs))


def _node_output(node: BackwardNode, array: Any, parents: tuple) -> Any:
    node.parents = parents
    node.needs_input_grad = tuple(p.requires_grad for p in parents)
    node.xp = backend.xp_of(array)
    out = Tensor._wrap(array, True)
    out._ctx = node
    node._out = weakref.ref(out)
    for p in parents:
        p._used = True
    return out


def _has_setup_context(cls: type) -> bool:
    for k in cls.__mro__:
        if k is Function:
            return False
        if "setup_context" in k.__dict__:
            return True
    return False


class FunctionCtx:
    """The ``ctx`` a custom Function's forward and backward share."""

    def __init__(self) -> None:
        self._saved: tuple | None = ()
        self._versions: tuple = ()
        self._non_differentiable: set[int] = set()
        self._dirty: set[int] = set()
        self.materialize_grads = True
        self.needs_input_grad: tuple = ()

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors (or None) for backward; changing them in place later is an error."""
        self._saved = tensors
        self._versions = tuple(getattr(t, "_version", None) for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        """What ``save_for_backward`` kept."""
        if self._saved is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or "
                "if you need to access saved tensors after calling backward.")
        for i, (t, v) in enumerate(zip(self._saved, self._versions)):
            if v is not None and t._version != v:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by "
                    f"an in-place operation: saved tensor {i} (shape {tuple(t.shape)}) is at "
                    f"version {t._version}; expected version {v}")
        return self._saved

    saved_variables = saved_tensors

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """These outputs get no gradient (their backward gradient is zeros)."""
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors: Any) -> None:
        """These inputs were changed in place by forward (accepted for compatibility)."""
        self._dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """When False, outputs that received no gradient give None to backward, not zeros."""
        self.materialize_grads = bool(value)


def once_differentiable(fn: Callable) -> Callable:
    """Mark a custom Function's backward as not differentiable itself: it runs without
    recording, even under ``create_graph=True``."""
    @functools.wraps(fn)
    def wrapper(ctx: Any, *grads: Any) -> Any:
        with grad_mode.no_grad():
            return fn(ctx, *grads)

    return wrapper
