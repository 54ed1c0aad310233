"""More element-wise primitives: trigonometric and hyperbolic functions and their inverses,
log2/log10, sinc, and the binary atan2, hypot, logaddexp, xlogy, copysign, fmod, fmax, fmin.

Backward passes use only what arrays and Tensors share, so second derivatives work.
"""
from __future__ import annotations

import math
from typing import Any

from softgrad.engine.function import Function

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


# ---------------------------------------------------------------------- unary
class Tan(Function):
    """grad = g * (1 + tan(x)^2) (saves the output)."""

    def forward(self, x: Any) -> Any:
        out = self.xp.tan(x)
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (y,) = self.saved
        return g * (y * y + 1)


class Asin(Function):
    """grad = g / sqrt(1 - x^2)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return self.xp.arcsin(x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g / self.xp.sqrt(1 - x * x)


class Acos(Function):
    """grad = -g / sqrt(1 - x^2)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return self.xp.arccos(x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return -g / self.xp.sqrt(1 - x * x)


class Atan(Function):
    """grad = g / (1 + x^2)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return self.xp.arctan(x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g / (x * x + 1)


class Sinh(Function):
    """grad = g * cosh(x)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return self.xp.sinh(x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g * self.xp.cosh(x)


class Cosh(Function):
    """grad = g * sinh(x)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return self.xp.cosh(x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g * self.xp.sinh(x)


class Asinh(Function):
    """grad = g / sqrt(x^2 + 1)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return self.xp.arcsinh(x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g / self.xp.sqrt(x * x + 1)


class Acosh(Function):
    """grad = g / sqrt(x^2 - 1)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return self.xp.arccosh(x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g / self.xp.sqrt(x * x - 1)


class Atanh(Function):
    """grad = g / (1 - x^2)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return self.xp.arctanh(x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g / (1 - x * x)


class Log2(Function):
    """grad = g / (x ln 2)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return self.xp.log2(x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g / (x * _LN2)


class Log10(Function):
    """grad = g / (x ln 10)."""

    def forward(self, x: Any) -> Any:
        self.save_for_backward(x)
        return self.xp.log10(x)

    def backward(self, g: Any) -> Any:
        (x,) = self.saved
        return g / (x * _LN10)


class Sinc(Function):
    """sin(pi x) / (pi x), 1 at 0: grad = g * (cos(pi x) - sinc(x)) / x, 0 at x = 0."""

    def forward(self, x: Any) -> Any:
        xp = self.xp
        safe = xp.where(x == 0, 1, x).astype(x.dtype, copy=False)
        out = xp.where(x == 0, 1, xp.sin(safe * math.pi) / (safe * math.pi))
        out = out.astype(x.dtype, copy=False)
        self.save_for_backward(x, out)
        return out

    def backward(self, g: Any) -> Any:
        x, y = self.saved
        xp = self.xp
        zero = x == 0
        safe = xp.where(zero, 1.0, x)
        return xp.where(zero, 0.0, g * (xp.cos(safe * math.pi) - y) / safe)


# ---------------------------------------------------------------------- binary
class Atan2(Function):
    """atan2(y, x): grad_y = g x / (x^2 + y^2), grad_x = -g y / (x^2 + y^2)."""

    def forward(self, y: Any, x: Any) -> Any:
        self.save_for_backward(y, x)
        return self.xp.arctan2(y, x)

    def backward(self, g: Any) -> tuple:
        y, x = self.saved
        gr = g / (x * x + y * y)
        need = self.needs_input_grad
        return (gr * x if need[0] else None), (-gr * y if need[1] else None)


class Hypot(Function):
    """sqrt(a^2 + b^2) without overflow: grad_a = g a / out, grad_b = g b / out."""

    def forward(self, a: Any, b: Any) -> Any:
        out = self.xp.hypot(a, b)
        self.save_for_backward(a, b, out)
        return out

    def backward(self, g: Any) -> tuple:
        a, b, out = self.saved
        gr = g / out
        need = self.needs_input_grad
        return (gr * a if need[0] else None), (gr * b if need[1] else None)


class LogAddExp(Function):
    """log(exp(a) + exp(b)): grad_a = g exp(a - out), grad_b = g exp(b - out)."""

    def forward(self, a: Any, b: Any) -> Any:
        out = self.xp.logaddexp(a, b)
        self.save_for_backward(a, b, out)
        return out

    def backward(self, g: Any) -> tuple:
        a, b, out = self.saved
        xp, need = self.xp, self.needs_input_grad
        return ((g * xp.exp(a - out)) if need[0] else None,
                (g * xp.exp(b - out)) if need[1] else None)


class Xlogy(Function):
    """x log(y), 0 where x == 0 (unless y is nan): grad_x = g log(y), grad_y = g x / y.
    With ``log1p``: x log1p(y), grad_x = g log1p(y), grad_y = g x / (1 + y)."""

    def forward(self, x: Any, y: Any, log1p: bool = False) -> Any:
        xp = self.xp
        self.log1p = log1p
        self.save_for_backward(x, y)
        log = xp.log1p if log1p else xp.log
        out = xp.where(x == 0, 0, x * log(xp.where(x == 0, 0 if log1p else 1, y)))
        return xp.where(y != y, y, out).astype(xp.result_type(x, y), copy=False)

    def backward(self, g: Any) -> tuple:
        x, y = self.saved
        xp, need = self.xp, self.needs_input_grad
        gx = g * (xp.log1p(y) if self.log1p else xp.log(y)) if need[0] else None
        gy = g * x / (y + 1 if self.log1p else y) if need[1] else None
        return gx, gy


class Copysign(Function):
    """|a| with the sign of b: grad_a = g * out / a (0 where a == 0), grad_b = 0."""

    def forward(self, a: Any, b: Any) -> Any:
        out = self.xp.copysign(a, b)
        self.save_for_backward(a, out)
        return out

    def backward(self, g: Any) -> tuple:
        a, out = self.saved
        xp = self.xp
        zero = a == 0
        ga = xp.where(zero, 0.0, g * out / xp.where(zero, 1.0, a))
        return ga, (g * 0 if self.needs_input_grad[1] else None)


class Fmod(Function):
    """a - b * trunc(a / b) (sign of a, as C): grad_a = g, grad_b = -g * trunc(a / b)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.save_for_backward(a, b)
        return self.xp.fmod(a, b)

    def backward(self, g: Any) -> tuple:
        a, b = self.saved
        gb = None
        if self.needs_input_grad[1]:
            gb = -g * self.xp.trunc(a / b)
        return g, gb


class Fmax(Function):
    """max ignoring nan: grad_a = g where a >= b or b is nan, else grad_b = g."""

    def forward(self, a: Any, b: Any) -> Any:
        self.save_for_backward(a, b)
        return self.xp.fmax(a, b)

    def backward(self, g: Any) -> tuple:
        a, b = self.saved
        first = (a >= b) | (b != b)
        xp = self.xp
        return xp.where(first, g, 0.0), xp.where(first, 0.0, g)


class Fmin(Function):
    """min ignoring nan: grad_a = g where a <= b or b is nan, else grad_b = g."""

    def forward(self, a: Any, b: Any) -> Any:
        self.save_for_backward(a, b)
        return self.xp.fmin(a, b)

    def backward(self, g: Any) -> tuple:
        a, b = self.saved
        first = (a <= b) | (b != b)
        xp = self.xp
        return xp.where(first, g, 0.0), xp.where(first, 0.0, g)
