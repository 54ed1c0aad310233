"""The regularised incomplete gamma function and reparameterised Gamma draws.

``gammainc(a, x) = P(a, x)`` is the Gamma(a, 1) CDF. A Gamma draw ``x`` is a differentiable
function of its concentration ``a`` through the CDF (implicit reparameterisation):
``dx/da = -(dP/da) / (dP/dx)``, with ``dP/dx`` the density and ``dP/da`` a float64 central
difference of P (relative accuracy ~1e-8).
"""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.engine.function import Function
from softgrad.ops.special import _f64, lgamma
from softgrad.ops.special import quiet as _quiet
from softgrad.ops.undifferentiable import Undifferentiable

_MAX_TERMS = 100_000
_TOL = 1e-15
_BLOCK = 8  # series terms / fraction steps between convergence checks


def _log_prefactor(a: Any, x: Any, xp: Any) -> Any:
    """log(x^a e^-x / Gamma(a))."""
    return a * xp.log(x) - x - lgamma(xp, a)


def _series(a: Any, x: Any, xp: Any) -> Any:
    """P(a, x) by its power series (x < a + 1): e^-x x^a / Gamma(a+1) sum x^n / (a+1)_n.

    Runs in blocks of ``_BLOCK`` terms on the unconverged elements only, so the cost follows
    the slowest ones.
    """
    total = 1.0 / a
    live = xp.arange(a.shape[0])
    term, den, xl, tot = total.copy(), a.copy(), x, total.copy()
    for _ in range(0, _MAX_TERMS, _BLOCK):
        for _ in range(_BLOCK):
            den = den + 1.0
            term = term * xl / den
            tot = tot + term
        total[live] = tot
        going = xp.abs(term) > xp.abs(tot) * _TOL
        if not bool(going.any()):
            break
        live, term, den, xl, tot = live[going], term[going], den[going], xl[going], tot[going]
    return total * xp.exp(_log_prefactor(a, x, xp))


def _continued_fraction(a: Any, x: Any, xp: Any) -> Any:
    """Q(a, x) = 1 - P(a, x) by its continued fraction (x >= a + 1), modified Lentz, in
    blocks of ``_BLOCK`` steps on the unconverged elements."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = xp.full(x.shape, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    out = h.copy()
    live = xp.arange(a.shape[0])
    al = a
    for start in range(1, _MAX_TERMS, _BLOCK):
        for i in range(start, start + _BLOCK):
            an = -i * (i - al)
            b = b + 2.0
            d = an * d + b
            d = 1.0 / xp.where(xp.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = xp.where(xp.abs(c) < tiny, tiny, c)
            delta = d * c
            h = h * delta
        out[live] = h
        going = xp.abs(delta - 1.0) > _TOL
        if not bool(going.any()):
            break
        live, al, b, c, d, h = live[going], al[going], b[going], c[going], d[going], h[going]
    return out * xp.exp(_log_prefactor(a, x, xp))


def gammainc(a: Any, x: Any, xp: Any) -> Any:
    """Regularised lower incomplete gamma P(a, x) for a > 0, x >= 0 (float64 arrays)."""
    a, x = xp.broadcast_arrays(_f64(xp, a), _f64(xp, x))
    out = xp.full(a.shape, xp.nan)
    with _quiet(xp):
        valid = (a > 0) & (x >= 0)
        out = xp.where(valid & (x == 0), 0.0, out)
        out = xp.where(valid & xp.isposinf(x), 1.0, out)
        todo = valid & (x > 0) & xp.isfinite(x)
        use_series = todo & (x < a + 1.0)
        use_fraction = todo & ~use_series
        if bool(use_series.any()):
            out[use_series] = _series(a[use_series], x[use_series], xp)
        if bool(use_fraction.any()):
            out[use_fraction] = 1.0 - _continued_fraction(a[use_fraction], x[use_fraction], xp)
    return out


def _dp_da(a: Any, x: Any, xp: Any) -> Any:
    """dP(a, x)/da by a float64 central difference."""
    h = 1e-5 * xp.maximum(a, 1e-2)
    h = xp.minimum(h, a * 0.5)
    return (gammainc(a + h, x, xp) - gammainc(a - h, x, xp)) / (2.0 * h)


def _density(a: Any, x: Any, xp: Any) -> Any:
    """dP(a, x)/dx = x^(a-1) e^-x / Gamma(a)."""
    with _quiet(xp):
        return xp.exp((a - 1.0) * xp.log(x) - x - lgamma(xp, a))


class Gammainc(Function):
    """P(a, x). grad_x = g x^(a-1) e^-x / Gamma(a); grad_a = g dP/da (central difference).

    Second derivatives (``create_graph=True``): grad_x is recorded as the density composed of
    Tensor ops, so it is differentiable again in a and x (as PyTorch's igamma). grad_a is a
    numerical value with no derivative of its own (PyTorch implements no gradient w.r.t. a at
    all): differentiating through it raises.
    """

    def forward(self, a: Any, x: Any) -> Any:
        self.save_for_backward(a, x)
        dt = a.dtype if a.dtype == x.dtype else self.xp.float64
        return gammainc(a, x, self.xp).astype(dt)

    def backward(self, g: Any) -> tuple:
        a, x = self.saved
        xp, need = self.xp, self.needs_input_grad
        a64, x64 = xp.broadcast_arrays(_f64(xp, a), _f64(xp, x))
        ga = g * _dp_da(a64, x64, xp).astype(g.dtype) if need[0] else None
        gx = g * _density(a64, x64, xp).astype(g.dtype) if need[1] else None
        return ga, gx

    def _backward_graph(self, g: Any) -> tuple:
        """Recorded: grad_x from Tensor ops (in float64, as on arrays); grad_a from the
        central difference, as a value whose own derivative raises."""
        a, x = self.saved
        xp, need = self.xp, self.needs_input_grad
        ga = gx = None
        if need[0]:
            arrays = backend.xp_of(a._data)
            a64, x64 = arrays.broadcast_arrays(_f64(arrays, a._data), _f64(arrays, x._data))
            dp_da = _dp_da(a64, x64, arrays).astype(g._data.dtype)
            ga = g * xp.apply(Undifferentiable, a, value=dp_da, why=(
                "gammainc: second derivatives through its gradient with respect to a are not "
                "implemented (that gradient is a central difference)"))
        if need[1]:
            a64, x64 = a.double(), x.double()
            with _quiet(backend.xp_of(a._data)):
                density = xp.exp((a64 - 1) * xp.log(x64) - x64 - a64.lgamma())
            gx = g * density.to(g.dtype)
        return ga, gx


class StandardGamma(Function):
    """A Gamma(a, 1) draw ``value`` (given): grad_a = -g (dP/da) / (dP/dx) at the draw."""

    def forward(self, a: Any, value: Any = None) -> Any:
        self.save_for_backward(a)
        self.value = value
        return value

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        xp = self.xp
        a64, x64 = xp.broadcast_arrays(_f64(xp, a), _f64(xp, self.value))
        with _quiet(xp):
            dx_da = -_dp_da(a64, x64, xp) / _density(a64, x64, xp)
        dx_da = xp.where(xp.isfinite(dx_da), dx_da, 0.0)
        return g * dx_da.astype(g.dtype)
