"""``TensorBase``: the state every Tensor holds, shared by the method mixins.

``Tensor`` (``core.py``) is assembled from mixins that each hold the methods of one concept
(``arithmetic.py``, ``reduce.py``, ...). The mixins sit below ``core.py`` and never import
it: they reach the class through ``self`` (``self._wrap``, ``self._apply``), and test
"is a tensor" with ``isinstance(x, TensorBase)``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from softgrad.engine.function import count_inplace_change

if TYPE_CHECKING:
    from softgrad.engine.function import Function
    from softgrad.tensor.core import Tensor


class TensorBase:
    """An array plus its autograd bookkeeping: the slots and the in-place version counter (the
    methods live in the mixins).

    Attributes:
        _data: the values (a NumPy or CuPy array).
        grad: the accumulated gradient (a Tensor) or None.
        requires_grad: whether operations on this tensor are recorded.
        _ctx: the node (``Function``) that made this tensor, None for a leaf.
        _vc: ``[version, shared]``, the in-place version counter (shared with views), or None.
        _used: an input of a recorded op (in-place must not rebase it).
        _retains_grad: a non-leaf that keeps ``.grad`` (``retain_grad()``).
        _grad_hooks, _post_acc_hooks: hook tables, None until a hook is added (unset in a
            tensor made without ``_init``/``_wrap``, such as a copy.copy: read with getattr).
    """

    __slots__ = (
        "__weakref__",
        "_ctx",
        "_data",
        "_grad_hooks",
        "_post_acc_hooks",
        "_retains_grad",
        "_used",
        "_vc",
        "grad",
        "requires_grad",
    )

    _tracing = False  # True while an export trace hook is installed (core.set_trace_hook)

    # ------------------------------------------------------------------ version counter
    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has seen (shared by views)."""
        vc = self._vc
        return 0 if vc is None else vc[0]

    @_version.setter
    def _version(self, value: int) -> None:
        count_inplace_change()
        if self._vc is None:
            self._vc = [value, False]
        else:
            self._vc[0] = value

    def _counter(self) -> list:
        """The version counter cell, to share with a view (marks the memory as shared)."""
        if self._vc is None:
            self._vc = [0, True]
        self._vc[1] = True
        return self._vc

    if TYPE_CHECKING:
        _data: Any
        grad: Tensor | None
        requires_grad: bool
        _ctx: Function | None
        _vc: list | None
        _used: bool
        _retains_grad: bool
        _post_acc_hooks: dict | None
        _grad_hooks: dict | None

        def __getattr__(self, name: str) -> Any:
            """For the type checker only: a mixin's method may call another mixin's."""

        def __getitem__(self, key: Any) -> Tensor: ...

        def __le__(self, other: Any) -> Tensor: ...

        @staticmethod
        def _leaf(data: Any, requires_grad: bool = False) -> Tensor: ...

        @staticmethod
        def _wrap(data: Any, requires_grad: bool = False) -> Tensor: ...

        @staticmethod
        def _apply(fn_cls: type, *inputs: Any, **params: Any) -> Tensor: ...
