"""Reductions. ``axis`` is None (all), an int, or a tuple of ints, already normalised."""
from __future__ import annotations

from typing import Any

from softgrad.autograd.function import Function
from softgrad.backend import xp_of


def _expand_back(g: Any, in_shape: tuple, axis: Any, keepdims: bool, xp: Any) -> Any:
    """Reshape a reduced gradient so it broadcasts against the input shape."""
    if not keepdims and axis is not None:
        axes = (axis,) if isinstance(axis, int) else axis
        shape = list(in_shape)
        for ax in axes:
            shape[ax] = 1
        g = g.reshape(tuple(shape))
    elif not keepdims:
        g = g.reshape((1,) * len(in_shape))
    return xp.broadcast_to(g, in_shape)


class Sum(Function):
    """grad = broadcast(g) to the input shape."""

    def forward(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        return a.sum(axis=axis, keepdims=keepdims)

    def backward(self, g: Any) -> Any:
        return _expand_back(g, self.shape, self.axis, self.keepdims, self.xp)


class Mean(Function):
    """grad = broadcast(g) / n."""

    def forward(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        self.shape, self.axis, self.keepdims = a.shape, axis, keepdims
        out = a.mean(axis=axis, keepdims=keepdims)
        self.n = a.size // max(out.size, 1) if a.size else 1
        return out

    def backward(self, g: Any) -> Any:
        return _expand_back(g * (1.0 / self.n), self.shape, self.axis, self.keepdims, self.xp)


class Prod(Function):
    """grad = g * prod / x (exact also when x contains zeros)."""

    def forward(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        self.axis, self.keepdims = axis, keepdims
        out = a.prod(axis=axis, keepdims=keepdims)
        self.save_for_backward(a)
        return out

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        xp = self.xp
        ax = self.axis
        if ax is None:
            flat = a.reshape(-1)
            gx = _prod_others(flat, 0, xp).reshape(a.shape)
        else:
            gx = _prod_others(a, ax, xp)
        return gx * _expand_back(g, a.shape, ax, self.keepdims, xp)


def _prod_others(a: Any, axis: int, xp: Any) -> Any:
    """Product of all other elements along ``axis``, via exclusive cumulative products."""
    ones = xp.ones_like(a.sum(axis=axis, keepdims=True))
    left = xp.concatenate([ones, xp.cumprod(a, axis=axis)], axis=axis)
    n = a.shape[axis]
    rev = xp.flip(a, axis)
    right = xp.flip(xp.concatenate([ones, xp.cumprod(rev, axis=axis)], axis=axis), axis)
    idx_l = [slice(None)] * a.ndim
    idx_r = [slice(None)] * a.ndim
    idx_l[axis] = slice(0, n)
    idx_r[axis] = slice(1, n + 1)
    return left[tuple(idx_l)] * right[tuple(idx_r)]


class Amax(Function):
    """grad split evenly among the maximal elements (PyTorch's amax/amin rule)."""

    def forward(self, a: Any, axis: Any = None, keepdims: bool = False, mode: str = "max") -> Any:
        self.axis, self.keepdims = axis, keepdims
        out = a.max(axis=axis, keepdims=keepdims) if mode == "max" else a.min(axis, keepdims=keepdims)
        self.save_for_backward(a, out)
        return out

    def backward(self, g: Any) -> Any:
        a, out = self.saved
        xp = self.xp
        ob = _expand_back(out, a.shape, self.axis, self.keepdims, xp)
        mask = a == ob
        count = mask.sum(axis=self.axis, keepdims=True)
        gb = _expand_back(g, a.shape, self.axis, self.keepdims, xp)
        return xp.where(mask, gb, 0) / _expand_back(count, a.shape, self.axis, True, xp)


class MaxDim(Function):
    """max/min along one dim returning values; grad goes to the selected index only."""

    def forward(self, a: Any, axis: int = 0, keepdims: bool = False, mode: str = "max") -> Any:
        xp = self.xp
        idx = xp.argmax(a, axis=axis) if mode == "max" else xp.argmin(a, axis=axis)
        idx = xp.expand_dims(idx, axis)
        out = xp.take_along_axis(a, idx, axis=axis)
        self.indices = idx if keepdims else xp.squeeze(idx, axis)
        self.shape, self.axis, self.keepdims, self.idx = a.shape, axis, keepdims, idx
        return out if keepdims else xp.squeeze(out, axis)

    def backward(self, g: Any) -> Any:
        xp = self.xp
        if not self.keepdims:
            g = xp.expand_dims(g, self.axis)
        hit = self.idx == xp_of(self.idx).arange(self.shape[self.axis]).reshape(
            (-1,) + (1,) * (len(self.shape) - self.axis - 1))
        return xp.where(hit, g, 0)


class LogSumExp(Function):
    """Stable log(sum(exp(x))): grad = g * softmax(x)."""

    def forward(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        xp = self.xp
        m = a.max(axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        out = xp.log(xp.exp(a - m).sum(axis=axis, keepdims=True)) + m
        self.axis, self.keepdims, self.lse = axis, keepdims, out
        self.save_for_backward(a)
        if not keepdims:
            out = out.reshape(_drop(out.shape, axis))
        return out

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        xp = self.xp
        # the kept-dims value is an intermediate: recompute it when building a graph
        out = _logsumexp_tensor(a, self.axis, xp) if self._graph else self.lse
        gb = _expand_back(g, a.shape, self.axis, self.keepdims, xp)
        return gb * xp.exp(a - out)


def _logsumexp_tensor(a: Any, axis: Any, xp: Any) -> Any:
    m = a.detach().amax(axis=axis, keepdims=True)
    return xp.log(xp.exp(a - m).sum(axis=axis, keepdims=True)) + m


def _drop(shape: tuple, axis: Any) -> tuple:
    if axis is None:
        return ()
    axes = {axis} if isinstance(axis, int) else set(axis)
    return tuple(s for i, s in enumerate(shape) if i not in axes)


class Cumsum(Function):
    """grad = reverse cumulative sum of g along the axis."""

    def forward(self, a: Any, axis: int = 0) -> Any:
        self.axis = axis
        return self.xp.cumsum(a, axis=axis)

    def backward(self, g: Any) -> Any:
        xp = self.xp
        return xp.flip(xp.cumsum(xp.flip(g, self.axis), axis=self.axis), self.axis)


class Norm2(Function):
    """Euclidean norm: grad = g * x / ||x|| (0 where the norm is 0, as PyTorch)."""

    def forward(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        xp = self.xp
        out = xp.sqrt((a * a).sum(axis=axis, keepdims=True))
        self.axis, self.keepdims, self.norm = axis, keepdims, out
        self.save_for_backward(a)
        return out if keepdims else out.reshape(_drop(out.shape, axis))

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        xp = self.xp
        out = xp.sqrt((a * a).sum(axis=self.axis, keepdims=True)) if self._graph else self.norm
        gb = _expand_back(g, a.shape, self.axis, self.keepdims, xp)
        safe = xp.where(out == 0, 1, out)
        return gb * a / safe
