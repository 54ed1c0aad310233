"""Optional compiled loops for the Winograd tile transforms (numba, the ``fast`` extra).

In NumPy each transform is about twenty strided slice operations over tile-domain arrays;
these kernels do the same work in one compiled pass each (``wino_input``, ``wino_output``,
``wino_grad_output``), with the same operations in the same order, so their results are
bit-for-bit those of the NumPy transforms in ``winograd.py``.

Never required: without numba, or with ``SOFTGRAD_NUMBA=0``, :func:`kernels` returns None
and the NumPy code runs. ``tests/test_conv_kernels.py`` checks both paths agree.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from softgrad import backend

np = backend.np
_state: dict[str, Any] = {}
USE = True  # tests switch the kernels off to compare with the NumPy path


def enabled() -> bool:
    """Whether compiled kernels may be used (not switched off by SOFTGRAD_NUMBA or USE)."""
    return USE and os.environ.get("SOFTGRAD_NUMBA", "1").strip().lower() not in (
        "0", "off", "no", "false")


def kernels() -> Any:
    """A namespace of the compiled kernels, or None (numba missing, disabled or broken)."""
    if not enabled():
        return None
    if "k" not in _state:
        _state["k"] = _compile()
    return _state["k"]


def usable(*arrays: Any) -> bool:
    """True when the kernels can take these arrays: C-contiguous float32/float64 NumPy
    arrays of one dtype."""
    dt = arrays[0].dtype
    if dt != np.float32 and dt != np.float64:
        return False
    return all(type(a) is np.ndarray and a.dtype == dt and a.flags.c_contiguous
               for a in arrays)


class _Kernels:
    wino_input: Callable[..., Any]
    wino_output: Callable[..., Any]
    wino_grad_output: Callable[..., Any]


def _compile() -> Any:
    try:
        import numba  # optional
    except Exception:
        return None
    for cache in (True, False):  # caching needs a writable __pycache__
        try:
            jit = numba.njit(cache=cache, nogil=True, fastmath=False, error_model="numpy")
            k = _Kernels()
            k.wino_input = jit(_wino_input)
            k.wino_output = jit(_wino_output)
            k.wino_grad_output = jit(_wino_grad_output)
            return k
        except Exception:  # pragma: no cover - read-only install or a broken numba
            continue
    return None  # pragma: no cover


def disable() -> None:
    """Stop using the kernels in this process (after an unexpected failure)."""
    _state["k"] = None


def run(name: str, *args: Any) -> bool:
    """Call kernel ``name``; False (and the kernels switched off) if it fails to compile or
    run, so the caller takes the NumPy path."""
    k = kernels()
    if k is None:
        return False
    try:
        getattr(k, name)(*args)
        return True
    except Exception:  # pragma: no cover - a numba that cannot type these arrays
        disable()
        return False


# ---------------------------------------------------------------------- Winograd tiles
def _wino_input(p, v):  # pragma: no cover - compiled
    """v (16, C, n, th, tw) = B^T d B of every 4x4 tile d of p (C, n, 2th+2, 2tw+2); the
    operations and their order are those of ``winograd.input_transform``."""
    c_, n_, _, wp = p.shape
    th, tw = v.shape[3], v.shape[4]
    q = np.empty((4, wp), dtype=p.dtype)
    for c in range(c_):
        for b in range(n_):
            for i in range(th):
                r = 2 * i
                for k in range(wp):
                    d0 = p[c, b, r, k]
                    d1 = p[c, b, r + 1, k]
                    d2 = p[c, b, r + 2, k]
                    d3 = p[c, b, r + 3, k]
                    q[0, k] = d0 - d2
                    q[1, k] = d1 + d2
                    q[2, k] = d2 - d1
                    q[3, k] = d1 - d3
                for a in range(4):
                    for j in range(tw):
                        e0 = q[a, 2 * j]
                        e1 = q[a, 2 * j + 1]
                        e2 = q[a, 2 * j + 2]
                        e3 = q[a, 2 * j + 3]
                        v[4 * a, c, b, i, j] = e0 - e2
                        v[4 * a + 1, c, b, i, j] = e1 + e2
                        v[4 * a + 2, c, b, i, j] = e2 - e1
                        v[4 * a + 3, c, b, i, j] = e1 - e3


def _wino_output(m, y, bias, has_bias):  # pragma: no cover - compiled
    """y (n, O, OH, OW) = A^T M A of every tile of m (16, O, n, th, tw), cropped, + bias
    (without ``has_bias``, ``bias`` is a dummy zero); the operations and their order are
    those of ``winograd.output_transform``."""
    o_, n_, th, tw = m.shape[1], m.shape[2], m.shape[3], m.shape[4]
    oh_, ow_ = y.shape[2], y.shape[3]
    for o in range(o_):
        bo = bias[o] if has_bias else bias[0]
        for b in range(n_):
            for i in range(th):
                for j in range(tw):
                    s00 = m[0, o, b, i, j] + m[4, o, b, i, j]
                    s00 += m[8, o, b, i, j]
                    s10 = m[4, o, b, i, j] - m[8, o, b, i, j]
                    s10 -= m[12, o, b, i, j]
                    s01 = m[1, o, b, i, j] + m[5, o, b, i, j]
                    s01 += m[9, o, b, i, j]
                    s11 = m[5, o, b, i, j] - m[9, o, b, i, j]
                    s11 -= m[13, o, b, i, j]
                    s02 = m[2, o, b, i, j] + m[6, o, b, i, j]
                    s02 += m[10, o, b, i, j]
                    s12 = m[6, o, b, i, j] - m[10, o, b, i, j]
                    s12 -= m[14, o, b, i, j]
                    s03 = m[3, o, b, i, j] + m[7, o, b, i, j]
                    s03 += m[11, o, b, i, j]
                    s13 = m[7, o, b, i, j] - m[11, o, b, i, j]
                    s13 -= m[15, o, b, i, j]
                    y00 = s00 + s01
                    y00 += s02
                    y01 = s01 - s02
                    y01 -= s03
                    y10 = s10 + s11
                    y10 += s12
                    y11 = s11 - s12
                    y11 -= s13
                    r, q = 2 * i, 2 * j
                    if has_bias:
                        y00 += bo
                        y01 += bo
                        y10 += bo
                        y11 += bo
                    y[b, o, r, q] = y00
                    if q + 1 < ow_:
                        y[b, o, r, q + 1] = y01
                    if r + 1 < oh_:
                        y[b, o, r + 1, q] = y10
                        if q + 1 < ow_:
                            y[b, o, r + 1, q + 1] = y11


def _wino_grad_output(g, gm):  # pragma: no cover - compiled
    """gm (16, O, n, th, tw) = A gY A^T of every 2x2 tile of g (n, O, OH, OW), zeros past
    its edge; the operations are those of ``winograd.grad_output_transform``."""
    o_, n_, th, tw = gm.shape[1], gm.shape[2], gm.shape[3], gm.shape[4]
    oh_, ow_ = g.shape[2], g.shape[3]
    zero = np.zeros(1, dtype=g.dtype)[0]
    for o in range(o_):
        for b in range(n_):
            for i in range(th):
                r = 2 * i
                for j in range(tw):
                    q = 2 * j
                    g00 = g[b, o, r, q]
                    g01 = g[b, o, r, q + 1] if q + 1 < ow_ else zero
                    g10 = zero
                    g11 = zero
                    if r + 1 < oh_:
                        g10 = g[b, o, r + 1, q]
                        g11 = g[b, o, r + 1, q + 1] if q + 1 < ow_ else zero
                    # rows: H0 = g0, H1 = g0 + g1, H2 = g0 - g1, H3 = -g1
                    h00, h01 = g00, g01
                    h10, h11 = g00 + g10, g01 + g11
                    h20, h21 = g00 - g10, g01 - g11
                    h30, h31 = -g10, -g11
                    gm[0, o, b, i, j] = h00
                    gm[1, o, b, i, j] = h00 + h01
                    gm[2, o, b, i, j] = h00 - h01
                    gm[3, o, b, i, j] = -h01
                    gm[4, o, b, i, j] = h10
                    gm[5, o, b, i, j] = h10 + h11
                    gm[6, o, b, i, j] = h10 - h11
                    gm[7, o, b, i, j] = -h11
                    gm[8, o, b, i, j] = h20
                    gm[9, o, b, i, j] = h20 + h21
                    gm[10, o, b, i, j] = h20 - h21
                    gm[11, o, b, i, j] = -h21
                    gm[12, o, b, i, j] = h30
                    gm[13, o, b, i, j] = h30 + h31
                    gm[14, o, b, i, j] = h30 - h31
                    gm[15, o, b, i, j] = -h31
