"""Zero-copy exchange with other array libraries: ``from_dlpack``.

``Tensor.__dlpack__`` / ``__dlpack_device__`` (in ``softgrad/tensor/convert.py``) make softgrad
tensors readable by ``np.from_dlpack``, ``torch.from_dlpack`` and ``cupy.from_dlpack``.
"""
from __future__ import annotations

from typing import Any

from softgrad import backend, dtypes
from softgrad.tensor import Tensor

np = backend.np

_CPU, _CUDA, _CUDA_HOST = 1, 2, 3

__all__ = ["from_dlpack"]


class _Capsule:
    """Wraps a legacy DLPack capsule (a CPU one) so ``np.from_dlpack`` accepts it."""

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple:
        return (_CPU, 0)


def from_dlpack(ext_tensor: Any) -> Tensor:
    """A Tensor sharing memory with ``ext_tensor`` (any object with ``__dlpack__``, e.g. a
    NumPy array, a torch tensor or a CuPy array, or a DLPack capsule).

    CPU data becomes a NumPy-backed tensor; CUDA data a CuPy-backed one (needs CuPy). Writes
    through either side are seen by the other.

    Example:
        >>> t = sg.from_dlpack(torch.arange(4.0))
    """
    if not hasattr(ext_tensor, "__dlpack__"):
        if type(ext_tensor).__name__ == "PyCapsule":
            ext_tensor = _Capsule(ext_tensor)
        else:
            raise TypeError(f"from_dlpack expects an object with __dlpack__ (a tensor or array "
                            f"of another library) or a DLPack capsule, got "
                            f"{type(ext_tensor).__name__}")
    kind = ext_tensor.__dlpack_device__()[0] if hasattr(ext_tensor, "__dlpack_device__") \
        else _CPU
    if kind in (_CPU, _CUDA_HOST):
        xp = np
    elif kind == _CUDA and backend._cupy is not None:
        xp = backend._cupy
    else:
        raise RuntimeError(f"from_dlpack: data on DLPack device type {kind} is not supported "
                           "(softgrad reads CPU data, and CUDA data when CuPy is installed)")
    try:
        arr = xp.from_dlpack(ext_tensor)
    except (TypeError, ValueError, BufferError, RuntimeError) as exc:
        hint = (" (softgrad supports bool, (u)int8-64 and float16/32/64 data; convert e.g. "
                "bfloat16 with .float() first)") if "dtype" in str(exc).lower() else ""
        raise TypeError(f"from_dlpack could not import {type(ext_tensor).__name__}: "
                        f"{exc}{hint}") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"from_dlpack: dtype {arr.dtype} is not supported by softgrad")
    dtypes.from_np(arr.dtype)  # a clear error for unsupported dtypes
    return Tensor._wrap(arr)
