"""Element-wise primitives. Broadcasting is undone by the engine, never here."""
from __future__ import annotations

import math
from typing import Any

from softgrad.engine.function import Function

_INF = float("inf")
_NAN = float("nan")


class Add(Function):
    """grad_a = g, grad_b = g."""

    def forward(self, a: Any, b: Any) -> Any:
        return a + b

    def backward(self, g: Any) -> tuple:
        return g, g


class Sub(Function):
    """grad_a = g, grad_b = -g."""

    def forward(self, a: Any, b: Any) -> Any:
        return a - b

    def backward(self, g: Any) -> tuple:
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    """grad_a = g * b, grad_b = g * a."""

    def forward(self, a: Any, b: Any) -> Any:
        self.save_for_backward(a, b)
        return a * b

    def backward(self, g: Any) -> tuple:
        a, b = self.saved
        need = self.needs_input_grad
        return (g * b if need[0] else None), (g * a if need[1] else None)


class Div(Function):
    """grad_a = g / b, grad_b = -g * a / b**2."""

    def forward(self, a: Any, b: Any) -> Any:
        self.save_for_backward(a, b)
        return a / b

    def backward(self, g: Any) -> tuple:
        a, b = self.saved
        need = self.needs_input_grad
        ga = g / b if need[0] else None
        gb = -g * a / (b * b) if need[1] else None
        return ga, gb


class Neg(Function):
    """grad = -g."""

    def forward(self, a: Any) -> Any:
        return -a

    def backward(self, g: Any) -> Any:
        return -g


class Pow(Function):
    """x ** y for tensors: grad_x = g*y*x**(y-1) (0 where y == 0), grad_y = g * x**y * log(x)."""

    def forward(self, a: Any, b: Any) -> Any:
        out = a**b
        self.save_for_backward(a, b, out)
        return out

    def backward(self, g: Any) -> tuple:
        a, b, out = self.saved
        xp = self.xp
        need = self.needs_input_grad
        ga = xp.where(b == 0, 0, g * b * a ** (b - 1)) if need[0] else None
        gb = None
        if need[1]:
            # log(x) for x > 0; at x == 0 the term is 0 for y >= 0 (else -inf); nan for x < 0
            # (each where pairs an array with a Python float, so float32 stays float32)
            log_a = xp.where(a < 0, _NAN, xp.where(a == 0, -_INF, xp.log(xp.where(a > 0, a, 1))))
            gb = g * xp.where((a == 0) & (b >= 0), 0, out * log_a)
        return ga, gb


class PowScalar(Function):
    """x ** p for a Python number p: grad = g * p * x**(p-1) (0 when p == 0)."""

    def forward(self, a: Any, p: float) -> Any:
        self.p = p
        self.save_for_backward(a)
        return a**p

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        p = self.p
        if p == 0:
            return g * 0
        if p == 2:
            return g * 2 * a
        return g * p * a ** (p - 1)


class RPowScalar(Function):
    """c ** x for a Python number c: grad = g * c**x * log(c) (0 for c == 0 and x >= 0)."""

    def forward(self, a: Any, c: float) -> Any:
        out = self.xp.asarray(c, dtype=a.dtype) ** a
        self.c = c
        self.save_for_backward(a, out)
        return out

    def backward(self, g: Any) -> Any:
        a, out = self.saved
        if self.c > 0:
            return g * out * math.log(self.c)
        if self.c < 0:
            return g * _NAN
        return g * self.xp.where(a >= 0, 0, -_INF)


class FloorDiv(Function):
    """floor(a / b), piecewise constant: grad_a = grad_b = 0."""

    def forward(self, a: Any, b: Any) -> Any:
        return a // b

    def backward(self, g: Any) -> tuple:
        zero = g * 0
        return zero, zero


class Remainder(Function):
    """a - b * floor(a / b) (sign of b, as Python): grad_a = g, grad_b = -g * floor(a / b)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.save_for_backward(a, b)
        return a % b

    def backward(self, g: Any) -> tuple:
        a, b = self.saved
        gb = -g * self.xp.floor(a / b) if self.needs_input_grad[1] else None
        return g, gb


class Exp(Function):
    """grad = g * exp(x) (saves the output)."""

    def forward(self, a: Any) -> Any:
        out = self.xp.exp(a)
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (out,) = self.saved
        return g * out


class Log(Function):
    """grad = g / x."""

    def forward(self, a: Any) -> Any:
        self.save_for_backward(a)
        return self.xp.log(a)

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        return g / a


class Log1p(Function):
    """grad = g / (1 + x)."""

    def forward(self, a: Any) -> Any:
        self.save_for_backward(a)
        return self.xp.log1p(a)

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        return g / (a + 1)


class Expm1(Function):
    """grad = g * (expm1(x) + 1)."""

    def forward(self, a: Any) -> Any:
        out = self.xp.expm1(a)
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (out,) = self.saved
        return g * (out + 1)


class Sqrt(Function):
    """grad = g / (2 sqrt(x))."""

    def forward(self, a: Any) -> Any:
        out = self.xp.sqrt(a)
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (out,) = self.saved
        return g / (out * 2)


class Rsqrt(Function):
    """grad = -g * rsqrt(x)**3 / 2."""

    def forward(self, a: Any) -> Any:
        out = 1 / self.xp.sqrt(a)
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (out,) = self.saved
        return g * out * out * out * -0.5


class Sin(Function):
    """grad = g * cos(x)."""

    def forward(self, a: Any) -> Any:
        self.save_for_backward(a)
        return self.xp.sin(a)

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        return g * self.xp.cos(a)


class Cos(Function):
    """grad = -g * sin(x)."""

    def forward(self, a: Any) -> Any:
        self.save_for_backward(a)
        return self.xp.cos(a)

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        return -g * self.xp.sin(a)


class Tanh(Function):
    """grad = g * (1 - tanh(x)**2) (saves the output)."""

    def forward(self, a: Any) -> Any:
        out = self.xp.tanh(a)
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (y,) = self.saved
        return g * (1 - y * y)


class Sigmoid(Function):
    """grad = g * f * (1 - f), the diagonal of sigmoid's Jacobian (saves the output)."""

    def forward(self, a: Any) -> Any:
        xp = self.xp
        # exp of a non-positive number only: stable for any input
        e = xp.exp(-xp.abs(a))
        d = e + 1
        out = xp.where(a >= 0, 1 / d, e / d).astype(a.dtype, copy=False)
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (y,) = self.saved
        return g * y * (1 - y)


class Relu(Function):
    """grad = g * (x > 0) (saves the output)."""

    def forward(self, a: Any) -> Any:
        out = self.xp.maximum(a, 0)
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (y,) = self.saved
        return g * (y > 0)


class Abs(Function):
    """grad = g * sign(x)."""

    def forward(self, a: Any) -> Any:
        self.save_for_backward(a)
        return self.xp.abs(a)

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        return g * self.xp.sign(a)


class Clamp(Function):
    """grad = g where lo <= x <= hi, else 0."""

    def forward(self, a: Any, lo: float | None = None, hi: float | None = None) -> Any:
        self.save_for_backward(a)
        self.lo, self.hi = lo, hi
        return self.xp.clip(a, lo, hi)

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        mask = True
        if self.lo is not None:
            mask = a >= self.lo
        if self.hi is not None:
            mask = (a <= self.hi) & mask
        return g * mask


class ZeroGrad(Function):
    """Piecewise-constant functions (sign, floor, ceil, round): grad = 0."""

    def forward(self, a: Any, fn: str = "sign", decimals: int = 0) -> Any:
        xp = self.xp
        if fn == "round":
            return xp.round(a, decimals)
        return getattr(xp, fn)(a)

    def backward(self, g: Any) -> Any:
        return g * 0


class Maximum(Function):
    """grad goes to the larger input; ties split evenly (as PyTorch)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.save_for_backward(a, b)
        return self.xp.maximum(a, b)

    def backward(self, g: Any) -> tuple:
        a, b = self.saved
        return _split_by_mask(self.xp, g, a > b, a == b)


class Minimum(Function):
    """grad goes to the smaller input; ties split evenly (as PyTorch)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.save_for_backward(a, b)
        return self.xp.minimum(a, b)

    def backward(self, g: Any) -> tuple:
        a, b = self.saved
        return _split_by_mask(self.xp, g, a < b, a == b)


def _split_by_mask(xp: Any, g: Any, first: Any, tie: Any) -> tuple:
    ga = xp.where(first, g, xp.where(tie, g * 0.5, 0))
    return ga, g - ga


class Where(Function):
    """where(cond, a, b): grad_a = g * cond, grad_b = g * ~cond."""

    def forward(self, cond: Any, a: Any, b: Any) -> Any:
        self.save_for_backward(cond)
        return self.xp.where(cond, a, b)

    def backward(self, g: Any) -> tuple:
        (cond,) = self.saved
        need = self.needs_input_grad
        ga = self.xp.where(cond, g, 0) if need[1] else None
        gb = self.xp.where(cond, 0, g) if need[2] else None
        return None, ga, gb


class Cast(Function):
    """Change dtype: grad is cast back to the input's dtype by the engine."""

    def forward(self, a: Any, dtype: Any = None) -> Any:
        return a.astype(dtype)

    def backward(self, g: Any) -> Any:
        return g
