"""``sg.random``: the global generator's seed and state, as ``torch.random``.

Every random function (``rand``, ``randn``, ``multinomial``, init, dropout, shuffling) draws
from the global generator unless given ``generator=``; ``manual_seed`` makes runs repeat.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from softgrad import backend
from softgrad.creation import Generator, default_generator
from softgrad.tensor import Tensor

__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed",
           "manual_seed", "seed", "set_rng_state"]


def manual_seed(seed: int) -> Generator:
    """Seed the global generator; returns it (``sg.default_generator``).

    Seeds outside [-2**63, 2**64) are refused; negative ones wrap to ``seed + 2**64``.
    """
    backend.manual_seed(seed)
    return default_generator


def seed() -> int:
    """Seed the global generator from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the global generator was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The global generator's state as a uint8 tensor (restore it with ``set_rng_state``)."""
    return default_generator.get_state()


def set_rng_state(new_state: Any) -> None:
    """Restore the global generator's state from :func:`get_rng_state`."""
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices: Any = None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: Any = None) -> Iterator[None]:
    """Restore the global generator's state on exit: draws inside do not change the stream
    outside. ``devices`` and ``device_type`` are accepted for compatibility (one generator
    serves every device)."""
    if not enabled:
        yield
        return
    state = backend.get_rng_state()
    try:
        yield
    finally:
        backend.set_rng_state(state)
