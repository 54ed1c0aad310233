"""Optional kernels for the exact GELU, compiled with numba (the ``fast`` extra).

The NumPy path (``ops.activation.Gelu``: ``x * Phi(x)``, Phi from a degree-9 Horner form of
erfc and one exp) makes about thirty passes over memory. Here one compiled pass computes the
argument of the exponential, NumPy's own ``exp`` runs on it (so the exponential is the very
same), and a second pass finishes. Every other float operation is the NumPy path's, in the
same order, so results are bit-for-bit equal (``tests/nn/test_rnn_fast.py``). Never required:
without numba, or with ``SOFTGRAD_NUMBA=0``, :func:`gelu_kernels` returns None.
"""
from __future__ import annotations

from typing import Any

from softgrad.ops._numba import compiled, enabled


def _erfc_arg(x, acc, s, inv_k, one, c0, c1, c2, c3, c4, c5, c6, c7, c8,
              c9):  # pragma: no cover - runs compiled
    """acc = P(t) + c0 - z^2 with z = |x| / sqrt(2), t = 1 / (z / k + 1): the exponent of
    erfc(z) = t * exp(acc) (``activation._erfc_nonneg``, float32 fit, written out so that
    the loop vectorizes)."""
    for j in range(x.size):
        z = abs(x[j]) * s
        t = one / (z * inv_k + one)
        a = t * c9
        a = (a + c8) * t
        a = (a + c7) * t
        a = (a + c6) * t
        a = (a + c5) * t
        a = (a + c4) * t
        a = (a + c3) * t
        a = (a + c2) * t
        a = (a + c1) * t
        a = a + c0
        acc[j] = a - z * z


def _gelu_finish(x, e, cdf, out, s, inv_k, one, half):  # pragma: no cover - runs compiled
    """With e = exp(acc): Phi(-|x|) = t * e / 2, cdf = Phi(x), out = x * cdf."""
    for j in range(x.size):
        xj = x[j]
        z = abs(xj) * s
        t = one / (z * inv_k + one)
        tail = e[j] * t * half
        c = tail if xj < 0 else one - tail
        cdf[j] = c
        out[j] = xj * c


def _neg_half_square(x, out, nh):  # pragma: no cover - runs compiled
    for j in range(x.size):
        out[j] = x[j] * x[j] * nh


def _gelu_grad(g, x, cdf, e, out, c):  # pragma: no cover - runs compiled
    """out = g * (cdf + x * pdf), pdf = e * c with e = exp(-x^2 / 2), c = 1 / sqrt(2 pi)."""
    for j in range(x.size):
        out[j] = g[j] * (cdf[j] + x[j] * (e[j] * c))


def _compile() -> Any:
    return compiled("gelu", _erfc_arg, _gelu_finish, _neg_half_square, _gelu_grad)


def gelu_kernels(xp: Any, *arrays: Any) -> tuple | None:
    """The compiled kernels when every array is a C-contiguous NumPy float32 array (float64
    keeps the NumPy path), else None."""
    if getattr(xp, "__name__", "") != "numpy" or not enabled():
        return None
    dt = arrays[0].dtype
    for a in arrays:
        if type(a) is not xp.ndarray or a.dtype != dt or not a.flags.c_contiguous:
            return None
    if dt != xp.float32 or arrays[0].size < 4096:  # the kernels hold the float32 fit
        return None
    return _compile()
