"""The array backend: the only module that imports NumPy (and CuPy, when present).

A device is an array module (``numpy`` for ``cpu``, ``cupy`` for ``cuda``); ops receive the
module for their inputs as ``Function.xp`` and never import NumPy themselves.
"""
from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from typing import Any, cast

import numpy as np

DEFAULT_DTYPE = np.dtype(np.float32)
ndarray = np.ndarray

# PyTorch returns inf/nan from log(0), 0/0, sqrt(-1) without a word; so does softgrad. Only
# NumPy's floating-point warnings raised from softgrad's own code are silenced (no cost per op,
# and the user's own NumPy code keeps its warnings).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"softgrad(\.|$)",
                        message=r"(divide by zero|invalid value|overflow|underflow) encountered")

try:  # optional GPU backend
    import cupy as _cupy
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None


def bfloat16_dtype() -> Any:
    """NumPy's bfloat16 dtype, from the optional ``ml_dtypes`` package (imported on first use:
    it takes a while to load)."""
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError("bfloat16 tensors need the ml_dtypes package: pip install ml_dtypes "
                          "(or the 'bfloat16' extra: pip install 'softgrad[bfloat16]')") from None
    return np.dtype(ml_dtypes.bfloat16)


def cuda_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover - depends on the machine
        return False


def cuda_device_count() -> int:
    """Number of CUDA GPUs CuPy sees (0 without CuPy or a GPU)."""
    return _cupy.cuda.runtime.getDeviceCount() if cuda_available() else 0


def cuda_current_device() -> int:
    """Index of CuPy's current GPU: the one new CUDA arrays are made on."""
    return int(_cupy.cuda.get_device_id())


def xp_for_device(device: str) -> Any:
    """Array module for a device name ('cpu' or 'cuda[:i]').

    ``cuda:i`` must name the current GPU: softgrad makes CUDA arrays on CuPy's current
    device (choose it with ``softgrad.cuda.set_device``).
    """
    if device == "cpu" or device.startswith("cpu:"):
        return np
    if device.startswith("cuda"):
        if not cuda_available():
            raise RuntimeError(
                f"device {device!r} requested but CuPy with a CUDA GPU is not available; "
                "install the 'cuda' extra on a machine with an NVIDIA GPU"
            )
        idx = device.partition(":")[2]
        if idx and int(idx) != cuda_current_device():
            count = cuda_device_count()
            if int(idx) >= count:
                raise RuntimeError(f"device {device!r} requested but only {count} CUDA "
                                   f"device(s) are visible")
            raise RuntimeError(
                f"device {device!r} is not the current CUDA device "
                f"(cuda:{cuda_current_device()}); softgrad makes CUDA tensors on the current "
                f"device: call softgrad.cuda.set_device({idx}) first")
        return _cupy
    raise ValueError(f"unknown device {device!r}; softgrad supports 'cpu' and 'cuda'")


def xp_of(array: Any) -> Any:
    """Array module that owns ``array``."""
    if type(array) is np.ndarray or _cupy is None:
        return np
    return _cupy if isinstance(array, _cupy.ndarray) else np


def device_of(array: Any) -> str:
    """Device name of an array: 'cpu' or 'cuda'."""
    if type(array) is np.ndarray or _cupy is None or not isinstance(array, _cupy.ndarray):
        return "cpu"
    return "cuda"


def to_device(array: Any, device: str) -> Any:
    """Copy ``array`` to ``device`` (no copy when it is already there)."""
    on_cpu = device == "cpu" or device.startswith("cpu:")
    if device_of(array) == ("cpu" if on_cpu else "cuda"):
        return array
    if on_cpu:
        return _cupy.asnumpy(array)
    return xp_for_device(device).asarray(array)


def to_numpy(array: Any) -> np.ndarray:
    """Host NumPy view/copy of an array of any device."""
    if type(array) is np.ndarray:
        return array
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy.asnumpy(array)
    return np.asarray(array)


SMALL_EXPAND = 4096  # elements: a filled NumPy array this small is cheaper than a broadcast view


def expand(grad: Any, shape: tuple[int, ...], xp: Any) -> Any:
    """``xp.broadcast_to(grad, shape)``, undoing a reduction; a small NumPy result is a new
    filled array instead (NumPy builds the read-only view in Python, which costs more than
    filling a few thousand elements). Works on arrays and on Tensors (``xp`` their namespace).
    """
    if type(grad) is np.ndarray and math.prod(shape) <= SMALL_EXPAND:
        out = np.empty(shape, grad.dtype)
        np.copyto(out, grad)
        return out
    return xp.broadcast_to(grad, shape)


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` down to ``shape``, undoing NumPy broadcasting.

    Works on arrays and on Tensors (for higher-order gradients). Returns a fresh array
    (never a view) whenever it reduces.
    """
    lead = grad.ndim - len(shape)
    if lead > 0:
        grad = grad.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


# ---------------------------------------------------------------- random numbers
DEFAULT_SEED = 67280421310721  # the seed of a fresh ``Generator()``, as in PyTorch
_STATE_BYTES = 48  # PCG64 state (16) + increment (16) + buffered uint32 (4 + 4) + seed (8)


def fresh_seed() -> int:
    """A non-deterministic 64-bit seed (from the operating system's entropy)."""
    return cast(int, np.random.SeedSequence().entropy) % (1 << 64)


def seed_value(seed: Any) -> int:
    """A seed as PyTorch reads it: an int in [-2**63, 2**64); negatives wrap to seed + 2**64."""
    try:
        value = int(seed)
    except (TypeError, ValueError):
        raise TypeError(f"manual_seed expected an int seed, got {type(seed).__name__}") from None
    if not -(1 << 63) <= value < (1 << 64):
        raise RuntimeError(f"Overflow when unpacking long: seed {value} is outside "
                           "[-2**63, 2**64)")
    return value + (1 << 64) if value < 0 else value


class RandomState:
    """A NumPy PCG64 generator plus the seed it started from (the state of ``sg.Generator``)."""

    def __init__(self, seed: int) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: Any) -> None:
        self.initial_seed = seed_value(seed)
        self.rng = np.random.Generator(np.random.PCG64(self.initial_seed))

    def get_state(self) -> np.ndarray:
        """The full state as 48 bytes (uint8), restorable with :meth:`set_state`."""
        st = self.rng.bit_generator.state
        words = (st["state"]["state"].to_bytes(16, "little")
                 + st["state"]["inc"].to_bytes(16, "little")
                 + int(st["has_uint32"]).to_bytes(4, "little")
                 + int(st["uinteger"]).to_bytes(4, "little")
                 + self.initial_seed.to_bytes(8, "little"))
        return np.frombuffer(words, dtype=np.uint8).copy()

    def set_state(self, state: Any) -> None:
        """Restore a state from :meth:`get_state` (or a PCG64 ``bit_generator.state`` dict)."""
        seed = self.initial_seed
        if isinstance(state, dict):
            new: Any = state
        else:
            arr = to_numpy(state)
            if arr.dtype != np.uint8 or arr.shape != (_STATE_BYTES,):
                raise RuntimeError(f"Expected a uint8 (ByteTensor) RNG state of "
                                   f"{_STATE_BYTES} bytes, got dtype {arr.dtype} and shape "
                                   f"{tuple(arr.shape)}")
            b = arr.tobytes()
            new = {"bit_generator": "PCG64",
                   "state": {"state": int.from_bytes(b[0:16], "little"),
                             "inc": int.from_bytes(b[16:32], "little")},
                   "has_uint32": int.from_bytes(b[32:36], "little"),
                   "uinteger": int.from_bytes(b[36:40], "little")}
            seed = int.from_bytes(b[40:48], "little")
        bg = np.random.PCG64()
        try:
            bg.state = new
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"invalid RNG state: {exc}") from None
        self.rng, self.initial_seed = np.random.Generator(bg), seed


_rng = RandomState(fresh_seed())  # the global generator, seeded at random like PyTorch's


def manual_seed(seed: int) -> RandomState:
    """Seed softgrad's global generator (init, dropout, shuffling, ``rand*``, sampling)."""
    _rng.manual_seed(seed)
    return _rng


def default_state() -> RandomState:
    """The global generator's state holder (wrapped by ``sg.default_generator``)."""
    return _rng


def generator() -> np.random.Generator:
    """The global NumPy generator."""
    return _rng.rng


def get_rng_state() -> np.ndarray:
    """The global generator's state as a uint8 array (see :meth:`RandomState.get_state`)."""
    return _rng.get_state()


def set_rng_state(new_state: Any) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    _rng.set_state(new_state)


# ---------------------------------------------------------------- threads
# The thread policy lives in backend_threads (NumPy's BLAS must be loaded first: it is above).
from softgrad.backend_threads import (_blas_thread_funcs, _threads,  # noqa: E402,F401
                                      blas_threads_for, blas_threads_settable,
                                      effective_threads, get_num_threads, set_num_threads,
                                      start_monitor as _start_thread_monitor)

_start_thread_monitor()


# ---------------------------------------------------------------- malloc tuning
# glibc returns large freed blocks (above a dynamic mmap threshold) to the OS and trims the
# heap top; a training step then page-faults on fresh memory for every large temporary.
# Pinning the thresholds keeps freed blocks for reuse. Opt out with SOFTGRAD_MALLOC=default.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MALLOC_SETTINGS = {M_MMAP_THRESHOLD: 64 * 2**20, M_TRIM_THRESHOLD: 256 * 2**20}
malloc_tuned = False


def tune_malloc(env: Mapping[str, str] | None = None) -> bool:
    """Apply :data:`MALLOC_SETTINGS` with glibc's ``mallopt``; returns whether it did.

    Skipped (False) when ``SOFTGRAD_MALLOC=default`` or the C library is not glibc.
    """
    global malloc_tuned
    env = os.environ if env is None else env
    if env.get("SOFTGRAD_MALLOC", "").strip().lower() in ("default", "0", "off", "no"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        if not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
            return False
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        ok = all(libc.mallopt(k, v) == 1 for k, v in MALLOC_SETTINGS.items())
    except Exception:  # pragma: no cover - non-glibc platforms
        return False
    malloc_tuned = malloc_tuned or ok
    return ok


tune_malloc()

