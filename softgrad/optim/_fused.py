"""Optional one-pass optimizer kernels compiled with numba (used when it is installed).

The NumPy update of Adam makes about 13 passes over memory per parameter; the fused kernel
makes one, with the very same float operations in the same order and every Python scalar
rounded to the parameter's dtype first, exactly as NumPy does, so results are bit-for-bit
those of the NumPy path (``tests/scale/test_perf_paths.py`` checks this). Never required: without
numba, or with ``SOFTGRAD_NUMBA=0``, :func:`adam_kernel` returns None and the NumPy path runs.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from softgrad import backend
from softgrad.ops._numba import compiled, enabled

np = backend.np
_failed = False  # set by disable()


def _adam_plain_loop(p, g, m, v, c1, b2, c2, bc2, eps, step):  # pragma: no cover - compiled
    """Adam without weight decay, maximize or amsgrad: a branch-free loop that vectorizes."""
    for i in range(p.size):
        gi = g[i]
        mi = m[i]
        mi = mi + (gi - mi) * c1
        m[i] = mi
        vi = v[i] * b2 + (gi * gi) * c2
        v[i] = vi
        p[i] = p[i] - mi / (np.sqrt(vi) / bc2 + eps) * step


def _adam_loop(p, g, m, v, vmax, amsgrad, l2, wd, neg, decay, c1, b2, c2, bc2, eps,
               step):  # pragma: no cover - runs compiled
    """Adam on flat arrays; mirrors ``softgrad.optim.adam._update`` operation by operation."""
    for i in range(p.size):
        pi = p[i] * decay
        gi = -g[i] if neg else g[i]
        if l2:
            gi = pi * wd + gi if not neg else pi * wd - g[i]
        mi = m[i]
        mi = mi + (gi - mi) * c1
        m[i] = mi
        vi = v[i] * b2 + (gi * gi) * c2
        v[i] = vi
        if amsgrad:
            if vmax[i] < vi or vi != vi:
                vmax[i] = vi
            vi = vmax[i]
        p[i] = pi - mi / (np.sqrt(vi) / bc2 + eps) * step


def adam_kernel() -> Callable[..., None] | None:
    """A kernel like ``adam._adam_update`` without scratch buffers, backed by numba, or None.

    Its arrays must be C-contiguous NumPy arrays (``fusable``).
    """
    if not enabled() or _failed:
        return None
    loops = compiled("adam", _adam_plain_loop, _adam_loop)
    if loops is None:
        return None
    plain, general = loops

    def fused(p: Any, g: Any, m: Any, v: Any, *rest: Any) -> None:
        vmax, hp = (rest[0], rest[1:]) if len(rest) == 9 else (None, rest)
        lr, beta1, beta2, eps, wd, maximize, decoupled, step = hp
        t = p.dtype.type
        c1, b2, c2 = t(1 - beta1), t(beta2), t(1 - beta2)
        bc2, e, ss = t(math.sqrt(1 - beta2**step)), t(eps), t(lr / (1 - beta1**step))
        if vmax is None and not wd and not maximize:
            plain(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), c1, b2, c2, bc2,
                  e, ss)
            return
        decay = t(1 - lr * wd) if decoupled and wd else t(1)
        general(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
                (vmax if vmax is not None else v).reshape(-1), vmax is not None,
                bool(wd) and not decoupled, t(wd), bool(maximize), decay, c1, b2, c2, bc2, e, ss)

    return fused


_FUSABLE = (np.dtype(np.float32), np.dtype(np.float64))


def fusable(arrays: tuple) -> bool:
    """True when the fused kernel can update these arrays in place."""
    dt = arrays[0].dtype
    if dt not in _FUSABLE:
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != dt or not a.flags.c_contiguous:
            return False
    return arrays[0].flags.writeable


def disable() -> None:
    """Stop using the fused kernels in this process (after an unexpected failure)."""
    global _failed
    _failed = True
