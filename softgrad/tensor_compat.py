"""PyTorch's Tensor API around the values: strides, storage and layout queries, in-place
shape changes, copies and Python protocols (a mixin)."""
from __future__ import annotations

from typing import Any

from softgrad import backend

np = backend.np


class CompatMixin:
    __slots__ = ()
