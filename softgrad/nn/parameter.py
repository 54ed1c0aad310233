"""``Parameter``: a leaf Tensor that a Module registers as trainable."""
from __future__ import annotations

from typing import Any

from softgrad import backend, dtypes
from softgrad.tensor.arrays import array_from
from softgrad.tensor.core import Tensor


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
            data = array_from(data, None)
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
            data = array_from(data, None)
        self._init(data, False)
        self.persistent = persistent


class UninitializedParameter(Parameter):
    """A Parameter whose shape is not known yet (lazy modules): empty until ``materialize``
    gives it a shape, which turns it into a plain :class:`Parameter` in place (so an
    optimizer built before the first forward keeps training it).
    """

    __slots__ = ()
    cls_to_become = Parameter
    _uninitialized = True

    def __init__(self, requires_grad: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        arr = backend.np.empty((0,), dtype=dtypes.to_np(dtype) or backend.DEFAULT_DTYPE)
        if device is not None and str(device) != "cpu":
            arr = backend.to_device(arr, str(device))
        super().__init__(arr, requires_grad=requires_grad)

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Allocate (uninitialised) data of ``shape`` and become a Parameter."""
        np_dtype = dtypes.to_np(dtype) or self._data.dtype
        dev = str(device) if device is not None else backend.device_of(self._data)
        arr = backend.np.empty(tuple(shape), dtype=np_dtype)
        self._data = backend.to_device(arr, dev) if dev != "cpu" else arr
        self.__class__ = self.cls_to_become  # type: ignore[assignment]  # becomes a Parameter

    def __repr__(self) -> str:
        return "<UninitializedParameter>"

    __str__ = __repr__
