"""N-d convolution on raw arrays: forward, and its input and weight gradients, as large GEMMs.

Shapes: x (N, C, *S), w (O, C / G, *K), y (N, O, *Out), for 1, 2 or 3 spatial axes.
``geo = (stride, pads, dilation, groups)`` with per-axis tuples; pads are ``((lo, hi), ...)``.

Inside, the batch is moved next to the spatial axes: columns are ``(C, *K, n, *Out)``, so one
batch slice of n samples is ONE matrix ``(C*K, n*L)`` (L = prod(Out)) and every product is a
single GEMM over the whole slice: ``y = W @ cols``, ``grad_W = g @ cols^T`` (the batch summed
inside the GEMM, no per-sample temporary) and ``grad_cols = W^T @ g`` followed by col2im.
Two lowerings, picked per shape by ``choose``:

- ``im2col``: copy each tap's input box into the columns once, one GEMM with inner size C*K.
- ``taps``: one GEMM per kernel tap over only the positions where that tap meets the input
  (``conv_plan``). A 1x1 convolution is a single plain GEMM; on small maps (ResNet's last
  stages: a 3x3 kernel on 1x1-4x4 maps) it skips the multiply-adds with padding that im2col
  would make (on a 1x1 map, 8 of 9 taps).

Batch slices keep the columns near ``CHUNK_BYTES``; their buffers come from the reusable
workspace of ``conv_plan``. Results are fresh arrays.
"""
from __future__ import annotations

from typing import Any

from softgrad.ops import conv_persample, winograd
from softgrad.ops.conv_columns import Columns, matmul_deep, matmul_long
from softgrad.ops.conv_plan import Plan, buffer, plan

CHUNK_BYTES = 8 * 2**20   # column bytes per batch slice (cache-sized)
TAPS_MAX_VALID = 0.75     # 'taps' when at most this fraction of im2col's work is useful...
TAPS_MIN_CHANNELS = 32    # ...and each tap's GEMM has an inner size of at least this
FORCE: str | None = None  # tests: 'im2col', 'taps' or 'winograd' to force one where it applies


def _prod(t: tuple) -> int:
    r = 1
    for v in t:
        r *= v
    return r


def _plan_of(x_spatial: tuple, w_shape: tuple, geo: tuple, out: tuple | None = None) -> Plan:
    stride, pads, dilation, _ = geo
    return plan(tuple(x_spatial), tuple(w_shape[2:]), stride, pads, dilation,
                None if out is None else tuple(out))


def choose(p: Plan, x_shape: tuple, w_shape: tuple, geo: tuple) -> str:
    """'winograd', 'taps', 'persample' or 'im2col' for a convolution with plan ``p``."""
    stride, pads, dilation, groups = geo
    c = x_shape[1]
    if groups != 1:
        return "im2col"
    if FORCE == "winograd":
        if winograd.applies(x_shape, w_shape, stride, pads, dilation, groups, min_channels=1):
            return "winograd"
    elif FORCE is not None:
        return FORCE
    elif winograd.applies(x_shape, w_shape, stride, pads, dilation, groups):
        return "winograd"
    kk = _prod(tuple(w_shape[2:]))
    if kk == 1:
        return "taps"
    if FORCE is None and conv_persample.applies(x_shape, w_shape, p.out, groups):
        return "persample"
    useful = p.valid / (kk * _prod(p.out)) if p.out and _prod(p.out) else 1.0
    return "taps" if useful <= TAPS_MAX_VALID and c >= TAPS_MIN_CHANNELS else "im2col"


def _batch_last(a: Any) -> Any:
    """(n, C, *S) view as (C, n, *S)."""
    return a.swapaxes(0, 1)


def _slice_rows(n: int, per_sample: int) -> int:
    """Samples per batch slice so one slice's work buffer stays near ``CHUNK_BYTES``."""
    return max(1, min(n, CHUNK_BYTES // max(per_sample, 1)))


# ---------------------------------------------------------------------- forward
def forward(xp: Any, x: Any, w: Any, geo: tuple, bias: Any = None, keep_bytes: int = 0,
            out: tuple | None = None) -> tuple[Any, Any]:
    """(y, kept): y = conv(x, w) + bias; ``kept`` is the im2col column array when it fits in
    ``keep_bytes`` and one batch slice (pass it back to ``backward``), else None. ``out``: the
    output's spatial size (default: floor mode)."""
    n, c = x.shape[:2]
    o, groups = w.shape[0], geo[3]
    p = _plan_of(x.shape[2:], w.shape, geo, out)
    y = xp.empty((n, o) + p.out, dtype=x.dtype)
    if n == 0 or 0 in p.out:
        if bias is not None:
            y[...] = bias.reshape((1, o) + (1,) * len(p.out))
        return y, None
    how = choose(p, x.shape, w.shape, geo)
    if how == "winograd" and tuple(p.out) == tuple(y.shape[2:]):
        return winograd.forward(xp, x, w, geo[1], bias), None
    if how == "taps":
        _taps_forward(xp, x, w, p, y, bias)
        return y, None
    if how == "persample":
        return conv_persample.forward(xp, x, w, geo, p.out, bias, keep_bytes)
    kernel, length = tuple(w.shape[2:]), _prod(p.out)
    ckk = c * _prod(kernel)
    m = _slice_rows(n, ckk * length * x.itemsize)
    keep = m == n and ckk * n * length * x.itemsize <= keep_bytes
    wg = w.reshape(groups, o // groups, ckk // groups)
    layout = Columns(xp, p, geo, c, kernel)
    kept = None
    for n0 in range(0, n, m):
        mm = min(m, n - n0)
        shape = layout.shape(mm)
        cols = xp.empty(shape, dtype=x.dtype) if keep else buffer(xp, "cols", shape, x.dtype)
        layout.fill(x, n0, mm, cols)
        yt = buffer(xp, "yt", (groups, o // groups, mm * length), x.dtype)
        matmul_long(xp, wg, cols.reshape(groups, ckk // groups, mm * length), yt)
        layout.store(yt.reshape((o,) + shape[1 + len(kernel):]), y[n0:n0 + mm], bias)
        kept = cols if keep else None
    return y, kept


def _store_batch_first(xp: Any, yt: Any, dst: Any, bias: Any) -> None:
    """dst (n, O, *Out) = yt (O, n, *Out) transposed, plus bias, in one pass."""
    if bias is None:
        dst[...] = _batch_last(yt)
    else:
        xp.add(_batch_last(yt), bias.reshape((1, -1) + (1,) * (yt.ndim - 2)), out=dst)


def _taps_forward(xp: Any, x: Any, w: Any, p: Plan, y: Any, bias: Any) -> None:
    """y = sum over taps of W[:, :, k] @ (x's box of tap k), each one GEMM (groups == 1)."""
    n, c = x.shape[:2]
    o = w.shape[0]
    wt = _taps_weight(xp, w)  # (*K, O, C)
    in_len, length = _prod(tuple(x.shape[2:])), _prod(p.out)
    m = _slice_rows(n, (c * in_len + 2 * o * length) * x.itemsize)
    taps = _full_out_first(p)
    for n0 in range(0, n, m):
        mm = min(m, n - n0)
        xt = _batch_last(x[n0:n0 + mm])
        yt = buffer(xp, "yt", (o, mm) + p.out, x.dtype)
        if not taps or not taps[0].full_out:
            yt[...] = 0
        for i, t in enumerate(taps):
            src = _gather(xp, xt, t, "src")
            if i == 0 and t.full_out:
                xp.matmul(wt[t.k], src, out=yt.reshape(o, mm * length))
            else:
                z = buffer(xp, "z", (o, mm * t.count), x.dtype)
                xp.matmul(wt[t.k], src, out=z)
                yt[(slice(None),) * 2 + t.out_box] += z.reshape(yt[(slice(None),) * 2
                                                                   + t.out_box].shape)
        _store_batch_first(xp, yt, y[n0:n0 + mm], bias)


def _taps_weight(xp: Any, w: Any) -> Any:
    """w (O, C, *K) as a contiguous (*K, O, C) stack of per-tap matrices."""
    nd = w.ndim - 2
    return xp.ascontiguousarray(w.transpose(tuple(range(2, 2 + nd)) + (0, 1)))


def _full_out_first(p: Plan) -> list:
    """The non-empty taps, one covering the whole output grid first (if any)."""
    taps = [t for t in p.taps if t.out_box is not None]
    taps.sort(key=lambda t: not t.full_out)
    return taps


def _gather(xp: Any, at: Any, t: Any, slot: str, box: str = "in") -> Any:
    """Tap ``t``'s box of ``at`` (C, n, *S) as a contiguous (C, n * count) matrix."""
    view = at[(slice(None),) * 2 + (t.in_box if box == "in" else t.out_box)]
    out = buffer(xp, slot, view.shape, at.dtype)
    out[...] = view
    return out.reshape(view.shape[0], -1)


# ---------------------------------------------------------------------- backward
def backward(xp: Any, g: Any, x: Any, w: Any, geo: tuple, x_shape: tuple, need_x: bool,
             need_w: bool, kept: Any = None) -> tuple[Any, Any]:
    """(grad_x, grad_w) of y = conv(x, w) for upstream g (N, O, *Out); None where not needed.

    ``x`` may be None when only grad_x is needed (``x_shape`` gives its shape); ``kept``:
    the columns ``forward`` returned, if any.
    """
    n, c = x_shape[:2]
    o, groups = w.shape[0], geo[3]
    p = _plan_of(x_shape[2:], w.shape, geo, g.shape[2:])
    gx: Any = xp.empty(x_shape, dtype=g.dtype) if need_x else None
    gw: Any = xp.empty(w.shape, dtype=g.dtype) if need_w else None
    if n == 0 or 0 in p.out:
        if need_x:
            gx[...] = 0
        if need_w:
            gw[...] = 0
        return gx, gw
    how = choose(p, x_shape, w.shape, geo)
    if how == "winograd" and tuple(p.out) == winograd.out_size(x_shape, geo[1]):
        if need_x:
            gx = winograd.input_grad(xp, g, w, x_shape, geo[1])
        if need_w:
            gw = winograd.weight_grad(xp, g, x, w.shape, geo[1])
        return gx, gw
    if how == "taps":
        _taps_backward(xp, g, x, w, p, gx, gw)
        return gx, gw
    if how == "persample":
        if need_w:
            gw = conv_persample.weight_grad(xp, g, x, w.shape, geo, kept)
        if need_x and conv_persample.input_grad_applies(x_shape, w.shape, geo, p.out):
            return conv_persample.input_grad(xp, g, w, geo, x_shape), gw
        if not need_x:
            return None, gw
        need_w, kept = False, None  # grad_x through the columns below
    kernel, length = tuple(w.shape[2:]), _prod(p.out)
    ckk, og = c * _prod(kernel), o // groups
    m = _slice_rows(n, ckk * length * g.itemsize)
    layout = Columns(xp, p, geo, c, kernel)
    if kept is not None and layout.batch_of(kept) != n:
        kept = None
    wg: Any = w.reshape(groups, og, ckk // groups) if need_x else None
    gwg: Any = gw.reshape(groups, og, ckk // groups) if need_w else None
    for n0 in range(0, n, m):
        mm = min(m, n - n0)
        gt3 = layout.grad_rows(g[n0:n0 + mm]).reshape(groups, og, mm * length)
        if need_w:
            cols = kept
            if cols is None:
                cols = buffer(xp, "cols", layout.shape(mm), g.dtype)
                layout.fill(x, n0, mm, cols)
            cols3 = cols.reshape(groups, ckk // groups, mm * length).swapaxes(1, 2)
            if n0 == 0:
                matmul_deep(xp, gt3, cols3, out=gwg)
            else:
                gwg += matmul_deep(xp, gt3, cols3)
        if need_x:
            gcols = buffer(xp, "gcols" if kept is not None else "cols", layout.shape(mm),
                           g.dtype)
            matmul_long(xp, wg.swapaxes(1, 2), gt3, gcols.reshape(groups, ckk // groups,
                                                                 mm * length))
            layout.add_back(gcols, gx, n0, mm)
    return gx, gw


def _taps_backward(xp: Any, g: Any, x: Any, w: Any, p: Plan, gx: Any, gw: Any) -> None:
    """Per tap: grad_W[:, :, k] = g_box @ x_box^T and grad_x_box += W[:, :, k]^T @ g_box."""
    n, o = g.shape[:2]
    c = w.shape[1]
    spatial = tuple((gx if gx is not None else x).shape[2:])
    p_in, length = _prod(spatial), _prod(p.out)
    wt: Any = _taps_weight(xp, w) if gx is not None else None
    gwt: Any = xp.zeros(tuple(w.shape[2:]) + (o, c), dtype=g.dtype) if gw is not None else None
    m = _slice_rows(n, (2 * c * p_in + 2 * o * length) * g.itemsize)
    taps = [t for t in p.taps if t.out_box is not None]
    lead = (slice(None),) * 2
    for n0 in range(0, n, m):
        mm = min(m, n - n0)
        gt = buffer(xp, "gt", (o, mm) + p.out, g.dtype)
        gt[...] = _batch_last(g[n0:n0 + mm])
        gxt: Any = None
        if gx is not None:
            gxt = buffer(xp, "gxt", (c, mm) + spatial, g.dtype)
            first = next((t for t in taps if t.full_in), None)
            if first is None:
                gxt[...] = 0
            order = ([first] if first is not None else []) + [t for t in taps if t is not first]
        else:
            first, order = None, taps
        xt = _batch_last(x[n0:n0 + mm]) if gw is not None else None
        for t in order:
            gsrc = gt.reshape(o, -1) if t.full_out else _gather(xp, gt, t, "gsrc", "out")
            if gw is not None:
                xsrc = _gather(xp, xt, t, "src")
                if n0 == 0:
                    xp.matmul(gsrc, xsrc.T, out=gwt[t.k])
                else:
                    gwt[t.k] += gsrc @ xsrc.T
            if gxt is not None:
                z = buffer(xp, "z", (c, mm * t.count), g.dtype)
                xp.matmul(wt[t.k].T, gsrc, out=z)
                box = gxt[lead + t.in_box]
                if t is first:
                    gxt[...] = z.reshape(gxt.shape)
                else:
                    box += z.reshape(box.shape)
        if gxt is not None:
            gx[n0:n0 + mm] = _batch_last(gxt)
    if gw is not None:
        nd = gw.ndim - 2
        gw[...] = gwt.transpose((nd, nd + 1) + tuple(range(nd)))
