"""The array backend: the only module that imports NumPy (and CuPy, when present).

A device is an array module (``numpy`` for ``cpu``, ``cupy`` for ``cuda``); ops receive the
module for their inputs as ``Function.xp`` and never import NumPy themselves.
"""
from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_DTYPE = np.dtype(np.float32)
ndarray = np.ndarray

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
