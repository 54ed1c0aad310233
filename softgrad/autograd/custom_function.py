"""How ``Function.apply`` runs a user-defined function written PyTorch's way.

A subclass of :class:`~softgrad.autograd.function.Function` gives ``forward(ctx, *args)`` and
``backward(ctx, *grads)`` as static methods working on Tensors; ``MyFn.apply(*args)`` runs
forward without recording and puts one node in the graph whose backward calls yours.
(softgrad's own primitives subclass the same class but define ``forward``/``backward`` as
methods on raw arrays; ``apply`` runs those through ``Tensor._apply``.)

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

import weakref
from typing import Any, Callable

from softgrad import backend
from softgrad.autograd import function as _primitive
from softgrad.autograd import grad_mode


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
        from softgrad.tensor import Tensor

        graph = self._graph
        gt = g if isinstance(g, Tensor) else Tensor._wrap(g)
        graded = sum(1 for o in self.outputs if o[0] == "grad")
        grads_out = []
        for kind, *info in self.outputs:
            if kind == "grad":
                off, size, shape, dtype = info
                piece = gt if graded == 1 else gt[off:off + size].reshape(shape)
                grads_out.append(piece if piece.dtype == dtype else piece.to(dtype))
            elif kind == "zeros" and self.ctx.materialize_grads:
                grads_out.append(Tensor._wrap(self.xp.zeros(info[0], dtype=info[1])))
            else:
                grads_out.append(None)
        if self.ctx._saved is None:
            self.ctx.saved_tensors  # raises the freed-graph error
        with grad_mode.set_grad_enabled(graph):
            got = _user_backward(self.fn_cls)(self.ctx, *grads_out)
        got = got if isinstance(got, tuple) else (got,)
        name = self.name()
        if len(got) < self.n_args or any(v is not None for v in got[self.n_args:]):
            raise RuntimeError(f"function {name} returned an incorrect number of gradients "
                               f"(expected {self.n_args}, got {len(got)})")
        out = []
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


def _user_backward(cls: type) -> Callable:
    """The subclass's ``backward``, or its ``vjp`` (PyTorch accepts either, not both)."""
    base = _primitive.Function
    bw, vjp = cls.backward, cls.vjp
    if bw is not base.backward and vjp is not base.vjp and bw is not vjp:
        raise RuntimeError(f"Implementing both 'backward' and 'vjp' for a custom Function is "
                           f"not allowed; {cls.__name__} defines both")
    if vjp is not base.vjp:
        return vjp
    if bw is base.backward:
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD.")
    return bw


def apply_custom(cls: type, args: tuple, kwargs: dict) -> Any:
    from softgrad.tensor import Tensor

    ctx = _primitive.FunctionCtx()
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
    layout, offset = [], 0
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
    from softgrad.tensor import Tensor

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
        if k is _primitive.Function:
            return False
        if "setup_context" in k.__dict__:
            return True
    return False
