"""Fused normalisation: ``y = (x - mean) * invstd * w + b`` over chosen axes (batch/layer norm).

One Function serves batch norm (statistics over every axis but the channel axis) and layer
norm (statistics over the trailing axes). Its backward is the closed form
``grad_x = invstd * (gh - mean(gh) - xhat * mean(gh * xhat))`` with ``gh = g * w`` when the
statistics come from ``x`` itself, and ``grad_x = g * w * invstd`` when they are constants
(batch norm in eval mode).
"""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function


def moments(xp: Any, x: Any, axes: tuple[int, ...]) -> tuple[Any, Any]:
    """Mean and biased variance of ``x`` over ``axes`` (keepdims), in x's dtype."""
    mean = x.mean(axis=axes, keepdims=True)
    d = x - mean
    var = (d * d).mean(axis=axes, keepdims=True)
    return mean, var


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
        invstd = invstd.astype(x.dtype, copy=False)
        self.mean, self.invstd = mean, invstd
        xhat = (x - mean) * invstd
        self.xhat = xhat
        if not wb:
            self.save_for_backward(x)
            return xhat
        w, b = wb
        self.save_for_backward(x, w)
        return xhat * w.reshape(pshape) + b.reshape(pshape)

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
        x = saved[0]
        affine = len(saved) == 2
        if self._graph:
            xhat, invstd = self._normalized(x)
        else:
            xhat, invstd = self.xhat, self.invstd
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
