"""``softgrad.cuda``: PyTorch's ``torch.cuda`` functions over the CuPy backend.

With CuPy and an NVIDIA GPU, ``cuda`` is a real device (``softgrad.backend``). Without one,
the queries answer as PyTorch does on a CPU-only machine (``is_available()`` is False,
``device_count()`` 0, ``memory_allocated()`` 0), the housekeeping calls (``synchronize``,
``empty_cache``, ``manual_seed``) do nothing, and the calls that need a GPU to answer
(``current_device``, ``get_device_name``, ...) raise a clear error.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Literal

from softgrad import backend, devices
from softgrad.cuda import amp

__all__ = ["amp", "current_device", "device", "device_count", "empty_cache",
           "get_device_capability", "get_device_name", "get_device_properties", "init",
           "is_available", "is_bf16_supported", "is_initialized", "manual_seed",
           "manual_seed_all", "max_memory_allocated", "max_memory_reserved",
           "memory_allocated", "memory_reserved", "reset_peak_memory_stats", "set_device",
           "synchronize"]


def is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    return backend.cuda_available()


def device_count() -> int:
    """Number of GPUs CuPy sees (0 without CuPy or a GPU)."""
    return backend.cuda_device_count()


def is_initialized() -> bool:
    return backend.cuda_available()


def init() -> None:
    """Nothing to do: CuPy initialises CUDA on first use."""


def _require(what: str) -> None:
    if not backend.cuda_available():
        raise RuntimeError(f"torch.cuda.{what}() needs a CUDA GPU, but CuPy with a GPU is not "
                           f"available (softgrad.cuda.is_available() is False)")


def _index(dev: Any) -> int:
    """GPU number named by None (the current GPU), an int, 'cuda:k' or a device."""
    if dev is None:
        return backend.cuda_current_device()
    if isinstance(dev, int) and not isinstance(dev, bool):
        idx = dev
    else:
        d = devices.device(dev)
        if d.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {d}")
        idx = backend.cuda_current_device() if d.index is None else d.index
    count = backend.cuda_device_count()
    if not 0 <= idx < count:
        raise RuntimeError(f"CUDA device {idx} requested but {count} device(s) are visible")
    return idx


def current_device() -> int:
    """Index of the current GPU (where new CUDA tensors are made)."""
    _require("current_device")
    return backend.cuda_current_device()


def set_device(device: Any) -> None:
    """Make GPU ``device`` (int, 'cuda:k' or device) current. A negative int does nothing."""
    if isinstance(device, int) and not isinstance(device, bool) and device < 0:
        return
    _require("set_device")
    backend._cupy.cuda.Device(_index(device)).use()


class device:
    """Context manager that makes GPU ``device`` current inside the block."""

    def __init__(self, device: Any) -> None:
        self.idx = -1 if device is None else device if isinstance(device, int) \
            else _index(device)
        self.prev_idx = -1

    def __enter__(self) -> None:
        if self.idx >= 0:
            self.prev_idx = current_device()
            set_device(self.idx)

    def __exit__(self, *exc: Any) -> Literal[False]:
        if self.idx >= 0:
            set_device(self.prev_idx)
        return False


def synchronize(device: Any = None) -> None:
    """Wait until the GPU has finished its queued work (for timing); no GPU, no wait."""
    if backend.cuda_available():
        backend._cupy.cuda.Device(_index(device)).synchronize()


def get_device_properties(device: Any = None) -> Any:
    """``name``, ``major``, ``minor``, ``total_memory`` and ``multi_processor_count``."""
    return _properties(device, "get_device_properties")


def _properties(device: Any, caller: str) -> Any:
    _require(caller)
    props = backend._cupy.cuda.runtime.getDeviceProperties(_index(device))
    name = props["name"]
    return SimpleNamespace(name=name.decode() if isinstance(name, bytes) else str(name),
                           major=int(props["major"]), minor=int(props["minor"]),
                           total_memory=int(props["totalGlobalMem"]),
                           multi_processor_count=int(props["multiProcessorCount"]))


def get_device_name(device: Any = None) -> str:
    return _properties(device, "get_device_name").name


def get_device_capability(device: Any = None) -> tuple[int, int]:
    props = _properties(device, "get_device_capability")
    return props.major, props.minor


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: CuPy has no bfloat16 arrays, so softgrad makes no bfloat16 CUDA tensors."""
    return False


# ---------------------------------------------------------------- memory
# CuPy keeps freed blocks in a memory pool: "allocated" is what tensors use, "reserved" what
# the pool holds. CuPy keeps no peak counters, so the max_* functions report the largest
# value seen by any call of these functions since reset_peak_memory_stats().
_peaks = {"allocated": 0, "reserved": 0}


def memory_allocated(device: Any = None) -> int:
    """Bytes of GPU memory in use by arrays (0 without a GPU)."""
    if not backend.cuda_available():
        return 0
    _index(device)
    used = int(backend._cupy.get_default_memory_pool().used_bytes())
    _peaks["allocated"] = max(_peaks["allocated"], used)
    return used


def memory_reserved(device: Any = None) -> int:
    """Bytes of GPU memory held by CuPy's memory pool (0 without a GPU)."""
    if not backend.cuda_available():
        return 0
    _index(device)
    held = int(backend._cupy.get_default_memory_pool().total_bytes())
    _peaks["reserved"] = max(_peaks["reserved"], held)
    return held


def max_memory_allocated(device: Any = None) -> int:
    """The largest :func:`memory_allocated` seen since :func:`reset_peak_memory_stats`."""
    return max(memory_allocated(device), _peaks["allocated"])


def max_memory_reserved(device: Any = None) -> int:
    """The largest :func:`memory_reserved` seen since :func:`reset_peak_memory_stats`."""
    return max(memory_reserved(device), _peaks["reserved"])


def reset_peak_memory_stats(device: Any = None) -> None:
    _peaks.update(allocated=0, reserved=0)


def empty_cache() -> None:
    """Return the GPU memory CuPy's pools hold but no array uses (no GPU: nothing to do)."""
    if backend.cuda_available():
        backend._cupy.get_default_memory_pool().free_all_blocks()
        backend._cupy.get_default_pinned_memory_pool().free_all_blocks()


# ---------------------------------------------------------------- random numbers
def manual_seed(seed: int) -> None:
    """Seed the generator behind CUDA tensors' random numbers.

    softgrad draws random numbers for every device from the one generator that
    ``softgrad.manual_seed`` seeds; with a GPU this seeds it, without one it does nothing
    (as in PyTorch, where it only seeds the GPU's generator).
    """
    if backend.cuda_available():
        backend.manual_seed(int(seed))


manual_seed_all = manual_seed
