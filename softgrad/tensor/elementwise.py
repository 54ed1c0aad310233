"""Element-wise functions of Tensor (a mixin): exp and log, trigonometric and hyperbolic
functions, activations, sign and rounding, and binary math (atan2, hypot, fmod, ...)."""
from __future__ import annotations

import builtins
import math
from typing import TYPE_CHECKING, Any, NamedTuple

from softgrad import backend
from softgrad.ops import elementwise as E
from softgrad.ops import elementwise_extra as X
from softgrad.tensor.base import TensorBase
from softgrad.tensor.indexing import where

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np


class Frexp(NamedTuple):
    """``(mantissa, exponent)`` of ``frexp``, as in PyTorch."""

    mantissa: Tensor
    exponent: Tensor


class ElementwiseMixin(TensorBase):
    """Element-wise functions of Tensor: exp and log, trigonometric and hyperbolic functions,
    rounding, and binary math (atan2, hypot, fmod, ...)."""

    __slots__ = ()

    # ------------------------------------------------------------------ exp and log
    def exp(self) -> Tensor:
        return self._unary(E.Exp)

    def log(self) -> Tensor:
        return self._unary(E.Log)

    def log1p(self) -> Tensor:
        return self._unary(E.Log1p)

    def expm1(self) -> Tensor:
        return self._unary(E.Expm1)

    def log2(self) -> Tensor:
        return self._unary(X.Log2)

    def log10(self) -> Tensor:
        return self._unary(X.Log10)

    def exp2(self) -> Tensor:
        return 2.0 ** self._float_input()

    def logit(self, eps: float | None = None) -> Tensor:
        """log(p / (1 - p)); with ``eps`` the input is clamped to [eps, 1 - eps] first."""
        x = self._float_input()
        if eps is not None:
            x = x.clamp(eps, 1.0 - eps)
        return x.log() - (-x).log1p()

    def xlogy(self, other: Any) -> Tensor:
        """self * log(other), 0 where self == 0 (nan where other is nan)."""
        return self._float_input()._binary(other, X.Xlogy)

    def logaddexp(self, other: Any) -> Tensor:
        """log(exp(self) + exp(other)) without overflow."""
        return self._float_input()._binary(other, X.LogAddExp)

    def logaddexp2(self, other: Any) -> Tensor:
        """log2(2**self + 2**other) without overflow."""
        x = self._float_input()
        return (x * math.log(2.0)).logaddexp(x._operand(other) * math.log(2.0)) * (
            1.0 / math.log(2.0))

    def sqrt(self) -> Tensor:
        return self._unary(E.Sqrt)

    def rsqrt(self) -> Tensor:
        return self._unary(E.Rsqrt)

    # ------------------------------------------------------------------ activations
    def tanh(self) -> Tensor:
        return self._unary(E.Tanh)

    def sigmoid(self) -> Tensor:
        return self._unary(E.Sigmoid)

    def relu(self) -> Tensor:
        return type(self)._apply(E.Relu, self)

    def abs(self) -> Tensor:
        return type(self)._apply(E.Abs, self)

    def absolute(self) -> Tensor:
        return self.abs()

    # ------------------------------------------------------------------ trigonometric
    def sin(self) -> Tensor:
        return self._unary(E.Sin)

    def cos(self) -> Tensor:
        return self._unary(E.Cos)

    def tan(self) -> Tensor:
        return self._unary(X.Tan)

    def asin(self) -> Tensor:
        return self._unary(X.Asin)

    def acos(self) -> Tensor:
        return self._unary(X.Acos)

    def atan(self) -> Tensor:
        return self._unary(X.Atan)

    def sinh(self) -> Tensor:
        return self._unary(X.Sinh)

    def cosh(self) -> Tensor:
        return self._unary(X.Cosh)

    def asinh(self) -> Tensor:
        return self._unary(X.Asinh)

    def acosh(self) -> Tensor:
        return self._unary(X.Acosh)

    def atanh(self) -> Tensor:
        return self._unary(X.Atanh)

    arcsin, arccos, arctan = asin, acos, atan

    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    def sinc(self) -> Tensor:
        """sin(pi x) / (pi x), 1 at x = 0."""
        return self._unary(X.Sinc)

    def deg2rad(self) -> Tensor:
        return self._float_input() * (math.pi / 180.0)

    def rad2deg(self) -> Tensor:
        return self._float_input() * (180.0 / math.pi)

    def atan2(self, other: Any) -> Tensor:
        """The angle of (other, self): atan(self / other) in the right quadrant."""
        return self._float_input()._binary(other, X.Atan2)

    arctan2 = atan2

    def hypot(self, other: Any) -> Tensor:
        return self._float_input()._binary(other, X.Hypot)

    # ------------------------------------------------------------------ sign and rounding
    def sign(self) -> Tensor:
        return type(self)._apply(E.ZeroGrad, self, fn="sign")

    def angle(self) -> Tensor:
        """The argument of each (real) element: pi where negative, else 0 (NaN stays NaN);
        a float tensor with zero gradient."""
        x = self._float_input()
        return (x < 0).to(x.dtype) * math.pi + x.sign() * 0  # sign: NaN kept, gradient 0

    def hardshrink(self, lambd: float = 0.5) -> Tensor:
        """self where |self| > lambd, else 0."""
        return where(self.abs() > lambd, self, 0)

    def sgn(self) -> Tensor:
        return self.sign()

    def copysign(self, other: Any) -> Tensor:
        return self._float_input()._binary(other, X.Copysign)

    def floor(self) -> Tensor:
        return type(self)._apply(E.ZeroGrad, self, fn="floor")

    def ceil(self) -> Tensor:
        return type(self)._apply(E.ZeroGrad, self, fn="ceil")

    def trunc(self) -> Tensor:
        return type(self)._apply(E.ZeroGrad, self, fn="trunc")

    def round(self, decimals: int = 0) -> Tensor:
        return type(self)._apply(E.ZeroGrad, self, fn="round", decimals=decimals)

    def frac(self) -> Tensor:
        """x - trunc(x)."""
        return self - self.trunc()

    def fix(self) -> Tensor:
        return self.trunc()

    def fmod(self, other: Any) -> Tensor:
        """C's remainder: the result has the sign of ``self`` (``remainder`` takes other's)."""
        if self._data.dtype.kind in "iub" and isinstance(other, (builtins.int, ElementwiseMixin)):
            o = self._operand(other)
            if o._data.dtype.kind in "iub":
                if (o._data == 0).any():
                    raise RuntimeError("ZeroDivisionError: fmod by zero in an integer tensor")
                return type(self)._wrap(backend.xp_of(self._data).fmod(self._data, o._data))
        return self._binary(other, X.Fmod) if self._data.dtype.kind == "f" else \
            self._float_input()._binary(other, X.Fmod)

    def ldexp(self, other: Any) -> Tensor:
        """self * 2**other."""
        return self._float_input() * (2.0 ** self._operand(other)._float_input())

    def frexp(self) -> Frexp:
        """``(mantissa, exponent)`` with self = mantissa * 2**exponent, 0.5 <= |mantissa| < 1
        (or 0); exponent is int32. The mantissa is self * 2**-exponent, so its gradient is
        g * 2**-exponent."""
        if self._data.dtype.kind != "f":
            raise RuntimeError("torch.frexp() only supports floating-point dtypes")
        xp = backend.xp_of(self._data)
        _, e = xp.frexp(self._data)
        scale = xp.ldexp(xp.ones((), dtype=self._data.dtype), -e)
        return Frexp(self * type(self)._wrap(scale), type(self)._wrap(e.astype(np.int32)))

    def nextafter(self, other: Any) -> Tensor:
        """The next representable float after self towards other (no gradient)."""
        o = self._operand(other)
        return type(self)._wrap(backend.xp_of(self._data).nextafter(self._data, o._data))

    def heaviside(self, values: Any) -> Tensor:
        """0 where x < 0, ``values`` where x == 0, 1 where x > 0 (no gradient)."""
        v = self._operand(values)
        if v._data.dtype != self._data.dtype:
            raise RuntimeError(f"heaviside is not yet implemented for tensors with different "
                               f"dtypes: {self.dtype} and {v.dtype}")
        xp = backend.xp_of(self._data)
        out = xp.where(self._data == 0, v._data, (self._data > 0).astype(self._data.dtype))
        return type(self)._wrap(out.astype(self._data.dtype, copy=False))

    def nan_to_num(self, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Tensor:
        """NaN -> ``nan``, +inf -> ``posinf`` (dtype max), -inf -> ``neginf`` (dtype min).

        The gradient passes where the input was finite and is 0 where it was replaced.
        """
        if self._data.dtype.kind != "f":
            return self.clone()
        info = np.finfo(self._data.dtype)
        hi = info.max if posinf is None else posinf
        lo = info.min if neginf is None else neginf
        xp = backend.xp_of(self._data)
        d = self._data
        if xp.isfinite(d).all():
            return self.clone()
        inf = xp.isinf(d)
        out = where(type(self)._wrap(xp.isnan(d)), nan, self)
        out = where(type(self)._wrap(inf & (d > 0)), hi, out)
        return where(type(self)._wrap(inf & (d < 0)), lo, out)
