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

import weakref
from typing import Any


from softgrad import backend



class Function:
    """Base class of every differentiable primitive.

    Attributes set by the engine: ``parents`` (input Tensors), ``needs_input_grad``
    (bool per input), ``xp`` (array module of the inputs' device).
    """

    __slots__ = ("parents", "needs_input_grad", "xp", "_saved", "_versions", "_out", "_graph",
                 "_freed", "_out_version", "__dict__")

    differentiable_saved_only = True

    def __init__(self) -> None:
        self.xp = backend.np
        self._saved = ()
        self._versions = None
        self._out = None
        self._out_version = None
        self._graph = False
        self._freed = False

    # ------------------------------------------------------------------ interface
    def forward(self, *args: Any, **params: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, g: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

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
        self._saved = ()
        self._freed = True
        self.parents = ()
        for k in list(self.__dict__):
            del self.__dict__[k]

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


def bind_output(fn: Function, out: Any) -> None:
    """Let ``fn`` find its output Tensor (weakly) when building a higher-order graph."""
    fn._out = weakref.ref(out)
