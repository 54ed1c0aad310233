"""Optional kernels for max pooling over non-overlapping windows (numba, the ``fast`` extra).

The NumPy backward of ``ops.pool.MaxPool2d`` makes a compare and a strided write per
kernel offset. For windows that tile the input (stride == kernel, no padding, no dilation:
the usual ``MaxPool2d(2)``) ``backward`` does it in one pass: grad_x = g at each window's
argmax offset (``i * kw + j``, from the forward), zero elsewhere (also in rows or columns no
window covers). Results equal the NumPy path's exactly (a copy of values, no arithmetic).
(A compiled forward measured slower than NumPy's running ``maximum``, so there is none.)
Never required: without numba, or with ``SOFTGRAD_NUMBA=0``, :func:`kernels` returns None.
"""
from __future__ import annotations

from typing import Any

from softgrad.ops._numba import compiled, enabled


def _backward(g, arg, gx, kh, kw):  # pragma: no cover - runs compiled
    """gx (N, C, H, W) = g at each window's argmax offset, zero elsewhere."""
    n_, c_, h_, w_ = gx.shape
    oh_, ow_ = g.shape[2], g.shape[3]
    for b in range(n_):
        for c in range(c_):
            for r in range(h_):
                for q in range(w_):
                    gx[b, c, r, q] = 0
            for i in range(oh_):
                for j in range(ow_):
                    a = arg[b, c, i, j]
                    gx[b, c, i * kh + a // kw, j * kw + a % kw] = g[b, c, i, j]


def kernels(xp: Any, g: Any, arg: Any) -> Any:
    """The compiled ``backward`` when g is a C-contiguous NumPy float32/float64 array and
    arg a C-contiguous integer array, else None."""
    if getattr(xp, "__name__", "") != "numpy" or not enabled():
        return None
    if g.dtype != xp.float32 and g.dtype != xp.float64:
        return None
    if not all(type(a) is xp.ndarray and a.flags.c_contiguous for a in (g, arg)):
        return None
    k = compiled("maxpool", _backward)
    return None if k is None else k[0]
