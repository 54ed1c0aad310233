"""``finfo``/``iinfo`` (numeric limits of a dtype) and the default floating dtype
(``set_default_dtype``/``get_default_dtype``), as in PyTorch."""
from __future__ import annotations

from typing import Any

from softgrad import backend, dtypes

__all__ = ["finfo", "iinfo", "set_default_dtype", "get_default_dtype"]


class finfo:  # noqa: N801 - PyTorch's name
    """Limits of a floating dtype (default: the default dtype): ``bits``, ``eps``, ``max``,
    ``min``, ``tiny`` (= ``smallest_normal``) and ``resolution``.

    Example:
        >>> sg.finfo(sg.float32).eps
        1.1920928955078125e-07
    """

    def __init__(self, type: Any = None) -> None:  # noqa: A002
        np_dtype = backend.DEFAULT_DTYPE if type is None else dtypes.to_np(type)
        if np_dtype.kind != "f":
            raise TypeError(f"finfo(): argument 'type' must be a floating point dtype, got "
                            f"{dtypes.from_np(np_dtype)}")
        info = backend.np.finfo(np_dtype)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = float(info.resolution)
        self.dtype = dtypes.from_np(np_dtype).name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:  # noqa: N801 - PyTorch's name
    """Limits of an integer (or bool) dtype: ``bits``, ``max``, ``min``."""

    def __init__(self, type: Any) -> None:  # noqa: A002
        np_dtype = dtypes.to_np(type)
        if np_dtype.kind == "b":
            self.bits, self.min, self.max = 8, 0, 1
        elif np_dtype.kind in "iu":
            info = backend.np.iinfo(np_dtype)
            self.bits, self.min, self.max = int(info.bits), int(info.min), int(info.max)
        else:
            raise TypeError(f"iinfo(): argument 'type' must be an integer dtype, got "
                            f"{dtypes.from_np(np_dtype)}")
        self.dtype = dtypes.from_np(np_dtype).name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def set_default_dtype(d: Any) -> None:
    """Make ``d`` (float32 or float64) the dtype of new floating tensors and parameters."""
    np_dtype = dtypes.to_np(d)
    if np_dtype is None or np_dtype.kind != "f":
        raise TypeError(f"only floating-point types are supported as the default type, got "
                        f"{d}")
    backend.DEFAULT_DTYPE = backend.np.dtype(np_dtype)


def get_default_dtype() -> Any:
    """The dtype of new floating tensors (float32 unless changed)."""
    return dtypes.from_np(backend.DEFAULT_DTYPE)
