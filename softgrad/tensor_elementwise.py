"""More element-wise Tensor methods (a mixin): trigonometric and hyperbolic functions, special
functions (erf, lgamma, digamma, ...), binary math (atan2, hypot, logaddexp, xlogy, fmod,
...), logical and bitwise operations, and their in-place forms."""
from __future__ import annotations

import builtins
import math
from typing import Any

from softgrad import backend
from softgrad.ops import elementwise_extra as X
from softgrad.ops import special as S

np = backend.np


class ElementwiseMixin:
    """Element-wise methods beyond the basic arithmetic of ``tensor_math``."""

    __slots__ = ()

    # ------------------------------------------------------------------ trig and hyperbolic
    def tan(self) -> Any:
        return self._unary(X.Tan)

    def asin(self) -> Any:
        return self._unary(X.Asin)

    def acos(self) -> Any:
        return self._unary(X.Acos)

    def atan(self) -> Any:
        return self._unary(X.Atan)

    def sinh(self) -> Any:
        return self._unary(X.Sinh)

    def cosh(self) -> Any:
        return self._unary(X.Cosh)

    def asinh(self) -> Any:
        return self._unary(X.Asinh)

    def acosh(self) -> Any:
        return self._unary(X.Acosh)

    def atanh(self) -> Any:
        return self._unary(X.Atanh)

    arcsin, arccos, arctan = asin, acos, atan
    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    def sinc(self) -> Any:
        """sin(pi x) / (pi x), 1 at x = 0."""
        return self._unary(X.Sinc)

    def deg2rad(self) -> Any:
        return self._float_input() * (math.pi / 180.0)

    def rad2deg(self) -> Any:
        return self._float_input() * (180.0 / math.pi)

    # ------------------------------------------------------------------ exp and log
    def log2(self) -> Any:
        return self._unary(X.Log2)

    def log10(self) -> Any:
        return self._unary(X.Log10)

    def exp2(self) -> Any:
        return 2.0 ** self._float_input()

    def logit(self, eps: float | None = None) -> Any:
        """log(p / (1 - p)); with ``eps`` the input is clamped to [eps, 1 - eps] first."""
        x = self._float_input()
        if eps is not None:
            x = x.clamp(eps, 1.0 - eps)
        return x.log() - (-x).log1p()

    def xlogy(self, other: Any) -> Any:
        """self * log(other), 0 where self == 0 (nan where other is nan)."""
        return self._float_input()._binary(other, X.Xlogy)

    def logaddexp(self, other: Any) -> Any:
        """log(exp(self) + exp(other)) without overflow."""
        return self._float_input()._binary(other, X.LogAddExp)

    def logaddexp2(self, other: Any) -> Any:
        """log2(2**self + 2**other) without overflow."""
        x = self._float_input()
        return (x * math.log(2.0)).logaddexp(x._operand(other) * math.log(2.0)) * (
            1.0 / math.log(2.0))

    def float_power(self, exponent: Any) -> Any:
        """self ** exponent computed in float64 (the result is float64)."""
        e = exponent.double() if isinstance(exponent, ElementwiseMixin) else exponent
        if isinstance(e, builtins.bool):
            e = builtins.int(e)
        return self.double() ** e

    def true_divide(self, other: Any) -> Any:
        return self / other

    # ------------------------------------------------------------------ special functions
    def erf(self) -> Any:
        return self._unary(S.Erf)

    def erfc(self) -> Any:
        return self._unary(S.Erfc)

    def erfinv(self) -> Any:
        """The inverse of erf on (-1, 1): +-inf at +-1, nan outside."""
        return self._unary(S.Erfinv)

    def lgamma(self) -> Any:
        """log |Gamma(x)|."""
        return self._unary(S.Lgamma)

    def digamma(self) -> Any:
        """psi(x) = d/dx lgamma(x)."""
        return self._unary(S.Polygamma, n=0)

    def polygamma(self, n: int) -> Any:
        """psi^(n)(x), the n-th derivative of digamma."""
        if isinstance(n, builtins.bool) or not isinstance(n, (builtins.int, np.integer)):
            raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not "
                            f"{type(n).__name__}")
        if n < 0:
            raise RuntimeError("polygamma(n, x) does not support negative n.")
        return self._unary(S.Polygamma, n=builtins.int(n))

    def mvlgamma(self, p: int) -> Any:
        """The multivariate log-gamma of dimension ``p`` (needs every x > (p - 1) / 2)."""
        if (self <= (p - 1) / 2).any():
            raise RuntimeError(f"All elements must be greater than (p-1)/2 = {(p - 1) / 2}")
        x = self._float_input()
        terms = [(x - j / 2).lgamma() for j in range(p)]
        out = terms[0]
        for t in terms[1:]:
            out = out + t
        return out + p * (p - 1) / 4 * math.log(math.pi)

    # ------------------------------------------------------------------ binary math
    def atan2(self, other: Any) -> Any:
        """The angle of (other, self): atan(self / other) in the right quadrant."""
        return self._float_input()._binary(other, X.Atan2)

    arctan2 = atan2

    def hypot(self, other: Any) -> Any:
        return self._float_input()._binary(other, X.Hypot)

    def copysign(self, other: Any) -> Any:
        return self._float_input()._binary(other, X.Copysign)

    def fmod(self, other: Any) -> Any:
        """C's remainder: the result has the sign of ``self`` (``remainder`` takes other's)."""
        if self._data.dtype.kind in "iub" and isinstance(other, (builtins.int, ElementwiseMixin)):
            o = self._operand(other)
            if o._data.dtype.kind in "iub":
                if (o._data == 0).any():
                    raise RuntimeError("ZeroDivisionError: fmod by zero in an integer tensor")
                return type(self)._wrap(backend.xp_of(self._data).fmod(self._data, o._data))
        return self._binary(other, X.Fmod) if self._data.dtype.kind == "f" else \
            self._float_input()._binary(other, X.Fmod)

    def fmax(self, other: Any) -> Any:
        """Element-wise maximum that ignores nan (nan only where both are nan)."""
        return self._binary(other, X.Fmax)

    def fmin(self, other: Any) -> Any:
        """Element-wise minimum that ignores nan (nan only where both are nan)."""
        return self._binary(other, X.Fmin)

    def ldexp(self, other: Any) -> Any:
        """self * 2**other."""
        return self._float_input() * (2.0 ** self._operand(other)._float_input())

    def nextafter(self, other: Any) -> Any:
        """The next representable float after self towards other (no gradient)."""
        o = self._operand(other)
        return type(self)._wrap(backend.xp_of(self._data).nextafter(self._data, o._data))

    def heaviside(self, values: Any) -> Any:
        """0 where x < 0, ``values`` where x == 0, 1 where x > 0 (no gradient)."""
        v = self._operand(values)
        if v._data.dtype != self._data.dtype:
            raise RuntimeError(f"heaviside is not yet implemented for tensors with different "
                               f"dtypes: {self.dtype} and {v.dtype}")
        xp = backend.xp_of(self._data)
        out = xp.where(self._data == 0, v._data, (self._data > 0).astype(self._data.dtype))
        return type(self)._wrap(out.astype(self._data.dtype, copy=False))

    # ------------------------------------------------------------------ piecewise constant
    def frac(self) -> Any:
        """x - trunc(x)."""
        return self - self.trunc()

    def fix(self) -> Any:
        return self.trunc()

    def sgn(self) -> Any:
        return self.sign()

    def positive(self) -> Any:
        if self._data.dtype.kind == "b":
            raise TypeError("The `+` operator, on a bool tensor is not supported.")
        return self

    def negative(self) -> Any:
        return -self

    def signbit(self) -> Any:
        return type(self)._wrap(backend.xp_of(self._data).signbit(self._data))

    def isposinf(self) -> Any:
        return self == math.inf

    def isneginf(self) -> Any:
        return self == -math.inf

    def isreal(self) -> Any:
        return type(self)._wrap(backend.xp_of(self._data).ones(self.shape, dtype=bool))

    # ------------------------------------------------------------------ logical and bitwise
    def logical_and(self, other: Any) -> Any:
        """Truth of self and other (nonzero is true): a bool tensor."""
        return (self != 0) & (self._operand(other) != 0)

    def logical_or(self, other: Any) -> Any:
        return (self != 0) | (self._operand(other) != 0)

    def logical_xor(self, other: Any) -> Any:
        return (self != 0) ^ (self._operand(other) != 0)

    def logical_not(self) -> Any:
        return self == 0

    def bitwise_and(self, other: Any) -> Any:
        return self._integral("bitwise_and") & other

    def bitwise_or(self, other: Any) -> Any:
        return self._integral("bitwise_or") | other

    def bitwise_xor(self, other: Any) -> Any:
        return self._integral("bitwise_xor") ^ other

    def bitwise_not(self) -> Any:
        return ~self._integral("bitwise_not")

    def bitwise_left_shift(self, other: Any) -> Any:
        return self._integral("bitwise_left_shift")._compare(other, np.left_shift)

    def bitwise_right_shift(self, other: Any) -> Any:
        return self._integral("bitwise_right_shift")._compare(other, np.right_shift)

    __lshift__, __rshift__ = bitwise_left_shift, bitwise_right_shift

    def __rlshift__(self, other: Any) -> Any:
        return self._operand(other).bitwise_left_shift(self)

    def __rrshift__(self, other: Any) -> Any:
        return self._operand(other).bitwise_right_shift(self)

    def _integral(self, name: str) -> Any:
        if self._data.dtype.kind not in "iub":
            raise RuntimeError(f"\"{name}_cpu\" not implemented for '{self.dtype.name}': "
                               "bitwise operations need integer or bool tensors")
        return self


def _inplace_unary(name: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _write_back(self, name, lambda t: getattr(t, name)(*args, **kwargs))

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``."
    return method


def _write_back(self: Any, name: str, compute: Any, *operands: Any) -> Any:
    """``self = compute(self)`` in place: recorded (rebase) while a gradient is needed,
    else written into the array (the result cast to self's dtype, same-kind only)."""
    if self._graph_inplace_needed(name + "_", *operands):
        return self._rebase(name + "_", compute)
    from softgrad.autograd import grad_mode

    with grad_mode.no_grad():
        out = compute(self)._data
    if out.shape != self._data.shape:
        raise RuntimeError(f"{name}_: output with shape {tuple(self.shape)} doesn't match the "
                           f"broadcast shape {tuple(out.shape)}")
    try:
        backend.xp_of(self._data).copyto(self._data, out, casting="same_kind")
    except TypeError:
        raise RuntimeError(f"{name}_: result type {out.dtype} can't be cast to the desired "
                           f"output type {self.dtype.name}") from None
    self._version += 1
    return self


def _inplace_binary(name: str) -> Any:
    def method(self: Any, other: Any, *args: Any, **kwargs: Any) -> Any:
        return _write_back(self, name, lambda t: getattr(t, name)(other, *args, **kwargs),
                           other)

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``."
    return method


for _name in ("tan asin acos atan sinh cosh asinh acosh atanh arcsin arccos arctan arcsinh "
              "arccosh arctanh sinc deg2rad rad2deg log2 log10 exp2 logit erf erfc erfinv "
              "lgamma digamma polygamma mvlgamma frac fix sgn logical_not bitwise_not").split():
    setattr(ElementwiseMixin, _name + "_", _inplace_unary(_name))
for _name in ("xlogy atan2 arctan2 hypot copysign fmod fmax fmin float_power true_divide "
              "logical_and logical_or logical_xor bitwise_and bitwise_or bitwise_xor "
              "bitwise_left_shift bitwise_right_shift ldexp nextafter heaviside").split():
    setattr(ElementwiseMixin, _name + "_", _inplace_binary(_name))
