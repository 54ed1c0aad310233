"""``softgrad.backends.cudnn``: PyTorch's cuDNN switches, settable as in PyTorch
(``cudnn.benchmark = True``). softgrad does not use cuDNN, so ``is_available()`` is False and
the switches are recorded without effect."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from softgrad.backends.flags import guard_bool_flags

BOOL_FLAGS = ("enabled", "benchmark", "deterministic", "allow_tf32")
enabled = True
benchmark = False
deterministic = False
allow_tf32 = True
benchmark_limit = 10


def is_available() -> bool:
    """False: softgrad does not call cuDNN."""
    return False


def version() -> None:
    """None: no cuDNN library is used."""
    return None


def is_acceptable(tensor: Any) -> bool:
    return False


@contextlib.contextmanager
def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int = 10,
          deterministic: bool = False, allow_tf32: bool = True, fp32_precision: str = "none",
          depthwise_kernel: str = "auto") -> Iterator[None]:
    """Set the switches inside a ``with`` block, restoring them after
    (``benchmark_limit``, ``fp32_precision`` and ``depthwise_kernel`` are accepted)."""
    import sys

    mod = sys.modules[__name__]
    saved = {k: getattr(mod, k) for k in BOOL_FLAGS}
    for k, v in zip(BOOL_FLAGS, (enabled, benchmark, deterministic, allow_tf32)):
        setattr(mod, k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(mod, k, v)


guard_bool_flags(__name__)
