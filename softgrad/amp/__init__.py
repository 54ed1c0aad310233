"""``softgrad.amp``: PyTorch's automatic mixed precision API (``autocast``, ``GradScaler``).

softgrad computes in the tensors' own dtypes: ``autocast`` is an accepted no-op and
``GradScaler`` scales losses exactly as PyTorch's does (see the two modules).
"""
from softgrad.amp.autocast_mode import (autocast, custom_bwd, custom_fwd,
                                        is_autocast_available, is_autocast_enabled)
from softgrad.amp.grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd", "is_autocast_available",
           "is_autocast_enabled"]
