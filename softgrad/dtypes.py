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

    def __eq__(self, other: object) -> _b.bool:
        if isinstance(other, DType):
            return self.name == other.name  # one DType per element type
        if other is None:  # np.dtype(None) is float64
            return False
        try:
            other_np = backend.np.dtype(other)  # type: ignore[call-overload]
        except TypeError:
            return False
        return other_np.name == self.name and self.np == other_np

    def __hash__(self) -> _b.int:
        return hash(self.np)

    def __reduce__(self):  # pragma: no cover - never pickled by softgrad itself
        return (get, (self.name,))


class _OptionalDType(DType):
    """A dtype whose NumPy dtype comes from an optional package, loaded on first use:
    naming ``sg.bfloat16`` always works, making a tensor of it needs ``ml_dtypes``."""

    __slots__ = ("_np", "_load")
    np = property(lambda self: self._np if self._np is not None else self._resolve())

    def __init__(self, name: str, load: Any, itemsize: _b.int) -> None:
        self.name, self._np, self._load, self.itemsize = name, None, load, itemsize
        self.is_floating_point, self.is_complex, self.is_signed = True, False, True

    def _resolve(self) -> Any:
        self._np = self._load()  # raises ImportError naming the package when it is missing
        _BY_NP[self._np] = self
        return self._np

    def __hash__(self) -> _b.int:  # stable whether or not the package is ever loaded
        return hash(self.name)


float16 = half = DType("float16", "float16")
bfloat16 = _OptionalDType("bfloat16", backend.bfloat16_dtype, 2)
float32 = float = DType("float32", "float32")
float64 = double = DType("float64", "float64")
int8 = DType("int8", "int8")
int16 = short = DType("int16", "int16")
int32 = int = DType("int32", "int32")
int64 = long = DType("int64", "int64")
uint8 = DType("uint8", "uint8")
bool = DType("bool", "bool")

_BY_NP = {d.np: d for d in (float16, float32, float64, int8, int16, int32, int64, uint8, bool)}
_BY_NAME = {d.name: d for d in (*_BY_NP.values(), bfloat16)}


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
        npd = backend.np.dtype(np_dtype)
        d = _BY_NP.get(npd)
        if d is None:
            if npd.name == "bfloat16" and bfloat16.np == npd:  # made outside softgrad
                return bfloat16
            raise TypeError(f"unsupported dtype {np_dtype}; softgrad supports {sorted(_BY_NAME)}")
    return d


def is_float(np_dtype: Any) -> _b.bool:
    """True for a floating NumPy dtype, bfloat16 included (NumPy files it under kind 'V')."""
    return np_dtype.kind == "f" or np_dtype.name == "bfloat16"


def is_differentiable(np_dtype: Any) -> _b.bool:
    """True for the dtypes a tensor needs to require gradients: floating and complex."""
    return np_dtype.kind in "fc" or np_dtype.name == "bfloat16"


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
    if dtype is _b.float:  # as in PyTorch: a Python float is double precision
        return float64.np
    if dtype is _b.int:
        return int64.np
    if dtype is _b.bool:
        return bool.np
    return from_np(backend.np.dtype(dtype)).np


def set_default_dtype(d: Any) -> None:
    """Make ``d`` (a floating dtype) the dtype of new floating tensors: factories, tensors
    from Python floats, module parameters. float32 unless changed."""
    dt = d if isinstance(d, DType) else from_np(to_np(d))
    if not dt.is_floating_point or dt.is_complex:
        raise TypeError(f"only floating-point types are supported as the default type, "
                        f"got {dt!r}")
    backend.DEFAULT_DTYPE = dt.np


def get_default_dtype() -> DType:
    """The dtype of new floating tensors (``sg.float32`` unless changed)."""
    return from_np(backend.DEFAULT_DTYPE)


def _as_dtype(d: Any) -> DType:
    return d if isinstance(d, DType) else from_np(to_np(d))


def _category(d: DType) -> _b.int:
    """bool < integer < floating < complex: PyTorch's order of type categories."""
    return 0 if d.name == "bool" else 3 if d.is_complex else 2 if d.is_floating_point else 1


def promote_types(type1: Any, type2: Any) -> DType:
    """The smallest dtype both convert to without leaving their category, as in PyTorch:
    a higher category wins (int64 and float16 give float16); within one, the wider type
    (uint8 and int8 give int16, float16 and bfloat16 give float32)."""
    a, b = _as_dtype(type1), _as_dtype(type2)
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    if a is b:
        return a
    if a.is_floating_point:  # the wider; float16 with bfloat16 gives float32
        return float32 if a.itemsize == b.itemsize else max(a, b, key=lambda d: d.itemsize)
    return from_np(backend.np.result_type(a.np, b.np))


def can_cast(from_: Any, to: Any) -> _b.bool:
    """Whether PyTorch's casting rules allow ``from_`` -> ``to`` implicitly (in-place ops,
    ``out=``): never to a lower category (float -> int, int -> bool)."""
    return _category(_as_dtype(from_)) <= _category(_as_dtype(to))


def is_floating_point(input: Any) -> _b.bool:
    """True for a tensor of a floating dtype (bfloat16 included)."""
    return is_float(input._data.dtype)


def is_complex(input: Any) -> _b.bool:
    return input._data.dtype.kind == "c"
