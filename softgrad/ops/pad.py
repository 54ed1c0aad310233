"""Padding: constant (negative widths crop) and index-based (reflect, replicate, circular).

``pads`` is one ``(before, after)`` pair per axis of x, in axis order.
"""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function
from softgrad.ops.shape import IndexAddZeros


def _regions(shape: tuple, pads: tuple) -> tuple[tuple, tuple, tuple]:
    """(output shape, source slices into x, destination slices into y)."""
    out, src, dst = [], [], []
    for n, (lo, hi) in zip(shape, pads):
        out.append(n + lo + hi)
        src.append(slice(max(-lo, 0), n - max(-hi, 0)))
        dst.append(slice(max(lo, 0), max(lo, 0) + n - max(-lo, 0) - max(-hi, 0)))
    return tuple(out), tuple(src), tuple(dst)


class ConstantPad(Function):
    """y = x surrounded by ``value`` (negative pads crop); grad_x = g's inner region."""

    def forward(self, x: Any, pads: tuple = (), value: float = 0.0) -> Any:
        shape, self.src, self.dst = _regions(x.shape, pads)
        self.x_shape = x.shape
        y = self.xp.empty(shape, dtype=x.dtype)
        y[...] = value
        y[self.dst] = x[self.src]
        return y

    def backward(self, g: Any) -> Any:
        inner = g[self.dst]
        if self.src == tuple(slice(0, n) for n in self.x_shape):
            return inner
        return self.call(IndexAddZeros, inner, shape=self.x_shape, index=self.src,
                         accumulate=False)


def border_index(xp: Any, n: int, lo: int, hi: int, mode: str) -> Any:
    """Source index along one axis for each of the ``lo + n + hi`` output positions."""
    i = xp.arange(-lo, n + hi)
    if mode == "reflect":
        period = 2 * (n - 1)
        i = xp.abs(i) % period if period else i * 0
        return xp.where(i >= n, period - i, i)
    if mode == "replicate":
        return xp.clip(i, 0, n - 1)
    return i % n  # circular


class IndexPad(Function):
    """y = x gathered along each padded axis by a border index (reflect, replicate,
    circular); grad_x = g with each border position added back onto its source.

    Params: ``index``: ``{axis: (index array, lo, hi)}``.
    """

    def forward(self, x: Any, index: dict | None = None) -> Any:
        self.index, self.x_shape = index or {}, x.shape
        y = x
        for axis, (idx, _, _) in self.index.items():
            y = self.xp.take(y, idx, axis=axis)
        return y if y is not x else y.copy()

    double_backward_error = "double backward through reflect/replicate padding is not supported"

    def backward(self, g: Any) -> Any:
        for axis, (idx, lo, hi) in reversed(list(self.index.items())):
            n = self.x_shape[axis]
            lead = (slice(None),) * axis
            gx = g[lead + (slice(lo, lo + n),)].copy()
            host = idx.tolist()
            for p in list(range(lo)) + list(range(lo + n, lo + n + hi)):
                gx[lead + (host[p],)] += g[lead + (p,)]
            g = gx
        return g
