"""Arithmetic of Tensor (a mixin): the operators, their named forms, and the dtype
promotion of operands (a Python number takes the tensor's dtype; int with float gives the
float; two integer tensors divide in the default float dtype)."""
from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, cast

from softgrad import backend, dtypes
from softgrad.ops import elementwise as E
from softgrad.ops import elementwise_extra as X
from softgrad.ops.matmul import MatMul
from softgrad.tensor.args import broadcast_error, legacy_alpha
from softgrad.tensor.arrays import array_from
from softgrad.tensor.base import TensorBase

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np
_NUMBER = (builtins.int, builtins.float, builtins.bool)


def _mshape(shape: tuple) -> str:
    return "x".join(str(s) for s in shape)


class ArithmeticMixin(TensorBase):
    """Arithmetic of Tensor: operators, dtype promotion of operands, clamps."""

    __slots__ = ()

    # ------------------------------------------------------------------ operands
    def _operand(self, other: Any) -> Tensor:
        """Turn ``other`` into a Tensor of a dtype compatible with self (PyTorch rules)."""
        if isinstance(other, TensorBase):
            return other  # type: ignore[return-value]  # hot path: no cast() call
        if isinstance(other, _NUMBER):
            dt = self._data.dtype
            if dt.kind == "f" and self._data.__class__ is np.ndarray:  # the common case
                return self._wrap(np.asarray(other, dt))
            xp = backend.xp_of(self._data)
            if dtypes.is_float(dt):
                return self._wrap(xp.asarray(other, dtype=dt))
            if isinstance(other, builtins.float):
                return self._wrap(xp.asarray(other, dtype=backend.DEFAULT_DTYPE))
            if isinstance(other, builtins.bool) and dt.kind == "b":
                return self._wrap(xp.asarray(other))
            return self._wrap(xp.asarray(other, dtype=dt if dt.kind != "b" else np.int64))
        return self._wrap(array_from(other, None, self.device))

    def _binary(self, other: Any, fn: type, reverse: bool = False) -> Tensor:
        if other.__class__ is not self.__class__:  # (a Tensor of self's class is one already)
            other = self._operand(other)
        a, b = (other, self) if reverse else (self, other)
        da, db = a._data.dtype, b._data.dtype
        if da != db:
            fa, fb = dtypes.is_float(da), dtypes.is_float(db)
            if fa and not fb:
                b = b._cast(da)
            elif fb and not fa:
                a = a._cast(db)
        try:
            return type(self)._apply(fn, a, b)
        except ValueError:
            raise broadcast_error(a.shape, b.shape) from None

    def _float_input(self) -> Tensor:
        dt = self._data.dtype
        if dt.kind == "f" or dtypes.is_float(dt):
            return self  # type: ignore[return-value]  # hot path: no cast() call
        return self._cast(backend.DEFAULT_DTYPE)

    def _unary(self, fn: type, **params: Any) -> Tensor:
        x = self if self._data.dtype.kind == "f" else self._float_input()  # (float: as is)
        return type(self)._apply(fn, x, **params)

    # ------------------------------------------------------------------ operators
    def __add__(self, o: Any) -> Tensor:
        return self._binary(o, E.Add)

    def __radd__(self, o: Any) -> Tensor:
        return self._binary(o, E.Add, True)

    def __sub__(self, o: Any) -> Tensor:
        return self._binary(o, E.Sub)

    def __rsub__(self, o: Any) -> Tensor:
        return self._binary(o, E.Sub, True)

    def __mul__(self, o: Any) -> Tensor:
        return self._binary(o, E.Mul)

    def __rmul__(self, o: Any) -> Tensor:
        return self._binary(o, E.Mul, True)

    def __truediv__(self, o: Any) -> Tensor:
        return self._true_div(o, False)

    def __rtruediv__(self, o: Any) -> Tensor:
        return self._true_div(o, True)

    def _true_div(self, o: Any, reverse: bool) -> Tensor:
        o = self._operand(o)
        a = self
        if not dtypes.is_float(a._data.dtype) and not dtypes.is_float(o._data.dtype):
            a, o = a._cast(backend.DEFAULT_DTYPE), o._cast(backend.DEFAULT_DTYPE)
        return a._binary(o, E.Div, reverse)

    def __floordiv__(self, o: Any) -> Tensor:
        return self._binary(o, E.FloorDiv)

    def __rfloordiv__(self, o: Any) -> Tensor:
        return self._binary(o, E.FloorDiv, True)

    def __mod__(self, o: Any) -> Tensor:
        return self._binary(o, E.Remainder)

    def __rmod__(self, o: Any) -> Tensor:
        return self._binary(o, E.Remainder, True)

    def __pow__(self, o: Any) -> Tensor:
        if isinstance(o, _NUMBER) and not isinstance(o, builtins.bool):
            base = self if dtypes.is_float(self._data.dtype) or isinstance(o, builtins.int) \
                else self._cast(backend.DEFAULT_DTYPE)
            if isinstance(o, builtins.int) and o < 0 and not dtypes.is_float(base._data.dtype):
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            return type(self)._apply(E.PowScalar, base, p=o)
        return self._binary(o, E.Pow)

    def __rpow__(self, o: Any) -> Tensor:
        if isinstance(o, builtins.int) and self._data.dtype.kind in "iub":
            return type(self)._wrap(backend.xp_of(self._data).asarray(o) ** self._data)
        if isinstance(o, _NUMBER):
            base = self if dtypes.is_float(self._data.dtype) else self._cast(
                backend.DEFAULT_DTYPE)
            return type(self)._apply(E.RPowScalar, base, c=builtins.float(o))
        return self._binary(o, E.Pow, True)

    def __matmul__(self, o: Any) -> Tensor:
        o = self._operand(o)
        if self.ndim == 0 or o.ndim == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D, got "
                               f"{tuple(self.shape)} and {tuple(o.shape)}")
        k1 = self.shape[-1]
        k2 = o.shape[-2] if o.ndim > 1 else o.shape[0]
        if k1 != k2:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({_mshape(self.shape)} and "
                f"{_mshape(o.shape)}): inner dimensions {k1} and {k2} differ")
        try:
            return self._binary(o, MatMul)
        except RuntimeError:
            raise RuntimeError(
                f"matmul: the batch dimensions of {tuple(self.shape)} and {tuple(o.shape)} "
                f"cannot be broadcast: {tuple(self.shape[:-2])} vs {tuple(o.shape[:-2])}") from None

    def __rmatmul__(self, o: Any) -> Tensor:
        return self._operand(o).__matmul__(self)

    def __neg__(self) -> Tensor:
        return type(self)._apply(E.Neg, self)

    def __pos__(self) -> Tensor:
        return cast("Tensor", self)

    def __abs__(self) -> Tensor:
        return self.abs()

    # ------------------------------------------------------------------ named forms
    def add(self, other: Any, alpha: float = 1) -> Tensor:
        o, alpha = legacy_alpha("add", other, alpha)
        return self + (o if alpha == 1 else self._operand(o) * alpha)

    def sub(self, other: Any, alpha: float = 1) -> Tensor:
        o, alpha = legacy_alpha("sub", other, alpha)
        return self - (o if alpha == 1 else self._operand(o) * alpha)

    def mul(self, other: Any) -> Tensor:
        return self * other

    def div(self, other: Any, rounding_mode: str | None = None) -> Tensor:
        o = other
        if rounding_mode is None:
            return self / o
        if rounding_mode == "floor":
            return self // o
        if rounding_mode == "trunc":
            o = self._operand(o)
            if self._data.dtype.kind in "iub" and o._data.dtype.kind in "iub":
                out_dtype = np.result_type(self._data.dtype, o._data.dtype)
                return (self.double() / o).trunc()._cast(out_dtype)
            return (self / o).trunc()
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{rounding_mode}'")

    def floor_divide(self, other: Any) -> Tensor:
        return self // other

    def remainder(self, other: Any) -> Tensor:
        return self % other

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def neg(self) -> Tensor:
        return -self

    def positive(self) -> Tensor:
        if self._data.dtype.kind == "b":
            raise TypeError("The `+` operator, on a bool tensor is not supported.")
        return cast("Tensor", self)

    def negative(self) -> Tensor:
        return -self

    def true_divide(self, other: Any) -> Tensor:
        return self / other

    # PyTorch's longer names
    def multiply(self, other: Any) -> Tensor:
        return self.mul(other)

    def subtract(self, other: Any, *, alpha: float = 1) -> Tensor:
        return self.sub(other, alpha=alpha)

    def divide(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        return self.div(other, rounding_mode=rounding_mode)

    def float_power(self, exponent: Any) -> Tensor:
        """self ** exponent computed in float64 (the result is float64)."""
        e = exponent.double() if isinstance(exponent, TensorBase) else exponent
        if isinstance(e, builtins.bool):
            e = builtins.int(e)
        return self.double() ** e

    def square(self) -> Tensor:
        return self * self

    def reciprocal(self) -> Tensor:
        return 1.0 / self._float_input()

    # ------------------------------------------------------------------ clamps and extremes
    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        if isinstance(min, TensorBase) or isinstance(max, TensorBase):
            out = cast("Tensor", self)
            if min is not None:
                out = out.maximum(self._operand(min))
            if max is not None:
                out = out.minimum(self._operand(max))
            return out
        return type(self)._apply(E.Clamp, self, lo=min, hi=max)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        return self._binary(other, E.Maximum)

    def minimum(self, other: Any) -> Tensor:
        return self._binary(other, E.Minimum)

    def fmax(self, other: Any) -> Tensor:
        """Element-wise maximum that ignores nan (nan only where both are nan)."""
        return self._binary(other, X.Fmax)

    def fmin(self, other: Any) -> Tensor:
        """Element-wise minimum that ignores nan (nan only where both are nan)."""
        return self._binary(other, X.Fmin)

    def clamp_min(self, min: Any) -> Tensor:
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> Tensor:
        return self.clamp(max=max)

    def lerp(self, end: Any, weight: Any) -> Tensor:
        """``self + weight * (end - self)``."""
        end = self._operand(end)
        return self + self._operand(weight) * (end - self)

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        """self + value * tensor1 * tensor2."""
        prod = self._operand(tensor1) * tensor2
        return self + (prod if value == 1 else prod * value)

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        """self + value * tensor1 / tensor2."""
        t1 = self._operand(tensor1)
        if t1._data.dtype.kind in "iub" and self._operand(tensor2)._data.dtype.kind in "iub":
            raise RuntimeError("Integer division with addcdiv is no longer supported, and in a "
                               "future release addcdiv will perform a true division of tensor1 "
                               "and tensor2.")
        quot = t1 / tensor2
        return self + (quot if value == 1 else quot * value)
