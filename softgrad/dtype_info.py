"""``finfo`` and ``iinfo``: the numeric limits of a dtype, with PyTorch's attribute names.

Floating limits follow from each format's exponent and mantissa widths, so they need no
optional package (bfloat16 included); integer limits come from NumPy.
"""
from __future__ import annotations

import math
from typing import Any

from softgrad import backend, dtypes

# exponent bits, mantissa bits (the sign takes one more)
_FLOAT_FORMATS = {"float16": (5, 10), "bfloat16": (8, 7), "float32": (8, 23),
                  "float64": (11, 52)}


def _name(dtype: Any) -> str:
    if isinstance(dtype, dtypes.DType):
        return dtype.name
    return dtypes.from_np(dtypes.to_np(dtype)).name


class finfo:
    """Limits of a floating dtype (default: the default dtype).

    Attributes:
        bits: bits per element. eps: gap between 1.0 and the next value. max / min: the
        largest / most negative finite values. tiny, smallest_normal: the smallest positive
        normal value. resolution: 10 ** -(decimal digits of precision). dtype: the name.
    """

    def __init__(self, type: Any = None) -> None:
        name = dtypes.get_default_dtype().name if type is None else _name(type)
        if name not in _FLOAT_FORMATS:
            raise TypeError(f"finfo() requires a floating point dtype, got softgrad.{name}; "
                            f"use iinfo() for integer dtypes")
        exp_bits, mant_bits = _FLOAT_FORMATS[name]
        bias = 2 ** (exp_bits - 1) - 1
        self.bits = 1 + exp_bits + mant_bits
        self.eps = 2.0 ** -mant_bits
        self.max = (2.0 - 2.0 ** -mant_bits) * 2.0 ** bias
        self.min = -self.max
        self.tiny = self.smallest_normal = 2.0 ** (1 - bias)
        self.resolution = 10.0 ** -math.floor(-math.log10(self.eps))
        self.dtype = name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype: ``bits``, ``min``, ``max`` (Python ints) and ``dtype``."""

    def __init__(self, type: Any) -> None:
        name = _name(type)
        if name not in ("uint8", "int8", "int16", "int32", "int64"):
            raise TypeError(f"iinfo() requires an integer dtype, got softgrad.{name}; use "
                            f"finfo() for floating dtypes")
        info = backend.np.iinfo(dtypes.get(name).np)
        self.bits, self.min, self.max, self.dtype = int(info.bits), int(info.min), \
            int(info.max), name

    def __repr__(self) -> str:
        return f"iinfo(min={float(self.min):g}, max={float(self.max):g}, dtype={self.dtype})"
