"""PyTorch's legacy tensor types: ``sg.FloatTensor``, ``sg.LongTensor``, ...

Each is a constructor of CPU tensors of one dtype (``sg.LongTensor([1, 2])``,
``sg.FloatTensor(2, 3)``), a type that ``isinstance`` recognises (``isinstance(x,
sg.FloatTensor)`` is True for a float32 CPU tensor) and a target for ``x.type(...)``.
"""
from __future__ import annotations

from typing import Any

from softgrad import backend, dtypes
from softgrad.size import Size
from softgrad.tensor.arrays import array_from
from softgrad.tensor.core import Tensor

np = backend.np


class TensorType(type):
    """The metaclass of the legacy types: ``isinstance`` checks the dtype and the device."""

    dtype: dtypes.DType

    def __instancecheck__(cls, obj: Any) -> bool:
        return (isinstance(obj, Tensor) and obj._data.dtype == cls.dtype.np
                and backend.device_of(obj._data) == "cpu")

    def __call__(cls, *args: Any) -> Tensor:
        npd = cls.dtype.np
        if not args:
            return Tensor._leaf(np.zeros((0,), dtype=npd))
        if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            if any(a < 0 for a in args):
                raise RuntimeError(f"Trying to create tensor with negative dimension "
                                   f"{min(args)}: {list(args)}")
            return Tensor._leaf(np.zeros(args, dtype=npd))
        if len(args) > 1:
            raise TypeError(f"{cls.__name__}() takes data or sizes, got {len(args)} "
                            f"arguments")
        data = args[0]
        if isinstance(data, Size):
            return Tensor._leaf(np.zeros(tuple(data), dtype=npd))
        if isinstance(data, Tensor):
            data = backend.to_numpy(data._data)
        return Tensor._leaf(array_from(data, cls.dtype))

    def __repr__(cls) -> str:
        return f"<class 'softgrad.{cls.__name__}'>"


def _type(name: str, dtype: dtypes.DType) -> TensorType:
    return TensorType(name, (), {"dtype": dtype, "__doc__": f"CPU tensors of {dtype!r}."})


FloatTensor = _type("FloatTensor", dtypes.float32)
DoubleTensor = _type("DoubleTensor", dtypes.float64)
HalfTensor = _type("HalfTensor", dtypes.float16)
LongTensor = _type("LongTensor", dtypes.int64)
IntTensor = _type("IntTensor", dtypes.int32)
ShortTensor = _type("ShortTensor", dtypes.int16)
CharTensor = _type("CharTensor", dtypes.int8)
ByteTensor = _type("ByteTensor", dtypes.uint8)
BoolTensor = _type("BoolTensor", dtypes.bool)
