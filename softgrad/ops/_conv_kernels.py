"""Optional compiled loops for the Winograd tile transforms and for im2col / col2im (numba,
the ``fast`` extra).

In NumPy each transform is about twenty strided slice operations over tile-domain arrays;
these kernels do the same work in one compiled pass each (``wino_input``, ``wino_output``,
``wino_grad_output``), with the same operations in the same order, so their results are
bit-for-bit those of the NumPy transforms in ``winograd.py``.

``col2im`` adds the columns (B, C, KD, KH, KW, OD, OH, OW) of a convolution back onto its
input (B, C, D, H, W) (any strides; 1-D and 2-D convolutions pass unit leading axes). NumPy
makes one strided read-modify-write per tap, slow where windows overlap at stride > 1 (the
only case ``conv_columns`` uses it for); here every row is a compiled loop. It sums the taps
in tap order from zero (float32-close to NumPy's order, which starts from a full tap). A
compiled im2col measured slower than NumPy's strided copies, so there is none.

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
    col2im: Callable[..., Any]


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
            k.col2im = jit(_col2im)
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


# ---------------------------------------------------------------------- im2col / col2im
def col2im(cols: Any, gx: Any, lo: tuple, stride: tuple, dilation: tuple) -> bool:
    """gx (B, C, *S) = the adjoint of im2col: each tap's box of cols (B, C, *K, *Out) added
    onto the input positions it reads (gx overwritten; low padding ``lo``); False (nothing
    written) when the kernels cannot run."""
    nd = gx.ndim - 2
    if not _takes(gx, cols):
        return False
    g5, c8 = _lift(gx, 2, nd), _lift(_lift(cols, 2, nd), 5, nd)
    return run("col2im", c8, g5, *_geometry(nd, lo, stride, dilation))


def _takes(a: Any, b: Any) -> bool:
    dt = a.dtype
    return (kernels() is not None and type(a) is np.ndarray and type(b) is np.ndarray
            and dt == b.dtype and (dt == np.float32 or dt == np.float64) and 1 <= a.ndim - 2 <= 3)


def _lift(a: Any, at: int, nd: int) -> Any:
    """a with 3 - nd unit axes inserted at ``at`` (a view)."""
    return a.reshape(a.shape[:at] + (1,) * (3 - nd) + a.shape[at:]) if nd < 3 else a


def _geometry(nd: int, lo: tuple, stride: tuple, dilation: tuple) -> tuple:
    pad = (0,) * (3 - nd)
    one = (1,) * (3 - nd)
    return (np.array(pad + tuple(lo[-nd:]), dtype=np.int64),
            np.array(one + tuple(stride[-nd:]), dtype=np.int64),
            np.array(one + tuple(dilation[-nd:]), dtype=np.int64))


def _col2im(cols, gx, lo, st, dl):  # pragma: no cover - compiled
    """gx (B, C, D, H, W) = the adjoint of im2col: each tap's box of cols (B, C, KD, KH,
    KW, OD, OH, OW) added onto the input positions it read, taps in order (gx overwritten);
    ``lo``, ``st``, ``dl``: per-axis low padding, stride, dilation."""
    nb, nc, d_, h_, w_ = gx.shape
    kd_, kh_, kw_, od_, oh_, ow_ = cols.shape[2:]
    zero = np.zeros(1, dtype=gx.dtype)[0]
    for b in range(nb):
        for c in range(nc):
            for i in range(d_):
                for j in range(h_):
                    for q in range(w_):
                        gx[b, c, i, j, q] = zero
            for kd in range(kd_):
                offd = kd * dl[0] - lo[0]
                d0 = (-offd + st[0] - 1) // st[0] if offd < 0 else 0
                d1 = min(od_, (d_ - 1 - offd) // st[0] + 1) if d_ - 1 - offd >= 0 else 0
                d1 = max(d0, d1)
                for kh in range(kh_):
                    offh = kh * dl[1] - lo[1]
                    h0 = (-offh + st[1] - 1) // st[1] if offh < 0 else 0
                    h1 = min(oh_, (h_ - 1 - offh) // st[1] + 1) if h_ - 1 - offh >= 0 else 0
                    h1 = max(h0, h1)
                    for kw in range(kw_):
                        offw = kw * dl[2] - lo[2]
                        w0 = (-offw + st[2] - 1) // st[2] if offw < 0 else 0
                        w1 = min(ow_, (w_ - 1 - offw) // st[2] + 1) if w_ - 1 - offw >= 0 else 0
                        w1 = max(w0, w1)
                        for od in range(d0, d1):
                            idd = od * st[0] + offd
                            for oh in range(h0, h1):
                                ih = oh * st[1] + offh
                                for ow in range(w0, w1):
                                    gx[b, c, idd, ih, ow * st[2] + offw] += \
                                        cols[b, c, kd, kh, kw, od, oh, ow]
