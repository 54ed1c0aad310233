"""``autocast``: PyTorch's mixed-precision region, which softgrad accepts and leaves in full
precision.

PyTorch's autocast runs chosen ops (matmul, linear, conv) in float16/bfloat16 inside the
region. softgrad computes on NumPy/CuPy, where half-precision matrix products are slower
than float32 ones, so ``autocast`` here checks its arguments and changes nothing: every op
keeps its inputs' dtype (float32 stays float32) and results match the same code run without
autocast. Code written for autocast (``with autocast(...)``, ``@autocast(...)``,
``GradScaler``) therefore runs unchanged and trains in float32.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

from softgrad import devices, dtypes


class autocast:
    """Context manager and decorator for a mixed-precision region; a no-op in softgrad.

    Args:
        device_type: 'cpu', 'cuda', ... (a PyTorch device type, without index).
        dtype: the low-precision floating dtype PyTorch would use (float16, bfloat16).
        enabled: whether the region is active (it changes nothing either way).
        cache_enabled: accepted for compatibility.

    Example:
        >>> with sg.autocast(device_type="cpu", dtype=sg.bfloat16):
        ...     y = model(x)          # computed in float32, as without autocast
    """

    def __init__(self, device_type: str, dtype: Any = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if devices.device(device_type).index is not None:
            raise RuntimeError(f"autocast expects a device type without index, got "
                               f"{device_type!r}")
        if dtype is not None:
            dt = dtype if isinstance(dtype, dtypes.DType) else dtypes.from_np(dtypes.to_np(dtype))
            if not dt.is_floating_point:
                raise TypeError(f"autocast dtype must be a floating dtype, got {dt!r}")
        self.device = device_type
        self.fast_dtype = dtype
        self._enabled = bool(enabled)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> Literal[False]:
        return False

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return wrapper


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """False: no region ever changes dtypes in softgrad, so code that casts to the autocast
    dtype when this is True keeps its float32 path."""
    return False


def is_autocast_available(device_type: str) -> bool:
    """True for the device types ``autocast`` accepts without error (cpu, cuda, ...)."""
    return isinstance(device_type, str) and device_type in devices.DEVICE_TYPES


def custom_fwd(fwd: Callable | None = None, *, device_type: str = "cuda",
               cast_inputs: Any = None) -> Any:
    """Decorator for a custom autograd Function's ``forward`` under autocast: returns it as
    it is (softgrad's autocast changes no dtypes, so there is nothing to cast)."""
    if fwd is None:
        return lambda f: f
    return fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str = "cuda") -> Any:
    """Decorator for a custom autograd Function's ``backward``: returns it as it is."""
    if bwd is None:
        return lambda f: f
    return bwd
