"""Statistics and scans of Tensor (a mixin): nan-aware reductions, quantiles, mode,
cumulative max/min, differences and histograms."""
from __future__ import annotations

from typing import Any

from softgrad import backend

np = backend.np


class StatsMixin:
    __slots__ = ()
