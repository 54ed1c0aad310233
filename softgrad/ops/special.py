"""Special functions: erf, erfc, erfinv, lgamma, digamma, polygamma and the Bessel function I0,
on NumPy alone.

The array functions (``erf``, ``lgamma``, ...) take the array module ``xp`` so they also run
on CuPy. The gamma family works in float64 and casts back: the argument is moved into the
range where an asymptotic (Stirling) series converges to full precision by the recurrences
``Gamma(z + 1) = z Gamma(z)`` and ``psi(z + 1) = psi(z) + 1/z``, and negative arguments go
through the reflection formulas. erf/erfc reuse the erfc fit of ``ops.activation``.
"""
from __future__ import annotations

import math
from typing import Any

from softgrad import backend
from softgrad.engine.function import Function
from softgrad.ops.activation import _ERFC32, _ERFC64, _erfc_nonneg

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_SHIFT = 10.0  # the series below are used for z >= _SHIFT
# B_2k / (2k (2k - 1)), k = 1..8: Stirling's series of lgamma
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156,
             -3617 / 122400)
# Bernoulli numbers B_2k, k = 1..10
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
              43867 / 798, -174611 / 330)


def _f64(xp: Any, x: Any) -> Any:
    return xp.asarray(x, dtype="float64")


def _at_least_1d(fn: Any) -> Any:
    """Run ``fn(xp, x, ...)`` on a 1-d view of a 0-d ``x`` (NumPy turns 0-d results into
    scalars), without NumPy's warnings for the infinities and nans the formulas pass through
    on their way to the right answer, and cast back to ``x``'s dtype."""
    def wrapped(xp: Any, x: Any, *args: Any) -> Any:
        flat = x.reshape(1) if x.ndim == 0 else x
        with backend.np.errstate(all="ignore"):
            out = fn(xp, flat, *args)
        return out.reshape(x.shape).astype(x.dtype, copy=False)

    wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
    return wrapped


# ---------------------------------------------------------------------- error function
@_at_least_1d
def erf(xp: Any, x: Any) -> Any:
    """erf(x): Taylor series for |x| < 0.5, else 1 - erfc(|x|) with the sign of x."""
    f64 = x.dtype.itemsize >= 8
    a = xp.abs(x)
    small = a < 0.5
    s = xp.where(small, x, 0)
    s2 = s * s
    acc = s2 * 0  # Horner in x^2 of sum_n (-1)^n x^(2n) / (n! (2n + 1))
    for n in range(13, -1, -1):
        acc = acc * s2 + (-1) ** n / (math.factorial(n) * (2 * n + 1))
    series = s * acc * _TWO_OVER_SQRT_PI
    tail = 1 - _erfc_nonneg(xp.where(small, 1.0, a).astype(x.dtype, copy=False), xp, f64, False)
    return xp.where(small, series, xp.where(x < 0, -tail, tail))


@_at_least_1d
def erfc(xp: Any, x: Any) -> Any:
    """erfc(x) = 1 - erf(x), accurate in the right tail: the fit for x >= 0, 2 - erfc(-x)."""
    f64 = x.dtype.itemsize >= 8
    a = xp.abs(x)
    small = a < 0.5
    right = _erfc_nonneg(a, xp, f64, False)
    return xp.where(small, 1 - erf(xp, xp.where(small, x, 0)), xp.where(x < 0, 2 - right, right))


@_at_least_1d
def erfcx(xp: Any, x: Any) -> Any:
    """exp(x^2) erfc(x) without overflow: t exp(P(t)) from the erfc fit for x >= 0 (the
    exp(-x^2) factor cancels), 2 exp(x^2) - erfcx(-x) below."""
    k, coefs = _ERFC64 if x.dtype.itemsize >= 8 else _ERFC32
    z = xp.abs(x)
    t = 1 / (z * (1 / k) + 1)
    acc = t * 0
    for c in coefs[:0:-1]:
        acc = (acc + c) * t
    right = t * xp.exp(acc + coefs[0])
    # beyond the fit's range: the asymptotic series 1/(z sqrt pi) sum_k (-1)^k (2k-1)!!/(2z^2)^k
    big = xp.where(z > 50, z, 50.0)
    h = 1 / (big * big * 2)
    series = h * 0
    for k in range(6, 0, -1):
        series = (series + (-1) ** k * math.prod(range(1, 2 * k, 2))) * h
    right = xp.where(z > 50, (series + 1) / (big * math.sqrt(math.pi)), right)
    return xp.where(x < 0, xp.exp(x * x) * 2 - right, right)


@_at_least_1d
def erfinv(xp: Any, x: Any) -> Any:
    """The inverse of erf on (-1, 1) (+-inf at +-1, nan outside): a closed-form first guess
    (relative error ~2e-3), then Newton steps on erf(y) = x in the middle and on
    erfc(y) = 1 - |x| in the tails, where 1 - |x| is exact."""
    x64 = _f64(xp, x)
    a = xp.abs(x64)
    inside = a < 1
    aa = xp.where(inside, a, 0.5)
    k = 0.147  # Winitzki's approximation of erfinv
    ln = xp.log1p(-aa * aa)
    first = 2 / (math.pi * k) + ln / 2
    y = xp.sqrt(xp.sqrt(first * first - ln / k) - first)
    tail = aa >= 0.5
    rest = 1 - aa  # exact for aa >= 0.5
    for _ in range(4):
        slope = xp.exp(-y * y) * _TWO_OVER_SQRT_PI
        step = xp.where(tail, erfc(xp, y) - rest, aa - erf(xp, y)) / slope
        y = y + step
    y = xp.where(inside, y, xp.where(a == 1, math.inf, math.nan))
    return xp.where(x64 < 0, -y, y)


# ---------------------------------------------------------------------- gamma family
def _sin_pi(xp: Any, x: Any) -> Any:
    """|sin(pi x)| without the rounding of pi * x for large |x|."""
    r = x - xp.round(x)
    return xp.abs(xp.sin(math.pi * r))


def _shift_up(xp: Any, z: Any, power: int) -> tuple:
    """Move every z < _SHIFT up by whole steps: returns (z + k, sum_i 1/(z + i)^power) or,
    with power 0, (z + k, prod_i (z + i))."""
    acc = z * 0 + (1.0 if power == 0 else 0.0)
    for _ in range(int(_SHIFT)):
        low = z < _SHIFT
        if not low.any():
            break
        if power == 0:
            acc = xp.where(low, acc * z, acc)
        else:
            acc = xp.where(low, acc + 1 / z ** power, acc)
        z = xp.where(low, z + 1, z)
    return z, acc


@_at_least_1d
def lgamma(xp: Any, x: Any) -> Any:
    """log|Gamma(x)|: Stirling's series at z >= 10 after shifting, reflection for x < 0.5."""
    x64 = _f64(xp, x)
    neg = x64 < 0.5
    z = xp.where(neg, 1 - x64, x64)
    finite = xp.isfinite(z)
    z = xp.where(finite, z, _SHIFT)
    z, prod = _shift_up(xp, z, 0)
    inv, inv2 = 1 / z, 1 / (z * z)
    series = z * 0
    for c in reversed(_STIRLING):
        series = series * inv2 + c
    out = (z - 0.5) * xp.log(z) - z + _HALF_LOG_2PI + series * inv - xp.log(prod)
    out = xp.where(finite, out, xp.abs(x64))
    with_reflection = math.log(math.pi) - xp.log(_sin_pi(xp, x64)) - out
    out = xp.where(neg, with_reflection, out)
    out = xp.where((x64 == 1) | (x64 == 2), 0.0, out)  # the two zeros, exactly
    return xp.where(xp.isinf(x64), math.inf, out)


def _cot_derivative_poly(n: int) -> list:
    """Coefficients (lowest degree first) of Q_n with d^n/dx^n cot(pi x) = pi^n Q_n(cot pi x)."""
    q = [0.0, 1.0]
    for _ in range(n):  # Q' (c) * -(1 + c^2)
        d = [k * q[k] for k in range(1, len(q))] + [0.0, 0.0]
        q = [-(d[k] + (d[k - 2] if k >= 2 else 0.0)) for k in range(len(d))]
    return q


def _polygamma_pos(xp: Any, n: int, z: Any) -> Any:
    """psi^(n)(z) for z >= 0.5 (finite): shifted asymptotic series."""
    z, acc = _shift_up(xp, z, n + 1)
    inv = 1 / z
    inv2 = inv * inv
    if n == 0:  # log z - 1/(2z) - sum_k B_2k / (2k z^2k)
        series = z * 0
        for k in range(len(_BERNOULLI), 0, -1):
            series = (series + _BERNOULLI[k - 1] / (2 * k)) * inv2
        return xp.log(z) - inv * 0.5 - series - acc
    # (-1)^(n+1) [(n-1)!/z^n + n!/(2 z^(n+1)) + sum_k B_2k (2k+n-1)!/((2k)! z^(2k+n))]
    series = z * 0
    for k in range(len(_BERNOULLI), 0, -1):
        c = _BERNOULLI[k - 1] * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
        series = (series + c) * inv2
    head = math.factorial(n - 1) + math.factorial(n) * 0.5 * inv
    sign = -1.0 if n % 2 == 0 else 1.0
    return sign * ((head + series) * inv ** n + math.factorial(n) * acc)


@_at_least_1d
def polygamma(xp: Any, x: Any, n: int = 0) -> Any:
    """psi^(n)(x), the n-th derivative of digamma (n = 0: digamma itself). For x < 0.5 the
    reflection psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) Q_n(cot pi x)."""
    x64 = _f64(xp, x)
    neg = x64 < 0.5
    z = xp.where(neg, 1 - x64, x64)
    finite = xp.isfinite(z)
    out = _polygamma_pos(xp, n, xp.where(finite, z, _SHIFT))
    big = xp.log(xp.where(finite, 1.0, xp.abs(z))) if n == 0 else 0.0  # psi(+inf) = inf
    out = xp.where(finite, out, big)
    r = x64 - xp.round(x64)
    c = 1 / xp.tan(math.pi * xp.where(r == 0, 0.5, r))
    q = c * 0
    for coef in reversed(_cot_derivative_poly(n)):
        q = q * c + coef
    reflected = (-1) ** n * out - math.pi ** (n + 1) * q
    if n == 0:  # digamma(+-0) = -+inf, nan at the negative integers
        pole = xp.where(x64 == 0, xp.where(xp.signbit(x64), math.inf, -math.inf), math.nan)
    else:  # the limit from the right: (-1)^(n+1) n! / x^(n+1)
        pole = math.inf if n % 2 == 1 else -math.inf
    reflected = xp.where(r == 0, pole, reflected)
    return xp.where(xp.isnan(x64), math.nan, xp.where(neg, reflected, out))


def digamma(xp: Any, x: Any) -> Any:
    """psi(x) = d/dx log Gamma(x)."""
    return polygamma(xp, x, 0)


# ---------------------------------------------------------------------- Bessel functions
def bessel_i(x: Any, order: int) -> Any:
    """The modified Bessel function I_order(x), order 0 or 1, by its power series
    sum_k (x/2)^(2k + order) / (k! (k + order)!). Its terms share one sign and fall below
    rounding before k = |x| + 30. Only arithmetic: it runs on arrays and on Tensors alike."""
    half = x * 0.5
    q = half * half
    term = half if order else half * 0 + 1
    total = term
    bound = float(abs(x).max()) if math.prod(x.shape) else 0.0
    for k in range(1, (int(bound) if bound < 800 else 800) + 30):  # I_n(800) overflows
        term = term * q / (k * (k + order))
        total = total + term
    return total


# ---------------------------------------------------------------------- primitives
class I0(Function):
    """The modified Bessel function I0: grad = g * I1(x)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return bessel_i(x, 0)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g * bessel_i(x, 1)


class Erf(Function):
    """grad = g * 2/sqrt(pi) * exp(-x^2)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return erf(self.xp, x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g * self.xp.exp(-(x * x)) * _TWO_OVER_SQRT_PI


class Erfc(Function):
    """grad = -g * 2/sqrt(pi) * exp(-x^2)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return erfc(self.xp, x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g * self.xp.exp(-(x * x)) * -_TWO_OVER_SQRT_PI


class Erfcx(Function):
    """exp(x^2) erfc(x): grad = g * (2 x erfcx(x) - 2/sqrt(pi)) (saves the output)."""

    def forward(self, x: Any) -> Any:
        out = erfcx(self.xp, x)
        self.save_for_backward(x, out)
        return out

    def backward(self, g: Any) -> Any:
        x, y = self.saved
        return g * (x * y * 2 - _TWO_OVER_SQRT_PI)


class Erfinv(Function):
    """grad = g * sqrt(pi)/2 * exp(y^2), y = erfinv(x) (saves the output)."""

    def forward(self, x: Any) -> Any:
        out = erfinv(self.xp, x)
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (y,) = self.saved
        return g * self.xp.exp(y * y) * _SQRT_PI_OVER_2


class Lgamma(Function):
    """grad = g * digamma(x)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return lgamma(self.xp, x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g * self.call(Polygamma, x, n=0)


class Polygamma(Function):
    """psi^(n)(x) (n = 0: digamma): grad = g * psi^(n+1)(x)."""

    def forward(self, x: Any, n: int = 0) -> Any:
        self.n = n
        self.save_for_backward(x)
        return polygamma(self.xp, x, n)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g * self.call(Polygamma, x, n=self.n + 1)


class quiet:
    """``errstate(all='ignore')`` for NumPy (CuPy does not warn), as a context manager."""

    def __init__(self, xp: Any) -> None:
        self.ctx = xp.errstate(all="ignore") if hasattr(xp, "errstate") else None

    def __enter__(self) -> None:
        if self.ctx is not None:
            self.ctx.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self.ctx is not None:
            self.ctx.__exit__(*exc)
