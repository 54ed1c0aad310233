"""The two errors a checkpoint can raise while loading."""
from __future__ import annotations

import pickle

__all__ = ["CheckpointError", "WeightsUnpicklingError"]


class CheckpointError(ValueError):
    """The file is not a readable checkpoint (wrong format, truncated or corrupt)."""


class WeightsUnpicklingError(CheckpointError, pickle.UnpicklingError):
    """The pickle inside a checkpoint names a global that may not be loaded, uses an
    instruction softgrad refuses, or is malformed. Nothing in it was executed.

    A subclass of both :class:`CheckpointError` and :class:`pickle.UnpicklingError` (the
    error ``torch.load`` raises in the same situations).
    """


class MapLocationError(RuntimeError):
    """A storage cannot go to the device its location tag or ``map_location`` names (a
    RuntimeError, as in ``torch.load``)."""
