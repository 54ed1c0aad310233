"""``softgrad.accelerator``: PyTorch's device-agnostic accelerator API.

softgrad's one accelerator is CUDA through CuPy. Without it, ``is_available()`` is False,
``current_accelerator()`` None and ``device_count()`` 0, and the calls that act on an
accelerator raise a clear error, as in PyTorch.
"""
from __future__ import annotations

from typing import Any

from softgrad import backend, cuda, devices

__all__ = ["current_accelerator", "current_device_idx", "current_device_index",
           "device_count", "device_index", "empty_cache", "is_available",
           "max_memory_allocated", "memory_allocated", "memory_reserved",
           "set_device_idx", "set_device_index", "synchronize"]


def is_available() -> bool:
    """True when an accelerator (a CUDA GPU through CuPy) is usable."""
    return backend.cuda_available()


def current_accelerator(check_available: bool = False) -> devices.device | None:
    """``device('cuda')`` when a GPU is available, else None."""
    return devices.device("cuda") if backend.cuda_available() else None


def device_count() -> int:
    return backend.cuda_device_count()


def _require() -> None:
    if not backend.cuda_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")


def current_device_index() -> int:
    _require()
    return cuda.current_device()


def set_device_index(device: Any) -> None:
    _require()
    cuda.set_device(device)


current_device_idx, set_device_idx = current_device_index, set_device_index


class device_index(cuda.device):
    """Context manager making accelerator ``device`` current inside the block (None: no-op)."""

    def __init__(self, device: Any) -> None:
        if device is not None:
            _require()
        super().__init__(device)


def synchronize(device: Any = None, /) -> None:
    _require()
    cuda.synchronize(device)


def empty_cache() -> None:
    _require()
    cuda.empty_cache()


def memory_allocated(device_index: Any = None, /) -> int:
    _require()
    return cuda.memory_allocated(device_index)


def max_memory_allocated(device_index: Any = None, /) -> int:
    _require()
    return cuda.max_memory_allocated(device_index)


def memory_reserved(device_index: Any = None, /) -> int:
    _require()
    return cuda.memory_reserved(device_index)
