"""Fused normalisation: ``y = (x - mean) * invstd * w + b`` over chosen axes (batch/layer norm).

One Function serves batch norm (statistics over every axis but the channel axis) and layer
norm (statistics over the trailing axes). Its backward is the closed form
``grad_x = invstd * (gh - mean(gh) - xhat * mean(gh * xhat))`` with ``gh = g * w`` when the
statistics come from ``x`` itself, and ``grad_x = g * w * invstd`` when they are constants
(batch norm in eval mode).

Batch norm's layout (one statistic per channel, axis 1) has a leaner path: per-channel sums
and dot products as BLAS row products of the (N, C, L) view, accumulated in float64;
``y = x * a + c`` and ``grad_x = g * a' + x * k + c'`` with per-channel a, c, a', k, c'; nothing
activation-sized is kept for backward but the input. Channels whose mean is large against
their spread fall back to centred two-pass sums (no cancellation).
"""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function
from softgrad.ops import _norm_kernels


def moments(xp: Any, x: Any, axes: tuple[int, ...]) -> tuple[Any, Any]:
    """Mean and biased variance of ``x`` over ``axes`` (keepdims), in x's dtype."""
    if x.ndim >= 2 and _pos(axes, x.ndim) == _channel_axes(x.ndim) and x.size:
        mean, var = channel_moments(xp, x)
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        return mean.reshape(shape), var.reshape(shape)
    mean = x.mean(axis=axes, keepdims=True)
    d = x - mean
    var = (d * d).mean(axis=axes, keepdims=True)
    return mean, var


# ---------------------------------------------------------------------- per-channel sums
# Uncentred sums (sum x^2 - n mean^2) lose precision in proportion to mean^2 / var: channels
# past CANCEL_RATIO[itemsize] are centred before summing (float64 tolerates far more).
CANCEL_RATIO = {4: 8.0, 8: 1e6}


def _channel_axes(ndim: int) -> tuple:
    return (0,) + tuple(range(2, ndim))


def _rows(x: Any) -> Any:
    """(N, C, *S) as (N, C, L)."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def channel_sum(xp: Any, x3: Any) -> Any:
    """Per-channel sum (C,) of (N, C, L) in float64 (rows summed by BLAS first)."""
    n, c, length = x3.shape
    if length >= 16:
        ones = xp.ones(length, dtype=x3.dtype)
        part = (x3.reshape(n * c, length) @ ones).reshape(n, c)
    else:
        part = x3.sum(axis=2)
    return part.sum(axis=0, dtype=xp.float64)


def channel_dot(xp: Any, a3: Any, b3: Any) -> Any:
    """Per-channel sum of a * b (C,) over (N, C, L) arrays, in float64."""
    n, c, length = a3.shape
    if length >= 16:
        part = xp.matmul(a3.reshape(n * c, 1, length), b3.reshape(n * c, length, 1))
        part = part.reshape(n, c)
    else:
        part = xp.einsum("ncl,ncl->nc", a3, b3)
    return part.sum(axis=0, dtype=xp.float64)


def channel_moments(xp: Any, x: Any) -> tuple[Any, Any]:
    """Per-channel mean and biased variance (C,) of x (N, C, *S), in float64."""
    x3 = _rows(x)
    count = x3.shape[0] * x3.shape[2]
    mean = channel_sum(xp, x3) / count
    var = channel_dot(xp, x3, x3) / count - mean * mean
    bad = _ill_conditioned(xp, mean, var, x.dtype)
    if bad is not None:
        d = _centred(xp, x3, mean, bad)
        var[bad] = channel_dot(xp, d, d) / count
    return mean, xp.maximum(var, 0)


def _ill_conditioned(xp: Any, mean: Any, var: Any, dtype: Any) -> Any:
    """Channel indices whose uncentred sums lose precision (None when there are none)."""
    bad = mean * mean > CANCEL_RATIO.get(xp.dtype(dtype).itemsize, 8.0) * xp.abs(var)
    if not bool(bad.any()):
        return None
    return xp.flatnonzero(bad)


def _centred(xp: Any, x3: Any, mean64: Any, bad: Any) -> Any:
    """x - mean (float64) for the channels in ``bad``: (N, len(bad), L)."""
    return x3[:, bad] - mean64[bad][:, None]


class AffineNorm(Function):
    """grad_x = invstd * (gh - mean(gh) - xhat * mean(gh * xhat)), gh = g * w (x-dependent
    statistics) or g * w * invstd (fixed statistics); grad_w = sum(g * xhat); grad_b = sum(g).

    Inputs: ``x`` and optionally ``w, b`` (both or neither), shaped ``pshape`` after reshape.
    Params: ``axes`` (statistics axes), ``pshape`` (how w/b broadcast against x), ``eps``,
    ``stats`` (``(mean, var)`` already computed from x, or fixed running statistics),
    ``fixed`` (True when ``stats`` do not depend on x).
    """

    def forward(self, x: Any, *wb: Any, axes: tuple[int, ...] = (-1,), pshape: tuple = (),
                eps: float = 1e-5, stats: tuple | None = None, fixed: bool = False) -> Any:
        xp = self.xp
        self.axes, self.pshape, self.eps, self.fixed = axes, pshape, eps, fixed
        self.paxes = tuple(i for i in range(x.ndim) if i in _pos(axes, x.ndim)) if not pshape \
            else tuple(i for i, s in enumerate(_full(pshape, x.ndim)) if s == 1)
        mean, var = stats if stats is not None else moments(xp, x, axes)
        invstd = 1.0 / xp.sqrt(var + eps)
        self.mean, self.invstd = mean.astype(x.dtype, copy=False), invstd.astype(x.dtype,
                                                                                 copy=False)
        self.channels = (x.ndim >= 2 and x.size > 0 and _pos(axes, x.ndim) ==
                         _channel_axes(x.ndim) and tuple(_full(pshape, x.ndim)) ==
                         (1, x.shape[1]) + (1,) * (x.ndim - 2))
        if self.channels:
            return self._channel_forward(x, wb, mean, var, invstd)
        xhat = (x - self.mean) * self.invstd
        self.xhat = xhat
        if not wb:
            self.save_for_backward(x)
            return xhat
        w, b = wb
        self.save_for_backward(x, w)
        return xhat * w.reshape(pshape) + b.reshape(pshape)

    def _channel_forward(self, x: Any, wb: tuple, mean: Any, var: Any, invstd: Any) -> Any:
        """Batch-norm layout: y = x * a + c per channel (a = invstd * w, c = b - mean * a),
        with per-channel numbers in float64; ill-conditioned channels as (x - mean) * a + b."""
        xp, c = self.xp, x.shape[1]
        f64 = xp.float64
        self.mean64 = mean.reshape(c).astype(f64)
        self.invstd64 = invstd.reshape(c).astype(f64)
        self.cancel = _ill_conditioned(xp, self.mean64, var.reshape(c).astype(f64), x.dtype)
        a, b = self.invstd64, xp.zeros(c, dtype=f64)
        if wb:
            w, bias = wb
            a, b = a * w.reshape(c), bias.reshape(c).astype(f64)
            self.save_for_backward(x, w)
        else:
            self.save_for_backward(x)
        x3 = _rows(x)
        scale, shift = a.astype(x.dtype), (b - self.mean64 * a).astype(x.dtype)
        k = _norm_kernels.kernels(xp, x3)
        if k is not None:  # one compiled pass (the fast extra), same result
            y3 = xp.empty(x3.shape, dtype=x.dtype)
            k[0](x3, scale, shift, y3)
        else:
            y3 = x3 * scale[:, None]
            y3 += shift[:, None]
        bad = self.cancel
        if bad is not None:
            y3[:, bad] = _centred(xp, x3, self.mean64, bad) * a[bad][:, None] + b[bad][:, None]
        return y3.reshape(x.shape)

    def _channel_backward(self, g: Any, x: Any, w: Any) -> tuple:
        """grad_x = x * k + g * a + c per channel (a = invstd * w, k = -a * invstd^2 *
        sum(g (x - mean)) / M, c = -a * sum(g) / M - k * mean); grad_w, grad_b from
        per-channel sums."""
        xp, need = self.xp, self.needs_input_grad
        c = x.shape[1]
        g3, x3 = _rows(g), _rows(x)
        count = g3.shape[0] * g3.shape[2]
        mean, invstd, bad = self.mean64, self.invstd64, self.cancel
        sg = channel_sum(xp, g3)
        dot = channel_dot(xp, g3, x3) - mean * sg  # sum of g * (x - mean)
        if bad is not None:
            dot[bad] = channel_dot(xp, xp.ascontiguousarray(g3[:, bad]),
                                   _centred(xp, x3, mean, bad))
        gx = gw = gb = None
        if need[0]:
            a = invstd if w is None else invstd * w.reshape(c)
            if self.fixed:
                gx3 = g3 * a.astype(g.dtype)[:, None]
            else:
                k = -a * invstd * invstd * dot / count
                c0 = -a * sg / count
                kx, ag, cx = (v.astype(x.dtype) for v in (k, a, c0 - k * mean))
                kern = _norm_kernels.kernels(xp, x3, g3)
                if kern is not None:  # one compiled pass (the fast extra), same result
                    gx3 = xp.empty(x3.shape, dtype=x.dtype)
                    kern[1](x3, kx, g3, ag, cx, gx3)
                else:
                    gx3 = x3 * kx[:, None]
                    gx3 += g3 * ag[:, None]
                    gx3 += cx[:, None]
                if bad is not None:
                    gx3[:, bad] = (_centred(xp, x3, mean, bad) * k[bad][:, None]
                                   + g3[:, bad] * a[bad][:, None] + c0[bad][:, None])
            gx = gx3.reshape(x.shape)
        if w is not None:
            if need[1]:
                gw = (dot * invstd).astype(w.dtype).reshape(w.shape)
            if need[2]:
                gb = sg.astype(w.dtype).reshape(w.shape)
        return gx, gw, gb

    def _normalized(self, x: Any) -> tuple[Any, Any]:
        """(xhat, invstd), recomputed from x so the result is differentiable again."""
        if self.fixed:
            return (x - self.mean) * self.invstd, self.invstd
        n = 1
        for a in _pos(self.axes, x.ndim):
            n *= x.shape[a]
        mean = x.sum(axis=self.axes, keepdims=True) * (1.0 / n)
        d = x - mean
        invstd = 1.0 / self.xp.sqrt((d * d).sum(axis=self.axes, keepdims=True) * (1.0 / n)
                                    + self.eps)
        return d * invstd, invstd

    def backward(self, g: Any) -> tuple:
        saved = self.saved
        if self.channels:
            affine = len(saved) == 2
            gx, gw, gb = self._channel_backward(g, saved[0], saved[1] if affine else None)
            return (gx, gw, gb) if affine else gx
        return self._vjp(g, saved, self.xhat, self.invstd)

    def _backward_graph(self, g: Any) -> tuple:
        """Recorded: xhat and invstd recomputed from x (not the per-channel kernel)."""
        saved = self.saved
        return self._vjp(g, saved, *self._normalized(saved[0]))

    def _vjp(self, g: Any, saved: tuple, xhat: Any, invstd: Any) -> Any:
        """The gradients from the normalized input ``xhat`` and ``1 / std``."""
        affine = len(saved) == 2
        need = self.needs_input_grad
        gh = g * saved[1].reshape(self.pshape) if affine else g
        gx = None
        if need[0]:
            if self.fixed:
                gx = gh * invstd
            else:
                n = 1
                for a in _pos(self.axes, g.ndim):
                    n *= g.shape[a]
                s1 = gh.sum(axis=self.axes, keepdims=True) * (1.0 / n)
                s2 = (gh * xhat).sum(axis=self.axes, keepdims=True) * (1.0 / n)
                gx = (gh - s1 - xhat * s2) * invstd
        if not affine:
            return gx
        gw = gb = None
        if need[1]:
            gw = (g * xhat).sum(axis=self.paxes).reshape(saved[1].shape)
        if need[2]:
            gb = g.sum(axis=self.paxes).reshape(saved[1].shape)
        return gx, gw, gb


def _pos(axes: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    return tuple(a % ndim for a in axes)


def _full(pshape: tuple, ndim: int) -> tuple:
    """``pshape`` left-padded with ones to ``ndim`` dims."""
    return (1,) * (ndim - len(pshape)) + tuple(pshape)
