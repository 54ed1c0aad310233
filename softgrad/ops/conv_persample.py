"""The per-sample lowering: columns (n, C*K, L) of each sample and one GEMM per sample.

For convolutions with few output channels the batch-as-columns GEMMs of ``conv_lowering``
are thin (an inner size of O for the input gradient); here each sample's product runs
straight into the batch-first result instead:

- forward: ``y[i] = W (O, C*K) @ cols_i (C*K, L)`` for the samples of a batch slice (one
  batched matmul, no transposition of the output);
- grad_x at stride 1: the same forward applied to g with the flipped, transposed kernel and
  the 'full' padding (no col2im);
- grad_W: ``sum_i cols_i (C*K, L) @ g_i^T (L, O)`` per batch slice (a temporary of slice x
  C*K x O, bounded by the slice size; used only where O is small).

Columns come from an ``as_strided`` window view of the zero-padded slice (both in reusable
work buffers).
"""
from __future__ import annotations

from typing import Any

from softgrad.ops.conv_plan import buffer

CHUNK_BYTES = 8 * 2**20
MAX_OUT_CHANNELS = 48  # this lowering for convolutions with fewer output channels...
MIN_LENGTH = 64        # ...and at least this many output positions per sample


def applies(x_shape: tuple, w_shape: tuple, out: tuple, groups: int) -> bool:
    length = 1
    for v in out:
        length *= v
    return groups == 1 and w_shape[0] < MAX_OUT_CHANNELS and length >= MIN_LENGTH


def _padded(xp: Any, x: Any, pads: tuple) -> Any:
    """x (m, C, *S) in a work buffer with zero borders, or x itself when unpadded."""
    if not any(lo or hi for lo, hi in pads):
        return x
    shape = x.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads))
    out = buffer(xp, "ps_pad", shape, x.dtype)
    inner = (slice(None), slice(None)) + tuple(slice(lo, lo + n)
                                               for n, (lo, _) in zip(x.shape[2:], pads))
    for a, (lo, hi) in enumerate(pads):  # clear only the borders
        lead = (slice(None),) * (2 + a)
        if lo:
            out[lead + (slice(0, lo),)] = 0
        if hi:
            out[lead + (slice(out.shape[2 + a] - hi, None),)] = 0
    out[inner] = x
    return out


def columns(xp: Any, x: Any, kernel: tuple, stride: tuple, pads: tuple, dilation: tuple,
            out: tuple, fresh: bool = False) -> Any:
    """(m, C*K, L) columns of the slice x (m, C, *S), in a work buffer (or a new array)."""
    xpad = _padded(xp, x, pads)
    m, c = x.shape[:2]
    st = xpad.strides
    shape = (m, c) + tuple(kernel) + tuple(out)
    strides = st[:2] + tuple(s * d for s, d in zip(st[2:], dilation)) + \
        tuple(s * k for s, k in zip(st[2:], stride))
    view = xp.lib.stride_tricks.as_strided(xpad, shape, strides)
    cols = xp.empty(shape, dtype=x.dtype) if fresh else buffer(xp, "ps_cols", shape, x.dtype)
    cols[...] = view
    length = 1
    for v in out:
        length *= v
    kk = 1
    for v in kernel:
        kk *= v
    return cols.reshape(m, c * kk, length)


def forward(xp: Any, x: Any, w: Any, geo: tuple, out: tuple, bias: Any = None,
            keep_bytes: int = 0) -> tuple[Any, Any]:
    """(y, kept): y (n, O, *out) = conv(x, w) + bias, one GEMM per sample; ``kept``: the
    columns (n, C*K, L) when they fit ``keep_bytes`` in one batch slice, else None."""
    stride, pads, dilation, _ = geo
    n = x.shape[0]
    o, kernel = w.shape[0], tuple(w.shape[2:])
    ckk = w[0].size
    length = 1
    for v in out:
        length *= v
    y = xp.empty((n, o) + tuple(out), dtype=x.dtype)
    wm = w.reshape(o, ckk)
    m = max(1, min(n, CHUNK_BYTES // max(ckk * length * x.itemsize, 1)))
    keep = m == n and n * ckk * length * x.itemsize <= keep_bytes
    kept = None
    for n0 in range(0, n, m):
        mm = min(m, n - n0)
        cols = columns(xp, x[n0:n0 + mm], kernel, stride, pads, dilation, out, fresh=keep)
        kept = cols if keep else None
        xp.matmul(wm, cols, out=y[n0:n0 + mm].reshape(mm, o, length))
    if bias is not None:
        y += bias.reshape((1, o) + (1,) * len(out))
    return y, kept


def full_pads(kernel: tuple, stride: tuple, pads: tuple, dilation: tuple) -> tuple | None:
    """Padding that makes a stride-1 input gradient a plain convolution of g, or None."""
    if any(s != 1 for s in stride):
        return None
    full = tuple((d * (k - 1) - lo, d * (k - 1) - hi)
                 for k, (lo, hi), d in zip(kernel, pads, dilation))
    return None if min(min(p) for p in full) < 0 else full


def input_grad_applies(x_shape: tuple, w_shape: tuple, geo: tuple, out: tuple) -> bool:
    """Whether grad_x is best the convolution of g: stride 1, and g's columns no larger than
    col2im's (O * |S| <= C * L) with enough positions per sample for its GEMMs."""
    stride, pads, dilation, _ = geo
    if full_pads(tuple(w_shape[2:]), stride, pads, dilation) is None:
        return False
    size = length = 1
    for v in x_shape[2:]:
        size *= v
    for v in out:
        length *= v
    return w_shape[0] * size <= x_shape[1] * length and size >= 256


def input_grad(xp: Any, g: Any, w: Any, geo: tuple, x_shape: tuple) -> Any:
    """grad_x (stride 1) = conv(g, flip(w)^T) with the full padding."""
    stride, pads, dilation, _ = geo
    kernel = tuple(w.shape[2:])
    full = full_pads(kernel, stride, pads, dilation)
    nd = len(kernel)
    flip = (slice(None), slice(None)) + (slice(None, None, -1),) * nd
    wt = xp.ascontiguousarray(w[flip].swapaxes(0, 1))
    return forward(xp, g, wt, (stride, full, dilation, 1), tuple(x_shape[2:]))[0]


def weight_grad(xp: Any, g: Any, x: Any, w_shape: tuple, geo: tuple, kept: Any = None) -> Any:
    """grad_W = sum over samples of cols_i @ g_i^T, a batch slice at a time (``kept``: the
    columns forward kept, if any)."""
    stride, pads, dilation, _ = geo
    n = x.shape[0]
    o, kernel = w_shape[0], tuple(w_shape[2:])
    out = tuple(g.shape[2:])
    ckk = 1
    for v in w_shape[1:]:
        ckk *= v
    length = 1
    for v in out:
        length *= v
    gwt: Any = None
    m = max(1, min(n, CHUNK_BYTES // max(ckk * length * x.itemsize, 1)))
    if kept is not None and kept.shape[0] == n:
        m = n
    for n0 in range(0, n, m):
        mm = min(m, n - n0)
        cols = kept if kept is not None and kept.shape[0] == n else \
            columns(xp, x[n0:n0 + mm], kernel, stride, pads, dilation, out)
        part = xp.matmul(cols, g[n0:n0 + mm].reshape(mm, o, length).swapaxes(1, 2)).sum(axis=0)
        gwt = part if gwt is None else gwt + part
    return xp.ascontiguousarray(gwt.T).reshape(w_shape)
