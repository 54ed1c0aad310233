"""``Function``: one primitive = forward and its vector-Jacobian product, side by side.

A Function works on raw arrays. ``forward(*arrays, **params)`` returns one array;
``backward(g)`` returns one gradient per input, by position (``None`` where an input gets
none). The same ``backward`` code also serves higher-order gradients: with
``create_graph=True`` the engine runs it on Tensors, with ``self.xp`` switched to a
Tensor namespace and ``self.saved`` mapped to the saved inputs/output as Tensors. So a
backward uses only what arrays and Tensors share: arithmetic operators, ``@``,
``.sum(axis=, keepdims=)``, ``.reshape``, ``.swapaxes``, ``.mT`` and ``self.xp.<ufunc>``.
"""
from __future__ import annotations

import functools
import inspect
import weakref
from typing import Any, Callable

from softgrad import backend
from softgrad.autograd import grad_mode
from softgrad.autograd.node_names import node_name


class Function:
    """Base class of every differentiable primitive.

    Attributes set by the engine: ``parents`` (input Tensors), ``needs_input_grad``
    (bool per input), ``xp`` (array module of the inputs' device).
    """

    __slots__ = ("parents", "needs_input_grad", "xp", "_saved", "_versions", "_out", "_graph",
                 "_freed", "_out_version", "_next", "__dict__")

    differentiable_saved_only = True
    _ctx_style = False  # forward/backward are static methods taking ctx (PyTorch's style)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._ctx_style = isinstance(inspect.getattr_static(cls, "forward"), staticmethod)

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run the function on ``args`` (Tensors) and record it for backward.

        A primitive (methods on raw arrays) runs through ``Tensor._apply``; a subclass written
        PyTorch's way (static ``forward(ctx, ...)`` and ``backward(ctx, ...)`` on Tensors) runs
        its forward without recording and becomes one node whose backward calls yours.
        """
        if cls._ctx_style:
            from softgrad.autograd.custom_function import apply_custom

            return apply_custom(cls, args, kwargs)
        from softgrad.tensor import Tensor

        return Tensor._apply(cls, *args, **kwargs)

    def __init__(self) -> None:
        self.xp = backend.np
        self._saved = ()
        self._versions = None
        self._out = None
        self._out_version = None
        self._graph = False
        self._freed = False
        self._next: tuple | None = None

    # ------------------------------------------------------------------ interface
    def forward(self, *args: Any, **params: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, g: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    @staticmethod
    def vjp(ctx: Any, *grad_outputs: Any) -> Any:  # pragma: no cover - abstract
        """PyTorch's other name for a custom Function's ``backward``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ saving
    def save_for_backward(self, *arrays: Any) -> None:
        """Keep inputs and/or the output for backward (checked for in-place changes)."""
        self._saved = arrays
        self._versions = tuple(p._version for p in self.parents)

    @property
    def saved(self) -> tuple:
        """What ``save_for_backward`` kept: arrays, or Tensors when building a graph."""
        if self._freed:
            raise RuntimeError(
                f"Trying to backward through {type(self).__name__} a second time: its saved "
                "values were freed by the first backward. Pass retain_graph=True to the first "
                "backward() if you need to backward twice."
            )
        if not self._graph:
            return self._saved
        return tuple(self._as_tensor(a) for a in self._saved)

    def _as_tensor(self, array: Any) -> Any:
        for p in self.parents:
            if p._data is array:
                return p
        out = self._out() if self._out is not None else None
        if out is not None and out._data is array:
            return out
        if array is None or not hasattr(array, "shape"):
            return array
        raise RuntimeError(
            f"double backward through {type(self).__name__} is not supported: it saves an "
            "intermediate value rather than an input or its output"
        )

    def check_versions(self) -> None:
        """Raise if an input that backward needs was modified in place after forward."""
        if self._versions is None:
            return
        for i, (p, v) in enumerate(zip(self.parents, self._versions)):
            if p._version != v:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an in-place operation: input {i} of {type(self).__name__} (shape "
                    f"{tuple(p.shape)}) is at version {p._version}; expected version {v}"
                )
        if self._out_version is not None:
            out = self._out() if self._out is not None else None
            if out is not None and out._version != self._out_version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an in-place operation: output 0 of {type(self).__name__} (shape "
                    f"{tuple(out.shape)}) is at version {out._version}; expected version "
                    f"{self._out_version}"
                )

    def release(self) -> None:
        """Free what forward saved, and the links to the inputs, so the intermediate
        tensors of a graph die with the backward that consumed it (unless retain_graph)."""
        if not self._freed:  # the graph's shape outlives its values (``next_functions``)
            self._next = self._links()
        self._saved = ()
        self._freed = True
        self.parents = ()
        for k in list(self.__dict__):
            del self.__dict__[k]

    # ------------------------------------------------------------------ graph walking
    def name(self) -> str:
        """PyTorch's name for this node, e.g. ``"MulBackward0"`` (see ``node_names``)."""
        return node_name(self)

    @property
    def next_functions(self) -> tuple:
        """One ``(node, 0)`` per input, as PyTorch's ``grad_fn.next_functions``: the input's
        ``grad_fn``, an :class:`AccumulateGrad` for a leaf that requires grad, or ``None``.
        Still walkable after backward has freed the saved values."""
        links = self._next if self._freed else self._links()
        return tuple((n if n is None or isinstance(n, Function) else AccumulateGrad(n), 0)
                     for n in links or ())

    def _links(self) -> tuple:
        """Per input: its node, the tensor itself for a leaf that requires grad, or None."""
        return tuple(p._ctx if p._ctx is not None else p if p.requires_grad else None
                     for p in self.parents)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


class AccumulateGrad:
    """The node of a leaf tensor that requires grad: backward adds into ``variable.grad``.

    Two of them are equal when they stand for the same tensor.
    """

    __slots__ = ("variable",)
    next_functions: tuple = ()

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def bind_output(fn: Function, out: Any) -> None:
    """Let ``fn`` find its output Tensor (weakly) when building a higher-order graph."""
    fn._out = weakref.ref(out)


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
