"""``softgrad.backends.mps``: Apple's Metal device, which softgrad does not support."""
from __future__ import annotations


def is_available() -> bool:
    """False: softgrad runs on the CPU (NumPy) and on CUDA (CuPy) only."""
    return False


def is_built() -> bool:
    return False
