"""softgrad dtypes: thin named wrappers over NumPy dtypes (``sg.float32`` ...)."""
from __future__ import annotations

from typing import Any

import builtins as _b

from softgrad import backend


class DType:
    """A tensor element type. Compares equal to itself and to the NumPy dtype it wraps."""

    __slots__ = ("name", "np", "is_floating_point", "is_complex", "itemsize", "is_signed")

    def __init__(self, name: str, np_dtype: Any) -> None:
        self.name = name
        self.np = backend.np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.is_complex = self.np.kind == "c"
        self.is_signed = self.np.kind in "fic"
        self.itemsize = self.np.itemsize

    def __repr__(self) -> str:
        return f"softgrad.{self.name}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DType):
            return self.np == other.np
        try:
            return self.np == backend.np.dtype(other)  # type: ignore[arg-type]
        except TypeError:
            return False

    def __hash__(self) -> int:
        return hash(self.np)

    def __reduce__(self):  # pragma: no cover - never pickled by softgrad itself
        return (get, (self.name,))


float16 = half = DType("float16", "float16")
float32 = float = DType("float32", "float32")
float64 = double = DType("float64", "float64")
int8 = DType("int8", "int8")
int16 = short = DType("int16", "int16")
int32 = int = DType("int32", "int32")
int64 = long = DType("int64", "int64")
uint8 = DType("uint8", "uint8")
bool = DType("bool", "bool")  # noqa: A001 - mirrors torch.bool

_BY_NP = {d.np: d for d in (float16, float32, float64, int8, int16, int32, int64, uint8, bool)}
_BY_NAME = {d.name: d for d in _BY_NP.values()}


def get(name: str) -> DType:
    """DType by name ('float32', ...)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; known: {sorted(_BY_NAME)}") from None


def from_np(np_dtype: Any) -> DType:
    """The softgrad DType for a NumPy dtype."""
    d = _BY_NP.get(np_dtype)
    if d is None:
        d = _BY_NP.get(backend.np.dtype(np_dtype))
        if d is None:
            raise TypeError(f"unsupported dtype {np_dtype}; softgrad supports {sorted(_BY_NAME)}")
    return d


def promote(*np_dtypes: Any) -> Any:
    """PyTorch's result dtype: floating dtypes win over integers (int64 + float32 -> float32)."""
    floats = [d for d in np_dtypes if d.kind == "f"]
    return backend.np.result_type(*(floats or np_dtypes))


def to_np(dtype: Any) -> Any:
    """NumPy dtype for a softgrad DType, NumPy dtype, Python type or name (None stays None)."""
    if dtype is None:
        return None
    if isinstance(dtype, DType):
        return dtype.np
    if isinstance(dtype, str):
        return get(dtype).np
    if dtype is _b.float:
        return float32.np
    if dtype is _b.int:
        return int64.np
    if dtype is _b.bool:
        return bool.np
    return from_np(backend.np.dtype(dtype)).np
