"""Winograd F(2x2, 3x3): a stride-1 3x3 convolution with 2.25x fewer multiplications.

Each 2x2 output tile is ``A^T [(G w G^T) * (B^T d B)] A`` for the 4x4 input tile ``d`` that
covers it (tiles overlap by 2), with

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

(every coefficient exact in binary). With the 16 tile positions as a batch axis the channel
sums are 16 GEMMs: ``M[xi] = U[xi] (O, C) @ V[xi] (C, tiles)``. The transforms are sums of
strided slices. Backward: grad_x is the same kind of convolution of g with the flipped,
transposed kernel (padding 2 - pad), and grad_W = G^T [sum over tiles of (A g A^T) * V] G,
the adjoint of the weight's transform.

Tile-domain arrays are (16, C, *tile_grid); the batch sits innermost when maps are small
(long rows for the slice arithmetic), else beside the channels - and there, with numba
installed, each transform is one compiled pass (``_conv_kernels``).
"""
from __future__ import annotations

from typing import Any

from softgrad.ops import _conv_kernels
from softgrad.ops.conv_plan import buffer

CHUNK_BYTES = 8 * 2**20  # tile-domain input bytes per batch slice
MIN_CHANNELS = 64        # below this the GEMMs are too thin to pay for the transforms
BATCH_LAST_MAX_TILES = 8  # tile columns up to this: batch innermost
MIN_OUT = 4              # smaller outputs: tiles mostly padding, direct taps do less work


def applies(x_shape: tuple, w_shape: tuple, stride: tuple, pads: tuple, dilation: tuple,
            groups: int, min_channels: int = MIN_CHANNELS) -> bool:
    """Whether this lowering handles the convolution (2-D, 3x3, stride 1, no dilation,
    one group, padding at most 2 per side, enough channels both ways)."""
    if len(x_shape) != 4 or tuple(w_shape[2:]) != (3, 3) or groups != 1:
        return False
    if tuple(stride) != (1, 1) or tuple(dilation) != (1, 1):
        return False
    if any(p < 0 or p > 2 for pair in pads for p in pair):
        return False
    out = [n + lo + hi - 2 for n, (lo, hi) in zip(x_shape[2:], pads)]
    return min(out) >= MIN_OUT and min(x_shape[1], w_shape[0]) >= min_channels


def out_size(x_shape: tuple, pads: tuple) -> tuple:
    """Output spatial size of the 3x3 stride-1 convolution."""
    return tuple(n + lo + hi - 2 for n, (lo, hi) in zip(x_shape[2:], pads))


# ---------------------------------------------------------------------- weight transforms
_G = ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0.0, 0.0, 1.0))


def _kron_g(xp: Any, dtype: Any, flip: bool = False) -> Any:
    """K (16, 9) with K[4r + s, 3i + j] = G[r, i] G[s, j] (G's columns reversed: flip)."""
    g = xp.asarray(_G, dtype=dtype)
    if flip:
        g = g[:, ::-1]
    return xp.ascontiguousarray((g[:, None, :, None] * g[None, :, None, :]).reshape(16, 9))


def weight_transform(xp: Any, w: Any, flip: bool = False) -> Any:
    """U (16, O, C) = G w G^T for w (O, C, 3, 3), one GEMM; with ``flip``: of the kernel
    rotated by 180 degrees."""
    o, c = w.shape[:2]
    return (_kron_g(xp, w.dtype, flip) @ w.reshape(o * c, 9).T).reshape(16, o, c)


def weight_grad_transform(xp: Any, gu: Any) -> Any:
    """grad_w (O, C, 3, 3) = G^T gU G for gU (16, O, C) (the adjoint of weight_transform)."""
    o, c = gu.shape[1:]
    return (gu.reshape(16, o * c).T @ _kron_g(xp, gu.dtype)).reshape(o, c, 3, 3)


# ---------------------------------------------------------------------- tile transforms
def _every2(ax: int, start: int, count: int) -> tuple:
    """Index: ``count`` elements from ``start`` in steps of 2 along axis ``ax``."""
    return (slice(None),) * ax + (slice(start, start + 2 * count - 1, 2),)


def input_transform(xp: Any, p: Any, ah: int, th: int, tw: int, v: Any) -> Any:
    """V = B^T d B for every 4x4 tile of the padded input ``p`` (spatial axes ``ah``,
    ``ah + 1``), written into ``v`` (16, C, *grid)."""
    aw = ah + 1
    d = [p[_every2(ah, r, th)] for r in range(4)]
    shape = d[0].shape
    q = [buffer(xp, f"wq{a}", shape, p.dtype) for a in range(4)]
    xp.subtract(d[0], d[2], out=q[0])
    xp.add(d[1], d[2], out=q[1])
    xp.subtract(d[2], d[1], out=q[2])
    xp.subtract(d[1], d[3], out=q[3])
    for a in range(4):
        e = [q[a][_every2(aw, c, tw)] for c in range(4)]
        xp.subtract(e[0], e[2], out=v[4 * a])
        xp.add(e[1], e[2], out=v[4 * a + 1])
        xp.subtract(e[2], e[1], out=v[4 * a + 2])
        xp.subtract(e[1], e[3], out=v[4 * a + 3])
    return v


def output_transform(xp: Any, m: Any) -> list:
    """The four outputs [Y00, Y01, Y10, Y11] (O, *grid) of each tile: A^T M A."""
    s = []
    for b in range(4):
        s0 = xp.add(m[b], m[4 + b])
        s0 += m[8 + b]
        s1 = xp.subtract(m[4 + b], m[8 + b])
        s1 -= m[12 + b]
        s.append((s0, s1))
    out = []
    for r in range(2):
        y0 = xp.add(s[0][r], s[1][r])
        y0 += s[2][r]
        y1 = xp.subtract(s[1][r], s[2][r], out=s[1][r])
        y1 -= s[3][r]
        out += [y0, y1]
    return out


def grad_output_transform(xp: Any, gy: Any, ah: int, th: int, tw: int, gm: Any) -> Any:
    """gM = A gY A^T for every 2x2 tile of ``gy`` (spatial axes ``ah``, ``ah + 1``, size
    2*th x 2*tw), written into ``gm`` (16, O, *grid)."""
    aw = ah + 1
    g0, g1 = gy[_every2(ah, 0, th)], gy[_every2(ah, 1, th)]
    rows = [g0, xp.add(g0, g1), xp.subtract(g0, g1), xp.negative(g1)]
    for r, h in enumerate(rows):
        k0, k1 = h[_every2(aw, 0, tw)], h[_every2(aw, 1, tw)]
        gm[4 * r][...] = k0
        xp.add(k0, k1, out=gm[4 * r + 1])
        xp.subtract(k0, k1, out=gm[4 * r + 2])
        xp.negative(k1, out=gm[4 * r + 3])
    return gm


# ---------------------------------------------------------------------- layouts
class _Layout:
    """Where the batch goes in the tile domain: beside the channels (C, n, H, W) or
    innermost (C, H, W, n)."""

    def __init__(self, batch_last: bool) -> None:
        self.batch_last = batch_last
        self.ah = 1 if batch_last else 2

    def shape(self, c: int, n: int, h: int, w: int) -> tuple:
        return (c, h, w, n) if self.batch_last else (c, n, h, w)

    def view(self, a: Any) -> Any:
        """A batch-first (n, C, H, W) array seen in this layout."""
        return a.transpose(1, 2, 3, 0) if self.batch_last else a.swapaxes(0, 1)

    def box(self, r0: int, r1: int, c0: int, c1: int) -> tuple:
        sp = (slice(r0, r1), slice(c0, c1))
        return (slice(None),) + sp if self.batch_last else (slice(None), slice(None)) + sp


def _pad_into(xp: Any, lay: _Layout, src: Any, pads: tuple, dst: Any) -> Any:
    """dst (layout, padded and tile-rounded) = src (n, C, H, W) placed at the pads, zeros
    around it (only the border is cleared)."""
    (t, _), (lft, _) = pads
    h, w = src.shape[2:]
    hp, wp = (dst.shape[1:3] if lay.batch_last else dst.shape[2:])
    for r0, r1, c0, c1 in ((0, t, 0, wp), (t + h, hp, 0, wp), (t, t + h, 0, lft),
                           (t, t + h, lft + w, wp)):
        if r1 > r0 and c1 > c0:
            dst[lay.box(r0, r1, c0, c1)] = 0
    dst[lay.box(t, t + h, lft, lft + w)] = lay.view(src)
    return dst


# ---------------------------------------------------------------------- convolution
def _geometry(x_shape: tuple, pads: tuple) -> tuple:
    oh = x_shape[2] + pads[0][0] + pads[0][1] - 2
    ow = x_shape[3] + pads[1][0] + pads[1][1] - 2
    return oh, ow, (oh + 1) // 2, (ow + 1) // 2


def _compiled(xp: Any, *arrays: Any) -> Any:
    """The compiled kernels when they can run on these arrays, else None."""
    if xp is not _conv_kernels.np:
        return None
    k = _conv_kernels.kernels()
    return k if k is not None and _conv_kernels.usable(*arrays) else None


def forward(xp: Any, x: Any, w: Any, pads: tuple, bias: Any = None, u: Any = None) -> Any:
    """y (n, O, OH, OW) = conv(x, w) with 3x3 w, stride 1 and ``pads``; ``u``: w's
    transform when already at hand."""
    n, c = x.shape[:2]
    o = w.shape[0]
    oh, ow, th, tw = _geometry(x.shape, pads)
    y = xp.empty((n, o, oh, ow), dtype=x.dtype)
    k = _compiled(xp, y) if tw > BATCH_LAST_MAX_TILES else None
    lay = _Layout(tw <= BATCH_LAST_MAX_TILES)
    u = weight_transform(xp, w) if u is None else u
    m = max(1, min(n, CHUNK_BYTES // max(16 * c * th * tw * x.itemsize, 1)))
    for n0 in range(0, n, m):
        mm = min(m, n - n0)
        grid = lay.shape(1, mm, th, tw)[1:]
        p = buffer(xp, "wp", lay.shape(c, mm, 2 * th + 2, 2 * tw + 2), x.dtype)
        _pad_into(xp, lay, x[n0:n0 + mm], pads, p)
        v = buffer(xp, "wv", (16, c) + grid, x.dtype)
        if k is None or not _conv_kernels.run("wino_input", p, v):
            input_transform(xp, p, lay.ah, th, tw, v)
        mt = buffer(xp, "wm", (16, o) + grid, x.dtype)
        xp.matmul(u, v.reshape(16, c, -1), out=mt.reshape(16, o, -1))
        has = bias is not None
        b = (xp.ascontiguousarray(bias, dtype=x.dtype) if has else xp.zeros(1, x.dtype)) \
            if k is not None else None
        if k is None or not _conv_kernels.run("wino_output", mt, y[n0:n0 + mm], b, has):
            _store(xp, lay, output_transform(xp, mt), y[n0:n0 + mm], bias)
    return y


def _store(xp: Any, lay: _Layout, tiles: list, y: Any, bias: Any) -> None:
    """Place the tile outputs Y_ab (O, *grid) at y[:, :, a::2, b::2] (cropped), + bias."""
    oh, ow = y.shape[2:]
    yl = lay.view(y)  # (O, ...) in the layout
    for k, t in enumerate(tiles):
        a, b = divmod(k, 2)
        rows, cols = (oh - a + 1) // 2, (ow - b + 1) // 2
        src = t[lay.box(0, rows, 0, cols)]
        dst = yl[lay.box(a, oh, b, ow)][_every2(lay.ah, 0, rows)][_every2(lay.ah + 1, 0, cols)]
        if bias is None:
            dst[...] = src
        else:
            shape = (-1, 1, 1, 1)
            xp.add(src, bias.reshape(shape), out=dst)


def input_grad(xp: Any, g: Any, w: Any, x_shape: tuple, pads: tuple) -> Any:
    """grad_x = conv(g, flip(w)^T) with padding 2 - pad: itself a Winograd convolution."""
    u = weight_transform(xp, w, flip=True).swapaxes(1, 2)  # (16, C, O)
    full = tuple((2 - lo, 2 - hi) for lo, hi in pads)
    return forward(xp, g, _Transposed(w), full, u=u)


class _Transposed:
    """The shape of w (O, C, 3, 3) with O and C swapped (forward only reads the shape)."""

    def __init__(self, w: Any) -> None:
        self.shape = (w.shape[1], w.shape[0]) + tuple(w.shape[2:])


def weight_grad(xp: Any, g: Any, x: Any, w_shape: tuple, pads: tuple) -> Any:
    """grad_w = G^T [sum over tiles of (A g A^T) * (B^T d B)] G."""
    n, c = x.shape[:2]
    o = w_shape[0]
    oh, ow, th, tw = _geometry(x.shape, pads)
    g = xp.ascontiguousarray(g) if xp is _conv_kernels.np else g
    k = _compiled(xp, g) if tw > BATCH_LAST_MAX_TILES else None
    lay = _Layout(tw <= BATCH_LAST_MAX_TILES)
    gu = None
    m = max(1, min(n, CHUNK_BYTES // max(16 * c * th * tw * x.itemsize, 1)))
    for n0 in range(0, n, m):
        mm = min(m, n - n0)
        grid = lay.shape(1, mm, th, tw)[1:]
        p = buffer(xp, "wp", lay.shape(c, mm, 2 * th + 2, 2 * tw + 2), x.dtype)
        _pad_into(xp, lay, x[n0:n0 + mm], pads, p)
        v = buffer(xp, "wv", (16, c) + grid, x.dtype)
        gm = buffer(xp, "wm", (16, o) + grid, g.dtype)
        if k is not None and _conv_kernels.run("wino_input", p, v) and \
                _conv_kernels.run("wino_grad_output", g[n0:n0 + mm], gm):
            pass
        else:
            input_transform(xp, p, lay.ah, th, tw, v)
            gy = buffer(xp, "wgy", lay.shape(o, mm, 2 * th, 2 * tw), g.dtype)
            _pad_into(xp, lay, g[n0:n0 + mm], ((0, 2 * th - oh), (0, 2 * tw - ow)), gy)
            grad_output_transform(xp, gy, lay.ah, th, tw, gm)
        part = xp.matmul(gm.reshape(16, o, -1), v.reshape(16, c, -1).swapaxes(1, 2))
        if gu is None:
            gu = part
        else:
            gu += part
    return weight_grad_transform(xp, gu)
