"""``softgrad.cuda.amp``: ``GradScaler`` and ``autocast`` with the device fixed to 'cuda'."""
from __future__ import annotations

from typing import Any

from softgrad import amp as _amp
from softgrad import dtypes
from softgrad.amp import custom_bwd, custom_fwd

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]


class GradScaler(_amp.GradScaler):
    """``softgrad.amp.GradScaler('cuda', ...)``: without a GPU it disables itself (with a
    warning, as in PyTorch) and every method passes through."""

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)


class autocast(_amp.autocast):
    """``softgrad.amp.autocast('cuda', ...)``: accepted, changes no dtypes (see
    ``softgrad.amp.autocast_mode``)."""

    def __init__(self, enabled: bool = True, dtype: Any = dtypes.float16,
                 cache_enabled: bool = True) -> None:
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
