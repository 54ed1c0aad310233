"""Activation primitives beyond the basic element-wise ones (sigmoid, tanh, relu).

Each is stable for inputs of any magnitude: exponentials only ever see non-positive
arguments. Backward passes use only operations shared by arrays and Tensors, so second
derivatives work; where the array backward reads an intermediate kept by forward (GELU's
Phi(x), SiLU's sigmoid), ``_backward_graph`` recomputes it from the saved input.
"""
from __future__ import annotations

import math
from typing import Any

from softgrad.engine.function import Function
from softgrad.ops import _gelu_kernels
from softgrad.ops.elementwise import Sigmoid

_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_C = 0.044715

# erfc(z) ~= t * exp(-z*z + P(t)) with t = 1 / (1 + z / k), for z >= 0. The coefficients of P
# (lowest degree first) are softgrad's own least-squares fits of log(erfc(z) e^(z^2) / t) on
# Chebyshev nodes against a 30-digit reference. Max relative error of erfc: ~3e-13 (float64
# fit, degree 18, k=3) and ~1e-7 (float32 fit, degree 9, k=2).
_ERFC64 = (3.0, (
    -1.6709772510703005, 1.0000011605758128, 0.4444129973967567, 0.22273738856014444,
    0.0853263840548589, 0.05447735795033064, -0.3106982127308223, 1.2116138458090633,
    -4.535510253269887, 12.576178649851261, -27.709763685973805, 47.95202824587018,
    -64.51621264043274, 66.65282774249123, -51.42608528211331, 28.38620175630875,
    -10.517152581065883, 2.3352003227109286, -0.23460594492254902))
_ERFC32 = (2.0, (
    -1.2655123472213745, 1.0000450611114502, 0.373661607503891, 0.10036858916282654,
    -0.20204491913318634, 0.3191782534122467, -1.1972936391830444, 1.5452561378479004,
    -0.8504877090454102, 0.17682905495166779))


def _erfc_nonneg(z: Any, xp: Any, f64: bool, graph: bool) -> Any:
    """erfc(z) for z >= 0, accurate to the working precision (Horner in t = 1/(1+z/k))."""
    k, coefs = _ERFC64 if f64 else _ERFC32
    t = 1 / (z * (1 / k) + 1)
    if graph:  # Tensors: no in-place updates
        acc = t * coefs[-1]
        for c in coefs[-2:0:-1]:
            acc = (acc + c) * t
        return t * xp.exp(acc + coefs[0] - z * z)
    acc = t * coefs[-1]
    for c in coefs[-2:0:-1]:
        acc += c
        acc *= t
    acc += coefs[0]
    acc -= z * z
    xp.exp(acc, out=acc)
    acc *= t
    return acc


def ndtr(x: Any, xp: Any, f64: bool, graph: bool = False) -> Any:
    """Standard normal CDF Phi(x) = (1 + erf(x / sqrt 2)) / 2, without cancellation."""
    if not graph and x.ndim == 0:  # NumPy turns 0-d results into scalars: work in 1-D
        return ndtr(x.reshape(1), xp, f64).reshape(())
    tail = _erfc_nonneg(xp.abs(x) * _SQRT1_2, xp, f64, graph) * 0.5  # Phi(-|x|)
    return xp.where(x < 0, tail, 1 - tail)


def sigmoid_of(x: Any, xp: Any) -> Any:
    """Stable logistic function on an array (exp of -|x| only); a backward uses
    ``self.call(Sigmoid, x)``, which is this on arrays and recorded on Tensors."""
    e = xp.exp(-xp.abs(x))
    d = e + 1
    return xp.where(x >= 0, 1 / d, e / d)


class LeakyRelu(Function):
    """grad = g where x > 0, else g * negative_slope."""

    def forward(self, x: Any, negative_slope: float = 0.01) -> Any:
        self.slope = negative_slope
        self.save_for_backward(x)
        return self.xp.where(x > 0, x, x * negative_slope)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return self.xp.where(x > 0, g, g * self.slope)


class Elu(Function):
    """scale * elu(x, alpha): grad = g * scale where x > 0, else g * (y + scale * alpha)."""

    def forward(self, x: Any, alpha: float = 1.0, scale: float = 1.0) -> Any:
        xp = self.xp
        self.sa, self.scale = scale * alpha, scale
        neg = xp.expm1(xp.minimum(x, 0))
        neg *= self.sa
        out = xp.where(x > 0, x * scale if scale != 1 else x, neg)
        self.save_for_backward(x, out)
        return out

    def backward(self, g: Any) -> Any:
        x, y = self.saved
        return self.xp.where(x > 0, g * self.scale, g * (y + self.sa))


class Gelu(Function):
    """grad = g * (Phi(x) + x phi(x)) ('none'), or the derivative of the tanh form ('tanh')."""

    def forward(self, x: Any, approximate: str = "none") -> Any:
        xp = self.xp
        self.approximate, self.f64 = approximate, x.dtype.itemsize >= 8
        self.save_for_backward(x)
        if approximate == "tanh":
            self.th = xp.tanh((x * x * _GELU_TANH_C + 1) * x * _SQRT_2_OVER_PI)
            return (self.th + 1) * x * 0.5
        kernels = _gelu_kernels.gelu_kernels(xp, x)
        if kernels is not None:  # the same operations, fused (numba)
            return self._forward_fused(kernels, x)
        self.cdf = ndtr(x, xp, self.f64)
        return x * self.cdf

    def _forward_fused(self, kernels: tuple, x: Any) -> Any:
        xp, t = self.xp, x.dtype.type
        k, coefs = _ERFC32
        acc, self.cdf, out = xp.empty_like(x), xp.empty_like(x), xp.empty_like(x)
        flat = [a.reshape(-1) for a in (x, acc, self.cdf, out)]
        kernels[0](flat[0], flat[1], t(_SQRT1_2), t(1 / k), t(1), *(t(c) for c in coefs))
        xp.exp(acc, out=acc)
        kernels[1](flat[0], flat[1], flat[2], flat[3], t(_SQRT1_2), t(1 / k), t(1), t(0.5))
        return out

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        xp = self.xp
        if self.approximate == "tanh":
            return _gelu_tanh_grad(g, x, self.th)
        cdf = self.cdf
        kernels = _gelu_kernels.gelu_kernels(xp, x, g, cdf)
        if kernels is not None:  # the same operations, fused (numba)
            e, out = xp.empty_like(x), xp.empty_like(x)
            t = x.dtype.type
            kernels[2](x.reshape(-1), e.reshape(-1), t(-0.5))
            xp.exp(e, out=e)
            kernels[3](g.reshape(-1), x.reshape(-1), cdf.reshape(-1), e.reshape(-1),
                       out.reshape(-1), t(_INV_SQRT_2PI))
            return out
        return _gelu_grad(g, x, cdf, xp)

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: tanh(...) or Phi(x) recomputed from the input, without fused kernels."""
        (x,) = self.saved
        xp = self.xp
        if self.approximate == "tanh":
            return _gelu_tanh_grad(g, x, xp.tanh((x * x * _GELU_TANH_C + 1) * x * _SQRT_2_OVER_PI))
        return _gelu_grad(g, x, ndtr(x, xp, self.f64, graph=True), xp)


def _gelu_tanh_grad(g: Any, x: Any, th: Any) -> Any:
    """g * d/dx [x (1 + th) / 2], th = tanh(sqrt(2/pi) (x + c x^3))."""
    inner_d = (x * x * (3 * _GELU_TANH_C) + 1) * _SQRT_2_OVER_PI
    return g * ((th + 1) * 0.5 + x * 0.5 * (1 - th * th) * inner_d)


def _gelu_grad(g: Any, x: Any, cdf: Any, xp: Any) -> Any:
    """g * (Phi(x) + x phi(x))."""
    pdf = xp.exp(x * x * -0.5) * _INV_SQRT_2PI
    return g * (cdf + x * pdf)


class Silu(Function):
    """x * sigmoid(x): grad = g * s * (1 + x * (1 - s)), s = sigmoid(x)."""

    def forward(self, x: Any) -> Any:
        self.s = sigmoid_of(x, self.xp)
        self.save_for_backward(x)
        return x * self.s

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return _silu_grad(g, x, self.s)

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: the sigmoid (an intermediate) recomputed from the input."""
        (x,) = self.saved
        return _silu_grad(g, x, self.call(Sigmoid, x))


def _silu_grad(g: Any, x: Any, s: Any) -> Any:
    """g * s * (1 + x (1 - s)), s = sigmoid(x)."""
    return g * s * (x * (1 - s) + 1)


class Softplus(Function):
    """log(1 + exp(beta x)) / beta (x above threshold/beta): grad = g * sigmoid(beta x)."""

    def forward(self, x: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
        xp = self.xp
        self.beta, self.threshold = beta, threshold
        bx = x * beta if beta != 1 else x
        sp = xp.log1p(xp.exp(-xp.abs(bx)))
        sp += xp.maximum(bx, 0)
        if beta != 1:
            sp /= beta
        self.save_for_backward(x)
        return xp.where(bx > threshold, x, sp)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        bx = x * self.beta if self.beta != 1 else x
        return self.xp.where(bx > self.threshold, g, g * self.call(Sigmoid, bx))


class LogSigmoid(Function):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): grad = g * sigmoid(-x)."""

    def forward(self, x: Any) -> Any:
        xp = self.xp
        self.save_for_backward(x)
        out = xp.minimum(x, 0)
        out -= xp.log1p(xp.exp(-xp.abs(x)))
        return out

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g * self.call(Sigmoid, -x)


class Hardtanh(Function):
    """clip(x, lo, hi): grad = g where lo < x < hi (strictly), else 0."""

    def forward(self, x: Any, min_val: float = -1.0, max_val: float = 1.0) -> Any:
        self.lo, self.hi = min_val, max_val
        self.save_for_backward(x)
        return self.xp.clip(x, min_val, max_val)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return self.xp.where((x > self.lo) & (x < self.hi), g, 0)
