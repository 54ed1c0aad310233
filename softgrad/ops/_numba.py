"""Compiling the optional kernels of the ``fast`` extra (numba), shared by the ops.

:func:`enabled` is False with ``SOFTGRAD_NUMBA=0``; :func:`compiled` returns None without
numba, so every kernel user keeps its NumPy path.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

_cache: dict[str, Any] = {}


def enabled() -> bool:
    """Whether compiled kernels may be used (not switched off with ``SOFTGRAD_NUMBA=0``)."""
    return os.environ.get("SOFTGRAD_NUMBA", "1").strip().lower() not in ("0", "off", "no",
                                                                          "false")


def compiled(key: str, *fns: Callable) -> tuple | None:
    """``fns`` compiled with numba in strict float mode (no fused multiply-adds), once per
    ``key``; None when numba is missing or fails."""
    if key in _cache:
        return _cache[key]
    _cache[key] = None
    try:
        import numba  # optional
    except Exception:
        return None
    for cache in (True, False):  # caching needs a writable __pycache__ or cache dir
        try:
            jit = numba.njit(cache=cache, nogil=True, fastmath=False, error_model="numpy")
            _cache[key] = tuple(jit(f) for f in fns)
            break
        except Exception:  # pragma: no cover - read-only install or a broken numba
            _cache[key] = None
    return _cache[key]
