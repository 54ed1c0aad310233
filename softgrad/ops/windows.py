"""Sliding-window helpers shared by convolution, pooling, unfold and fold.

Everything works on 4-D arrays ``(N, C, H, W)`` (1-D layers add an ``H = 1`` axis). A window
view is an ``as_strided`` view of the padded input; ``im2col`` copies it once into the
contiguous ``(N, C, KH, KW, OH, OW)`` column layout that a GEMM consumes, and ``col2im_add``
is its adjoint: a loop over the ``KH * KW`` kernel offsets only, each adding one strided
slice (no per-pixel loop, no scatter-add).
"""
from __future__ import annotations

from typing import Any

Pads = tuple[tuple[int, int], tuple[int, int]]


def out_size(size: int, k: int, s: int, lo: int, hi: int, d: int) -> int:
    """Number of window positions along one axis (floor mode)."""
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def pad_array(xp: Any, x: Any, pads: Pads, value: float = 0.0) -> Any:
    """``x`` (N, C, H, W) padded by ``pads = ((top, bottom), (left, right))`` with ``value``.

    Returns ``x`` itself when every pad is zero.
    """
    (t, b), (lft, r) = pads
    if not (t or b or lft or r):
        return x
    n, c, h, w = x.shape
    out = xp.empty((n, c, h + t + b, w + lft + r), dtype=x.dtype)
    if value == 0:
        out[...] = 0
        out[:, :, t:t + h, lft:lft + w] = x
        return out
    out[...] = value
    out[:, :, t:t + h, lft:lft + w] = x
    return out


def window_view(xp: Any, x: Any, kernel: tuple[int, int], stride: tuple[int, int],
                dilation: tuple[int, int], out_hw: tuple[int, int]) -> Any:
    """Read-only ``as_strided`` view ``(N, C, KH, KW, OH, OW)`` of a padded ``x``."""
    sn, sc, sh, sw = x.strides
    n, c = x.shape[:2]
    shape = (n, c, kernel[0], kernel[1], out_hw[0], out_hw[1])
    strides = (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1])
    return xp.lib.stride_tricks.as_strided(x, shape, strides, writeable=False) \
        if xp.__name__ == "numpy" else xp.lib.stride_tricks.as_strided(x, shape, strides)


def im2col(xp: Any, x: Any, kernel: tuple[int, int], stride: tuple[int, int],
           dilation: tuple[int, int], out_hw: tuple[int, int]) -> Any:
    """Contiguous columns ``(N, C, KH, KW, OH, OW)`` of a padded ``x`` (one copy)."""
    view = window_view(xp, x, kernel, stride, dilation, out_hw)
    cols = xp.empty(view.shape, dtype=x.dtype)
    cols[...] = view
    return cols


def offset_slices(i: int, j: int, stride: tuple[int, int], dilation: tuple[int, int],
                  out_hw: tuple[int, int]) -> tuple[slice, slice]:
    """The (rows, cols) slices of the padded input that kernel offset (i, j) touches."""
    r0, c0 = i * dilation[0], j * dilation[1]
    return (slice(r0, r0 + stride[0] * (out_hw[0] - 1) + 1, stride[0]),
            slice(c0, c0 + stride[1] * (out_hw[1] - 1) + 1, stride[1]))


def col2im_add(buf: Any, cols: Any, kernel: tuple[int, int], stride: tuple[int, int],
               dilation: tuple[int, int], axis: int) -> Any:
    """Add columns back onto ``buf`` in place (the adjoint of ``im2col``); returns ``buf``.

    ``buf`` has its two spatial axes at ``axis, axis + 1``; ``cols`` has the kernel axes at
    the same position, followed by the output axes: for ``axis = 2`` buf is (N, C, Hp, Wp)
    and cols (N, C, KH, KW, OH, OW); for ``axis = 1`` buf is (C, Hp, Wp, N) and cols
    (C, KH, KW, OH, OW, N) (batch innermost, so each slice add runs over long rows).
    """
    kh, kw = kernel
    oh, ow = cols.shape[axis + 2], cols.shape[axis + 3]
    lead = (slice(None),) * axis
    disjoint = stride[0] >= dilation[0] * (kh - 1) + 1 and stride[1] >= dilation[1] * (kw - 1) + 1
    for i in range(kh):
        for j in range(kw):
            rs, cs = offset_slices(i, j, stride, dilation, (oh, ow))
            if disjoint:
                buf[lead + (rs, cs)] = cols[lead + (i, j)]
            else:
                buf[lead + (rs, cs)] += cols[lead + (i, j)]
    return buf


def crop(x: Any, pads: Pads, hw: tuple[int, int], axis: int = 2) -> Any:
    """The un-padded (H, W) region of a padded array whose spatial axes start at ``axis``."""
    (t, _), (lft, _) = pads
    lead = (slice(None),) * axis
    return x[lead + (slice(t, t + hw[0]), slice(lft, lft + hw[1]))]


def as_tuple(value: Any, n: int, name: str) -> tuple[int, ...]:
    """``value`` as an n-tuple of ints (an int is repeated); raises naming ``name``."""
    if isinstance(value, (list, tuple)):
        if len(value) == 1 and n > 1:
            value = tuple(value) * n
        if len(value) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {tuple(value)}")
        return tuple(int(v) for v in value)
    return (int(value),) * n
