"""Whether this process is the one that prints and writes files (rank 0).

``softgrad.distributed`` is optional: when it is missing or not initialised, every process is
the main one.
"""
from __future__ import annotations

import importlib


def is_main_process() -> bool:
    """True unless ``softgrad.distributed`` is initialised and this process's rank is not 0."""
    try:
        dist = importlib.import_module("softgrad.distributed")
    except ImportError:
        return True
    is_init = getattr(dist, "is_initialized", None)
    if is_init is None or not is_init():
        return True
    return int(dist.get_rank()) == 0
