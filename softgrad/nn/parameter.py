"""``Parameter``: a leaf Tensor that a Module registers as trainable."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.tensor import Tensor, _array_from


class Parameter(Tensor):
    """A Tensor that is a module parameter: a leaf with ``requires_grad=True`` by default.

    Assigning a Parameter as an attribute of a :class:`Module` makes it appear in
    ``parameters()`` and ``state_dict()``. The data is shared with ``data`` (no copy).

    Args:
        data: a Tensor or array (default: an empty float32 tensor).
        requires_grad: whether the parameter is trained. Default: True.

    Example:
        >>> w = nn.Parameter(sg.randn(3, 4))
        >>> w.requires_grad, w.is_leaf
        (True, True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = backend.np.empty((0,), dtype=backend.DEFAULT_DTYPE)
        elif isinstance(data, Tensor):
            data = data._data
        elif not hasattr(data, "dtype"):
            data = _array_from(data, None)
        self._init(data, requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__


class Buffer(Tensor):
    """A Tensor marker: assigning ``nn.Buffer(t)`` to a Module attribute registers a buffer.

    Args:
        data: a Tensor or array.
        persistent: whether the buffer is part of ``state_dict``. Default: True.
    """

    __slots__ = ("persistent",)

    def __init__(self, data: Any, persistent: bool = True) -> None:
        if isinstance(data, Tensor):
            data = data._data
        elif not hasattr(data, "dtype"):
            data = _array_from(data, None)
        self._init(data, False)
        self.persistent = persistent
