"""``Flatten`` and ``Unflatten``."""
from __future__ import annotations

from collections.abc import Sequence

from softgrad.nn.modules.module import Module
from softgrad.tensor import Tensor


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim`` into one. Shape: (N, *dims) -> (N, prod(dims))."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``. Shape: (*, prod(sizes), *) -> (*, *sizes, *)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
