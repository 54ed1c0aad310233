"""Python data to arrays, with softgrad's rules: Python floats become float32 (the default
dtype), ints int64, bools bool; NumPy arrays keep their dtype. Depends only on the backend."""
from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from softgrad import backend, devices, dtypes
from softgrad.size import Size
from softgrad.tensor.base import TensorBase

np = backend.np


def is_device_array(data: Any) -> bool:
    return backend._cupy is not None and isinstance(data, backend._cupy.ndarray)


def check_same_device(inputs: Sequence[TensorBase]) -> None:
    dev = backend.device_of(inputs[0]._data)
    for t in inputs[1:]:
        if backend.device_of(t._data) != dev:
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two "
                f"devices, {inputs[0].device} and {t.device}!")


def array_from(data: Any, dtype: Any, device: str = "cpu") -> Any:
    """Array from Python data with softgrad's dtype rules (floats -> float32)."""
    xp = backend.xp_for_device(device) if device != "cpu" else np
    if is_device_array(data):  # a GPU array stays on the GPU (callers move it if asked)
        xp = backend.xp_of(data)
    np_dtype = dtypes.to_np(dtype)
    if isinstance(data, TensorBase):
        arr = data._data
    elif np_dtype is not None:
        arr = xp.asarray(unwrap_nested(data), dtype=np_dtype)
    else:
        is_array = hasattr(data, "__array_interface__") or is_device_array(data)
        try:
            arr = xp.asarray(unwrap_nested(data))
        except ValueError as exc:
            raise ValueError(ragged_message(data) or str(exc)) from None
        if not is_array and arr.dtype == np.float64:
            arr = arr.astype(backend.DEFAULT_DTYPE)
        elif arr.dtype.kind == "i" and arr.dtype != np.int64 and not is_array:
            arr = arr.astype(np.int64)
    if arr.dtype.kind not in "fiub" and not dtypes.is_float(arr.dtype):
        raise TypeError(f"cannot make a tensor from data of dtype {arr.dtype}")
    if np_dtype is not None and arr.dtype != np_dtype:
        arr = arr.astype(np_dtype)
    dtypes.from_np(arr.dtype)  # raises a clear error for unsupported dtypes
    return arr


def legacy_array(args: tuple) -> Any:
    """The array behind ``Tensor(*args)``: data in the default dtype, or zeros of a shape."""
    dtype = backend.DEFAULT_DTYPE
    if not args:
        return np.zeros((0,), dtype=dtype)
    if all(isinstance(a, builtins.int) and not isinstance(a, builtins.bool) for a in args):
        if any(a < 0 for a in args):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(args)}: "
                               f"{list(args)}")
        return np.zeros(args, dtype=dtype)
    if len(args) > 1:
        raise TypeError(f"Tensor() takes data or sizes, got {len(args)} arguments of types "
                        f"{[type(a).__name__ for a in args]}")
    data = args[0]
    if isinstance(data, Size):
        return np.zeros(tuple(data), dtype=dtype)
    if isinstance(data, TensorBase):
        arr = data._data
        return arr if arr.dtype == dtype else arr.astype(dtype)
    return array_from(data, dtype)


def ragged_message(data: Any) -> str | None:
    """PyTorch's message for nested lists whose rows differ in length, if that is the case."""
    level, dim = [data], 0
    while level and all(isinstance(x, (list, tuple)) for x in level):
        lengths = [len(x) for x in level]
        if len(set(lengths)) > 1:
            return (f"expected sequence of length {lengths[0]} at dim {dim} "
                    f"(got {next(n for n in lengths if n != lengths[0])})")
        level, dim = [y for x in level for y in x], dim + 1
    if level and any(isinstance(x, (list, tuple)) for x in level):
        return f"expected a number at dim {dim} but found a sequence"
    return None


def unwrap_nested(data: Any) -> Any:
    if isinstance(data, (list, tuple)) and data and any(isinstance(d, TensorBase) for d in data):
        return [unwrap_nested(d._data if isinstance(d, TensorBase) else d) for d in data]
    return data


def tensor_array(data: Any, dtype: Any, device: Any) -> Any:
    """The array of ``sg.tensor(data, dtype, device)``: a copy of ``data`` (a tensor's values,
    or Python/NumPy data under the rules above) in ``dtype`` on ``device``."""
    if isinstance(data, TensorBase):
        arr = data._data.copy()
    else:
        arr = array_from(data, dtype)
        if arr is data or (hasattr(data, "__array_interface__") and np.shares_memory(arr, data)):
            arr = arr.copy()
    return place(arr, dtype, device)


def place(arr: Any, dtype: Any, device: Any) -> Any:
    """``arr`` in ``dtype`` (when given) on ``device`` (when None: the default device)."""
    npd = dtypes.to_np(dtype)
    if npd is not None and arr.dtype != npd:
        arr = arr.astype(npd)
    device = devices.default_for(device)
    if device is not None and (str(device) != "cpu" or backend.device_of(arr) != "cpu"):
        arr = backend.to_device(arr, str(device))
    return arr
