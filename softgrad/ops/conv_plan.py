"""Geometry of an N-d convolution, kernel tap by kernel tap, and the reusable work buffers.

A *tap* is one kernel offset ``k = (k1, ..., kd)``. Output position ``o`` reads input
position ``o * stride + k * dilation - pad_lo`` along each axis; the outputs for which that
lands inside the input form a box, ``out_box``, and the inputs they read form the strided box
``in_box``. Every lowering in ``conv_lowering.py`` is a loop over taps copying or adding these
boxes with plain slices (never a scatter-add, never a per-pixel loop); positions outside a tap's
box read padding (zero).

Work buffers (im2col columns, transposed gradients) live in a per-thread workspace that is
reused from call to call, so a training step does not allocate, page-fault on and free tens of
megabytes per convolution. Nothing returned to the caller ever aliases the workspace.
``SOFTGRAD_CONV_WORKSPACE=0`` turns the reuse off; ``release_workspace()`` frees it.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache
from itertools import product
from typing import Any, NamedTuple

from softgrad import backend

np = backend.np


class Tap(NamedTuple):
    """One kernel offset: its index, output box, input box (strided) and box size."""
    k: tuple            # kernel index per spatial axis
    out_box: tuple | None  # slices into the output grid (empty tap: None)
    in_box: tuple | None   # strided slices into the (unpadded) input (empty tap: None)
    count: int  # type: ignore[assignment]  # output positions in out_box (shadows tuple.count)
    full_out: bool      # out_box is the whole output grid
    full_in: bool       # in_box is the whole input (stride 1 along every axis)
    border: tuple       # output-index slice tuples outside out_box (to zero in im2col)


class Plan(NamedTuple):
    """Taps of a convolution and derived facts (see ``plan``)."""
    taps: tuple
    out: tuple          # output spatial size
    valid: int          # sum of the taps' counts: useful multiply-adds per (o, c) pair
    overlap: bool       # whether two taps can read the same input position


def out_size(size: int, k: int, s: int, lo: int, hi: int, d: int) -> int:
    """Number of window positions along one axis (floor mode)."""
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


@lru_cache(maxsize=1024)
def plan(spatial: tuple, kernel: tuple, stride: tuple, pads: tuple, dilation: tuple,
         out: tuple | None = None) -> Plan:
    """The taps of a convolution of ``spatial`` input by ``kernel`` (all per-axis tuples).

    ``pads`` is ``((lo, hi), ...)``; ``out`` defaults to the floor-mode output size.
    """
    if out is None:
        out = tuple(out_size(n, k, s, lo, hi, d) for n, k, s, (lo, hi), d
                    in zip(spatial, kernel, stride, pads, dilation))
    per_axis: list[list[Any]] = []
    for n, o, k, s, (lo, _), d in zip(spatial, out, kernel, stride, pads, dilation):
        ranges = []
        for i in range(k):
            off = i * d - lo
            o0 = max(0, -(off // s)) if off < 0 else 0
            o1 = min(o, (n - 1 - off) // s + 1) if n - 1 - off >= 0 else 0
            ranges.append((o0, o1, o0 * s + off) if o1 > o0 else None)
        per_axis.append(ranges)
    taps = []
    valid = 0
    for k in product(*(range(kk) for kk in kernel)):
        rs = [per_axis[a][i] for a, i in enumerate(k)]
        if any(r is None for r in rs):
            taps.append(Tap(k, None, None, 0, False, False, ()))
            continue
        out_box = tuple(slice(o0, o1) for o0, o1, _ in rs)
        in_box = tuple(slice(i0, i0 + (o1 - o0 - 1) * s + 1, s)
                       for (o0, o1, i0), s in zip(rs, stride))
        count = 1
        for o0, o1, _ in rs:
            count *= o1 - o0
        valid += count
        full_out = all(o0 == 0 and o1 == o for (o0, o1, _), o in zip(rs, out))
        full_in = all(s == 1 and i0 == 0 and o1 - o0 == n
                      for (o0, o1, i0), s, n in zip(rs, stride, spatial))
        border = []
        for a, ((o0, o1, _), o) in enumerate(zip(rs, out)):
            lead = (slice(None),) * a
            if o0 > 0:
                border.append(lead + (slice(0, o0),))
            if o1 < o:
                border.append(lead + (slice(o1, o),))
        taps.append(Tap(k, out_box, in_box, count, full_out, full_in, tuple(border)))
    overlap = any(s < d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))
    return Plan(tuple(taps), tuple(out), valid, overlap)


# ---------------------------------------------------------------------- workspace
_local = threading.local()


def workspace_enabled() -> bool:
    return os.environ.get("SOFTGRAD_CONV_WORKSPACE", "1").strip().lower() not in (
        "0", "off", "no", "false")


_ENABLED = workspace_enabled()


def buffer(xp: Any, slot: str, shape: tuple, dtype: Any) -> Any:
    """An uninitialised ``shape`` array from this thread's reusable ``slot`` (NumPy only;
    other array modules pool their own memory, so they get a fresh array)."""
    if xp is not np or not _ENABLED:
        return xp.empty(shape, dtype=dtype)
    dtype = np.dtype(dtype)
    size = dtype.itemsize
    for n in shape:
        size *= n
    bufs = _local.__dict__.setdefault("bufs", {})
    buf = bufs.get(slot)
    if buf is None or buf.nbytes < size:
        buf = np.empty(max(size, 64), dtype=np.uint8)
        bufs[slot] = buf
    return buf[:size].view(dtype).reshape(shape)


def release_workspace() -> None:
    """Free this thread's convolution work buffers (they are rebuilt on demand)."""
    _local.__dict__.pop("bufs", None)


def workspace_bytes() -> int:
    """Bytes held by this thread's convolution work buffers."""
    return sum(b.nbytes for b in _local.__dict__.get("bufs", {}).values())
