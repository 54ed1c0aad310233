"""Optional kernels for batch norm's per-channel affine passes (numba, the ``fast`` extra).

Batch norm's forward is ``y = x * a + c`` and its backward ``grad_x = x * k + g * a' + c'``
with per-channel numbers (``ops.normalization``). NumPy makes two and four passes over the
activation for these (with a temporary for ``g * a'``); ``affine`` and ``affine2`` make one,
with the same float operations in the same order (no fused multiply-adds), so results are
bit-for-bit those of the NumPy expressions. Never required: without numba, or with
``SOFTGRAD_NUMBA=0``, :func:`kernels` returns None.
"""
from __future__ import annotations

from typing import Any

from softgrad.ops._numba import compiled, enabled


def _affine(x, a, c, out):  # pragma: no cover - runs compiled
    """out (N, C, L) = x * a[c] + c[c] (rounded after the product, as NumPy)."""
    n_, c_, l_ = x.shape
    for i in range(n_):
        for j in range(c_):
            aj = a[j]
            cj = c[j]
            for q in range(l_):
                v = x[i, j, q] * aj
                out[i, j, q] = v + cj


def _affine2(x, k, g, a, c, out):  # pragma: no cover - runs compiled
    """out (N, C, L) = (x * k[c] + g * a[c]) + c[c] (each product rounded, as NumPy)."""
    n_, c_, l_ = x.shape
    for i in range(n_):
        for j in range(c_):
            kj = k[j]
            aj = a[j]
            cj = c[j]
            for q in range(l_):
                v = x[i, j, q] * kj
                w = g[i, j, q] * aj
                v = v + w
                out[i, j, q] = v + cj


def kernels(xp: Any, *arrays: Any) -> tuple | None:
    """(affine, affine2) when every array is a C-contiguous NumPy float32/float64 array of
    one dtype, else None."""
    if getattr(xp, "__name__", "") != "numpy" or not enabled():
        return None
    dt = arrays[0].dtype
    if dt != xp.float32 and dt != xp.float64:
        return None
    if not all(type(a) is xp.ndarray and a.dtype == dt and a.flags.c_contiguous
               for a in arrays):
        return None
    return compiled("batchnorm", _affine, _affine2)
