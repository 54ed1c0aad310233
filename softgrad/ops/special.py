"""Special functions: lgamma, digamma, polygamma, erf, erfc, erfinv (forward + VJP).

The kernels work on any array module ``xp`` (NumPy or CuPy), compute in float64 and return
the input's dtype. Each derivative is another function of this family, so backward in graph
mode (``create_graph=True``) records it through ``xp.apply`` and can be differentiated again.
"""
from __future__ import annotations

import math
from typing import Any

from softgrad.autograd.function import Function
from softgrad.ops.activation import _erfc_nonneg

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2.0
# Lanczos approximation of Gamma (g = 7, 9 terms): public constants, ~1e-15 relative error.
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7)
# Bernoulli numbers B_2, B_4, ..., B_20 for the asymptotic series of digamma and polygamma.
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
              43867 / 798, -174611 / 330)


def _f64(xp: Any, x: Any) -> Any:
    return x.astype(xp.float64) if x.dtype != xp.float64 else x


def lgamma(x: Any, xp: Any) -> Any:
    """log|Gamma(x)| (inf at the poles 0, -1, -2, ...)."""
    z = _f64(xp, x)
    with _quiet(xp):
        left = z < 0.5
        w = xp.where(left, 1.0 - z, z) - 1.0  # Lanczos runs on w + 1 >= 0.5
        acc = xp.full(w.shape, _LANCZOS[0])
        for i, c in enumerate(_LANCZOS[1:], start=1):
            acc = acc + c / (w + i)
        t = w + _LANCZOS_G + 0.5
        right = _HALF_LOG_2PI + (w + 0.5) * xp.log(t) - t + xp.log(acc)
        right = xp.where(xp.isinf(z), xp.inf, right)
        sin_pi = xp.abs(xp.sin(math.pi * (z - 2.0 * xp.floor(z / 2.0))))
        reflected = math.log(math.pi) - xp.log(sin_pi) - right
        out = xp.where(left, xp.where((z == xp.floor(z)) | xp.isinf(z), xp.inf, reflected), right)
    return out.astype(x.dtype)


def digamma(x: Any, xp: Any) -> Any:
    """d/dx lgamma(x): -inf at 0, nan at negative integers and -inf."""
    z = _f64(xp, x)
    with _quiet(xp):
        neg = z < 0
        pole = (z == xp.floor(z)) & (z <= 0)
        # reflection: psi(x) = psi(1 - x) - pi / tan(pi x) for x < 0
        frac = z - xp.floor(z)
        cot = xp.where(neg, math.pi / xp.tan(math.pi * frac), 0.0)
        w = xp.where(neg, 1.0 - z, z)
        acc = xp.zeros(w.shape)
        for _ in range(10):  # psi(w) = psi(w + 1) - 1/w until w >= 10
            small = w < 10
            acc = acc - xp.where(small, 1.0 / xp.where(small, w, 1.0), 0.0)
            w = xp.where(small, w + 1.0, w)
        inv2 = 1.0 / (w * w)
        series = xp.zeros(w.shape)
        for k in range(len(_BERNOULLI) - 1, -1, -1):  # sum B_2k / (2k w^2k), Horner in 1/w^2
            series = (series + _BERNOULLI[k] / (2 * (k + 1))) * inv2
        out = acc + xp.log(w) - 0.5 / w - series - cot
        out = xp.where(pole, xp.where(z == 0, -xp.inf, xp.nan), out)
        out = xp.where(xp.isneginf(z), xp.nan, out)
    return out.astype(x.dtype)


def polygamma(n: int, x: Any, xp: Any) -> Any:
    """The n-th derivative of digamma (n >= 0)."""
    if n == 0:
        return digamma(x, xp)
    z = _f64(xp, x)
    sign = 1.0 if n % 2 == 1 else -1.0  # (-1)^(n+1)
    fact = math.factorial(n)
    big = 20.0 + n
    with _quiet(xp):
        finite = xp.isfinite(z)
        w = xp.where(finite, z, big)
        lowest = float(w.min()) if w.size else big
        acc = xp.zeros(w.shape)
        for _ in range(max(0, int(math.ceil(big - lowest)))):
            small = w < big  # psi_n(w) = psi_n(w + 1) + (-1)^(n+1) n! / w^(n+1)
            acc = acc + xp.where(small, 1.0 / xp.where(small, w, 1.0) ** (n + 1), 0.0)
            w = xp.where(small, w + 1.0, w)
        series = math.factorial(n - 1) / w**n + fact / (2.0 * w ** (n + 1))
        for k, b in enumerate(_BERNOULLI, start=1):
            coef = b * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
            series = series + coef / w ** (2 * k + n)
        out = sign * (fact * acc + series)
        pole = (z == xp.floor(z)) & (z <= 0)
        out = xp.where(pole, xp.inf if n % 2 == 1 else xp.nan, out)
        out = xp.where(finite, out, xp.where(xp.isposinf(z), 0.0, xp.nan))
    return out.astype(x.dtype)


def erfc(x: Any, xp: Any) -> Any:
    """Complementary error function, accurate in the right tail."""
    z = _f64(xp, x).reshape(-1)  # 1-D: the erfc kernel works in place
    tail = _erfc_nonneg(xp.abs(z), xp, True, False)
    return xp.where(z < 0, 2.0 - tail, tail).reshape(x.shape).astype(x.dtype)


def erf(x: Any, xp: Any) -> Any:
    """Error function (Taylor series near 0, 1 - erfc elsewhere)."""
    z = _f64(xp, x).reshape(-1)  # 1-D: the erfc kernel works in place
    a = xp.abs(z)
    z2 = z * z
    term, series = z.copy(), z.copy()
    for k in range(1, 16):  # |z| < 0.5: sum (-1)^k z^(2k+1) / (k! (2k+1))
        term = term * (-z2) / k
        series = series + term / (2 * k + 1)
    far = xp.sign(z) * (1.0 - _erfc_nonneg(a, xp, True, False))
    return xp.where(a < 0.5, series * _TWO_OVER_SQRT_PI, far).reshape(x.shape).astype(x.dtype)


def erfinv(y: Any, xp: Any) -> Any:
    """Inverse error function on [-1, 1] (+-inf at +-1, nan outside)."""
    v = _f64(xp, y).reshape(-1)  # 1-D: NumPy turns 0-d results into immutable scalars
    with _quiet(xp):
        a = xp.abs(v)
        # a closed-form first guess (~2e-3 relative error), then two Halley steps (cubic
        # convergence) on erf near 0 and on erfc in the tails, where 1 - a keeps its
        # relative precision
        log1m = xp.log1p(-a * a)
        c = 2.0 / (math.pi * 0.147) + 0.5 * log1m
        x = xp.sqrt(xp.maximum(xp.sqrt(c * c - log1m / 0.147) - c, 0.0))
        centre = a <= 0.5
        tail = (a > 0.5) & (a < 1)
        for mask, fn, target, sign in ((centre, erf, a, 1.0), (tail, erfc, 1.0 - a, -1.0)):
            if not bool(mask.any()):
                continue
            xs, ts = x[mask], target[mask]
            for _ in range(2):
                fx = fn(xs, xp) - ts
                slope = sign * _TWO_OVER_SQRT_PI * xp.exp(-xs * xs)
                xs = xs - fx / (slope + xs * fx)
            x[mask] = xs
        x = xp.where(a == 1, xp.inf, xp.where(a > 1, xp.nan, x))
        out = xp.sign(v) * x
    return out.reshape(y.shape).astype(y.dtype)


class _quiet:
    """``errstate(all='ignore')`` for NumPy (CuPy does not warn)."""

    def __init__(self, xp: Any) -> None:
        self.ctx = xp.errstate(all="ignore") if hasattr(xp, "errstate") else None

    def __enter__(self) -> None:
        if self.ctx is not None:
            self.ctx.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self.ctx is not None:
            self.ctx.__exit__(*exc)


class Lgamma(Function):
    """grad = g * digamma(x)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return lgamma(x, self.xp)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        if self._graph:
            return g * self.xp.apply(Digamma, x)
        return g * digamma(x, self.xp)


class Digamma(Function):
    """grad = g * polygamma(1, x)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return digamma(x, self.xp)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        if self._graph:
            return g * self.xp.apply(Polygamma, x, n=1)
        return g * polygamma(1, x, self.xp)


class Polygamma(Function):
    """grad = g * polygamma(n + 1, x)."""

    def forward(self, x: Any, n: int = 1) -> Any:
        self.n = n
        self.save_for_backward(x)
        return polygamma(n, x, self.xp)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        if self._graph:
            return g * self.xp.apply(Polygamma, x, n=self.n + 1)
        return g * polygamma(self.n + 1, x, self.xp)


class Erf(Function):
    """grad = g * 2/sqrt(pi) * exp(-x^2)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return erf(x, self.xp)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g * self.xp.exp(-(x * x)) * _TWO_OVER_SQRT_PI


class Erfc(Function):
    """grad = -g * 2/sqrt(pi) * exp(-x^2)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return erfc(x, self.xp)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g * self.xp.exp(-(x * x)) * -_TWO_OVER_SQRT_PI


class Erfinv(Function):
    """grad = g * sqrt(pi)/2 * exp(erfinv(x)^2) (saves the output)."""

    def forward(self, x: Any) -> Any:
        out = erfinv(x, self.xp)
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (out,) = self.saved
        return g * self.xp.exp(out * out) * _SQRT_PI_OVER_2
