"""im2col columns of a batch slice, in one of two layouts, and the GEMM helpers that use them.

Columns hold, per input channel and kernel tap, the input values each output position reads:

- batch beside the taps, ``(C, *K, n, *Out)`` (``Columns(batch_last=False)``): tap boxes are
  read straight from x without a copy of it; each slice copy runs over rows of ``OW``;
- batch innermost, ``(C, *K, *Out, n)``: x is first copied to ``(C, *S, n)``, then each slice
  copy runs over rows of ``OW * n`` (stride 1) - far fewer, longer rows on small maps, where
  NumPy's per-row cost would dominate.

Either way a batch slice is one ``(C*K, n*L)`` matrix. ``col2im`` is the adjoint: a loop
over taps adding each one's box back with strided slices (never a scatter-add); a tap
covering the whole input is assigned first instead of zero-filling. (Compiled loops for
these copies measured slower than NumPy's strided copies, so there are none.)
"""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.ops import _conv_kernels
from softgrad.ops.conv_plan import Plan, buffer

BATCH_LAST_MAX_W = 12  # stride-1 output rows up to this wide (16 in 3-D): batch innermost
THIN = 64       # a GEMM with an operand this thin along a short axis...
SPLIT = 4096    # ...runs in pieces of this many columns along its long axis


def _thin(*sizes: int) -> bool:
    return min(sizes) < THIN


def matmul_long(xp: Any, a: Any, b: Any, out: Any) -> Any:
    """out = a @ b for (G, M, K) @ (G, K, N); with M or K tiny and N long, in column pieces
    (BLAS runs such thin products far below its rate in one piece)."""
    n = b.shape[-1]
    if xp is not backend.np or not _thin(a.shape[-1], a.shape[-2]) or n <= 2 * SPLIT:
        return xp.matmul(a, b, out=out)
    for j in range(0, n, SPLIT):
        xp.matmul(a, b[..., j:j + SPLIT], out=out[..., j:j + SPLIT])
    return out


def matmul_deep(xp: Any, a: Any, b: Any, out: Any = None) -> Any:
    """a @ b for (G, M, K) @ (G, K, N) with K long (a weight gradient); with M or N tiny, as
    a sum over K pieces. Returns ``out`` (written) or a new array."""
    k = a.shape[-1]
    if xp is not backend.np or not _thin(a.shape[-2], b.shape[-1]) or k <= 2 * SPLIT:
        return xp.matmul(a, b, out=out) if out is not None else xp.matmul(a, b)
    acc = out
    for j in range(0, k, SPLIT):
        part = xp.matmul(a[..., j:j + SPLIT], b[..., j:j + SPLIT, :])
        if acc is None:
            acc = part
        elif j == 0:
            acc[...] = part
        else:
            acc += part
    return acc


class Columns:
    """The column layout of one convolution (plan ``p``, geometry ``geo``, C channels)."""

    def __init__(self, xp: Any, p: Plan, geo: tuple, c: int, kernel: tuple) -> None:
        self.xp, self.p, self.geo, self.c, self.kernel = xp, p, geo, c, tuple(kernel)
        self.nd = len(kernel)
        widest = BATCH_LAST_MAX_W + (4 if self.nd == 3 else 0)
        self.batch_last = max(geo[0]) == 1 and p.out[-1] <= widest

    def shape(self, mm: int) -> tuple:
        if self.batch_last:
            return (self.c,) + self.kernel + self.p.out + (mm,)
        return (self.c,) + self.kernel + (mm,) + self.p.out

    def batch_of(self, cols: Any) -> int:
        return cols.shape[-1] if self.batch_last else cols.shape[1 + self.nd]

    def channels_first(self, a: Any) -> Any:
        """A batch slice (mm, Ch, *S) seen in this layout: (Ch, mm, *S) or (Ch, *S, mm)."""
        if self.batch_last:
            return a.transpose((1,) + tuple(range(2, a.ndim)) + (0,))
        return a.swapaxes(0, 1)

    def grad_rows(self, g: Any, slot: str = "gt") -> Any:
        """g's batch slice (mm, O, *Out) copied into this layout's order (a work buffer)."""
        src = self.channels_first(g)
        out = buffer(self.xp, slot, src.shape, g.dtype)
        out[...] = src
        return out

    def store(self, yt: Any, dst: Any, bias: Any) -> None:
        """dst (mm, O, *Out) = yt (O, [mm,] *Out [, mm]) in batch-first order, plus bias."""
        view = self.channels_first(dst)
        if bias is None:
            view[...] = yt
        else:
            shape = (-1,) + (1,) * (yt.ndim - 1)
            self.xp.add(yt, bias.reshape(shape), out=view)

    def fill(self, x: Any, n0: int, mm: int, cols: Any) -> Any:
        """cols = im2col of the batch slice x[n0:n0 + mm]."""
        src = self.channels_first(x[n0:n0 + mm])
        if self.batch_last:  # one copy with the batch innermost, then long-row slices
            xt = buffer(self.xp, "xt", src.shape, x.dtype)
            xt[...] = src
            src = xt
        return im2col(src, self.p, cols, 1 if self.batch_last else 2)

    def add_back(self, gcols: Any, gx: Any, n0: int, mm: int) -> Any:
        """gx[n0:n0 + mm] = col2im of gcols."""
        if not self.batch_last and max(self.geo[0]) > 1 and self.p.overlap and \
                self._compiled_col2im(gcols, gx[n0:n0 + mm]):
            return gx
        dst = self.channels_first(gx[n0:n0 + mm])
        if not self.batch_last:
            return col2im(gcols, self.p, dst, 2)
        gxt = buffer(self.xp, "gxt", dst.shape, gx.dtype)
        col2im(gcols, self.p, gxt, 1)
        dst[...] = gxt
        return gx

    def _compiled_col2im(self, cols: Any, x: Any) -> bool:
        """Run the compiled ``col2im`` (``fast`` extra) from cols (C, *K, mm, *Out) onto the
        batch slice x (mm, C, *S); False when it cannot run. Used for strided convolutions
        with overlapping windows only, where NumPy's read-modify-write of strided boxes is
        slow (measured: elsewhere NumPy's slice adds are as fast or faster)."""
        if self.xp is not backend.np:
            return False
        nd = self.nd
        view = cols.transpose((nd + 1, 0) + tuple(range(1, nd + 1)) +
                              tuple(range(nd + 2, 2 * nd + 2)))
        stride, pads, dilation, _ = self.geo
        lo = tuple(p[0] for p in pads)
        return _conv_kernels.col2im(view, x, lo, stride, dilation)


def im2col(xt: Any, p: Plan, cols: Any, spatial_at: int) -> Any:
    """Fill ``cols`` (C, *K, ...) from ``xt`` (C, ...): each tap's box, zeros outside. The
    spatial axes of xt and of each tap's (C, ...) block start at ``spatial_at``."""
    lead = (slice(None),) * spatial_at
    for t in p.taps:
        dst = cols[(slice(None),) + t.k]
        if t.out_box is None:
            dst[...] = 0
            continue
        dst[lead + t.out_box] = xt[lead + t.in_box]
        for b in t.border:
            dst[lead + b] = 0
    return cols


def col2im(gcols: Any, p: Plan, gxt: Any, spatial_at: int) -> Any:
    """Write the adjoint of ``im2col`` into ``gxt`` (C, ...): the sum of each tap's box of
    ``gcols``. A tap covering the whole input is assigned first (no zero-fill)."""
    lead = (slice(None),) * spatial_at
    first = next((t for t in p.taps if t.full_in), None)
    if first is None:
        gxt[...] = 0
    for t in ([first] if first is not None else []) + [t for t in p.taps if t is not first]:
        if t.out_box is None:
            continue
        src = gcols[(slice(None),) + t.k][lead + t.out_box]
        if t is first:
            gxt[...] = src
        elif p.overlap:
            gxt[lead + t.in_box] += src
        else:
            gxt[lead + t.in_box] = src
    return gxt
