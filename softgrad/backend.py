"""The array backend: the only module that imports NumPy (and CuPy, when present).

A device is an array module (``numpy`` for ``cpu``, ``cupy`` for ``cuda``); ops receive the
module for their inputs as ``Function.xp`` and never import NumPy themselves.
"""
from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

DEFAULT_DTYPE = np.dtype(np.float32)
ndarray = np.ndarray

# PyTorch returns inf/nan from log(0), 0/0, sqrt(-1) without a word; so does softgrad. Only
# NumPy's floating-point warnings raised from softgrad's own code are silenced (no cost per op,
# and the user's own NumPy code keeps its warnings).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"softgrad(\.|$)",
                        message=r"(divide by zero|invalid value|overflow|underflow) encountered")

try:  # optional GPU backend
    import cupy as _cupy  # type: ignore[import-not-found]
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None


def cuda_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover - depends on the machine
        return False


def xp_for_device(device: str) -> Any:
    """Array module for a device name ('cpu' or 'cuda[:i]')."""
    if device == "cpu":
        return np
    if device.startswith("cuda"):
        if not cuda_available():
            raise RuntimeError(
                f"device {device!r} requested but CuPy with a CUDA GPU is not available; "
                "install the 'cuda' extra on a machine with an NVIDIA GPU"
            )
        return _cupy
    raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")


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
    if device_of(array) == ("cpu" if device == "cpu" else "cuda"):
        return array
    if device == "cpu":
        return _cupy.asnumpy(array)
    return xp_for_device(device).asarray(array)


def to_numpy(array: Any) -> np.ndarray:
    """Host NumPy view/copy of an array of any device."""
    if type(array) is np.ndarray:
        return array
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy.asnumpy(array)
    return np.asarray(array)


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
class _RNG:
    """Holder of the one seeded generator behind init, dropout and shuffling."""

    def __init__(self, seed: int | None = None) -> None:
        self.generator = np.random.default_rng(seed)


_rng = _RNG()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed softgrad's global generator (init, dropout, shuffling, ``rand*``)."""
    _rng.generator = np.random.default_rng(int(seed))
    return _rng.generator


def generator() -> np.random.Generator:
    """The global generator."""
    return _rng.generator


def get_rng_state() -> dict:
    """A JSON-friendly snapshot of the global generator's state."""
    return _rng.generator.bit_generator.state


def set_rng_state(new_state: dict) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    bg = np.random.PCG64()
    try:
        bg.state = new_state
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"invalid RNG state: {exc}") from None
    _rng.generator = np.random.Generator(bg)


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


def tune_malloc(env: dict | None = None) -> bool:
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


class device(str):
    """``sg.device('cpu')``, ``sg.device('cuda', 0)``: a device name usable wherever a device
    string is (``tensor.to(device)``, ``device=`` arguments), with ``.type`` and ``.index``."""

    def __new__(cls, type: Any, index: int | None = None) -> "device":  # noqa: A002
        name = str(type)
        kind, _, idx = name.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device "
                               f"string: {name}")
        if index is not None:
            if idx:
                raise RuntimeError(f"device index given twice: {name!r} and {index}")
            idx = str(int(index))
        return super().__new__(cls, f"{kind}:{idx}" if idx else kind)

    @property
    def type(self) -> str:  # noqa: A003
        return self.partition(":")[0]

    @property
    def index(self) -> int | None:
        idx = self.partition(":")[2]
        return int(idx) if idx else None

    def __repr__(self) -> str:
        idx = self.index
        return f"device(type='{self.type}'" + ("" if idx is None else f", index={idx}") + ")"
