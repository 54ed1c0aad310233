"""Reductions. ``axis`` is None (all), an int, or a tuple of ints, already normalised."""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function
from softgrad.backend import expand, xp_of


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
    return expand(g, in_shape, xp)


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
    """grad = g * (product of the other reduced elements): exact also where x has zeros."""

    def forward(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        self.axis, self.keepdims = axis, keepdims
        self.save_for_backward(a)
        return a.prod(axis=axis, keepdims=keepdims)

    def backward(self, g: Any) -> Any:
        return self._vjp(g, _prod_others)

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: the products of the others as a masked product (differentiable)."""
        return self._vjp(g, _prod_others_graph)

    def _vjp(self, g: Any, prod_others: Any) -> Any:
        (a,) = self.saved
        xp = self.xp
        nd = len(a.shape)
        axes = tuple(range(nd)) if self.axis is None else \
            (self.axis,) if isinstance(self.axis, int) else self.axis
        rest = [i for i in range(nd) if i not in axes]
        perm = tuple(rest) + axes
        moved = xp.transpose(a, perm) if perm != tuple(range(nd)) else a
        flat = moved.reshape(tuple(moved.shape[:len(rest)]) + (-1,))
        others = prod_others(flat, xp)
        others = others.reshape(tuple(moved.shape))
        if perm != tuple(range(nd)):
            others = xp.transpose(others, tuple(sorted(range(nd), key=perm.__getitem__)))
        return others * _expand_back(g, a.shape, self.axis, self.keepdims, xp)


def _prod_others(a: Any, xp: Any) -> Any:
    """Product of all other elements along the last axis, via exclusive cumulative products."""
    if a.shape[-1] == 0:
        return a * 0
    ones = xp.ones(a.shape[:-1] + (1,), dtype=a.dtype)
    left = xp.concatenate([ones, xp.cumprod(a[..., :-1], axis=-1)], axis=-1)
    right = xp.concatenate([xp.cumprod(a[..., :0:-1], axis=-1)[..., ::-1], ones], axis=-1)
    return left * right


def _prod_others_graph(a: Any, xp: Any) -> Any:
    """The same on Tensors: row i of an (n, n) stack holds x with x_i replaced by 1."""
    n = a.shape[-1]
    eye = xp_of(a._data).eye(n, dtype=bool)
    return xp.where(eye, 1, xp.expand_dims(a, -2)).prod(axis=-1)


class Amax(Function):
    """grad split evenly among the maximal elements (PyTorch's amax/amin rule)."""

    def forward(self, a: Any, axis: Any = None, keepdims: bool = False, mode: str = "max") -> Any:
        self.axis, self.keepdims = axis, keepdims
        out = a.max(axis=axis, keepdims=keepdims) if mode == "max" else \
            a.min(axis=axis, keepdims=keepdims)
        self.save_for_backward(a, out)
        return out

    def backward(self, g: Any) -> Any:
        a, out = self.saved
        xp = self.xp
        ob = _expand_back(out, a.shape, self.axis, self.keepdims, xp)
        mask = a == ob
        count = mask.sum(axis=self.axis, keepdims=True, dtype=a.dtype)  # float32 stays so
        gb = _expand_back(g, a.shape, self.axis, self.keepdims, xp)
        return xp.where(mask, gb, 0) / _expand_back(count, a.shape, self.axis, True, xp)


class MaxDim(Function):
    """Values at precomputed argmax/argmin ``index`` along one dim: grad = g at that index."""

    def forward(self, a: Any, index: Any = None, axis: int = 0, keepdims: bool = False) -> Any:
        self.shape, self.index, self.axis, self.keepdims = a.shape, index, axis, keepdims
        out = self.xp.take_along_axis(a, index, axis=axis)
        return out if keepdims else self.xp.squeeze(out, axis)

    def backward(self, g: Any) -> Any:
        xp = self.xp
        if not self.keepdims:
            g = xp.expand_dims(g, self.axis)
        positions = xp_of(self.index).arange(self.shape[self.axis]).reshape(
            (-1,) + (1,) * (len(self.shape) - self.axis - 1))
        return xp.where(self.index == positions, g, 0)


class LogSumExp(Function):
    """Stable log(sum(exp(x))): grad = g * softmax(x)."""

    def forward(self, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        xp = self.xp
        m = a.max(axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        e = xp.exp(a - m)
        total = e.sum(axis=axis, keepdims=True)
        out = xp.log(total) + m
        # softmax = e / total, formed in backward from the shifted exponentials: accurate
        # also where x is large, unlike exp(x - out)
        self.axis, self.keepdims, self.e, self.total = axis, keepdims, e, total
        self.save_for_backward(a)
        if not keepdims:
            out = out.reshape(_drop(out.shape, axis))
        return out

    def backward(self, g: Any) -> Any:
        (a,) = self.saved
        return _expand_back(g, a.shape, self.axis, self.keepdims, self.xp) * (self.e / self.total)

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: e and total are intermediates, so softmax is recomputed from the input."""
        (a,) = self.saved
        xp = self.xp
        gb = _expand_back(g, a.shape, self.axis, self.keepdims, xp)
        return gb * xp.exp(a - _logsumexp_tensor(a, self.axis, xp))


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
        return self._vjp(g, a, self.norm)

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: the norm (an intermediate) is recomputed from the input."""
        (a,) = self.saved
        return self._vjp(g, a, self.xp.sqrt((a * a).sum(axis=self.axis, keepdims=True)))

    def _vjp(self, g: Any, a: Any, out: Any) -> Any:
        xp = self.xp
        gb = _expand_back(g, a.shape, self.axis, self.keepdims, xp)
        safe = xp.where(out == 0, 1, out)
        return gb * a / safe
