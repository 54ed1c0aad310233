"""Embedding lookup: ``weight[indices]``, with a scatter-add backward."""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function


class Embedding(Function):
    """grad_weight[i] = sum of g over the positions where indices == i (row ``padding_idx``
    gets none; with ``scale_grad_by_freq`` each row is divided by its count in the batch)."""

    def forward(self, weight: Any, indices: Any = None, padding_idx: int | None = None,
                scale_grad_by_freq: bool = False) -> Any:
        self.indices, self.padding_idx = indices, padding_idx
        self.scale, self.num, self.dim = scale_grad_by_freq, weight.shape[0], weight.shape[1]
        self.arrays = self.xp                    # the array module, also needed in graph mode
        return weight[indices]

    def _row_scale(self, dtype: Any) -> Any:
        """(num, 1) multipliers: 0 for the padding row, 1/count with scale_grad_by_freq."""
        xp = self.arrays
        scale = xp.ones((self.num, 1), dtype=dtype)
        if self.scale:
            counts = xp.bincount(self.indices.reshape(-1), minlength=self.num)
            scale[:, 0] = 1 / xp.maximum(counts, 1)
        if self.padding_idx is not None:
            scale[self.padding_idx] = 0
        return scale

    def backward(self, g: Any) -> Any:
        num, dim = self.num, self.dim
        masked = self.padding_idx is not None or self.scale
        xp = self.xp
        flat = (self.indices.reshape(-1, 1) * dim + xp.arange(dim)).reshape(-1)
        gw = xp.zeros(num * dim, dtype=g.dtype)
        xp.add.at(gw, flat, g.reshape(-1))       # 1-D scatter-add: numpy's fast path
        gw = gw.reshape(num, dim)
        if masked:
            gw *= self._row_scale(g.dtype)
        return gw

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: the same scatter-add as a differentiable ``index_add_zeros``."""
        gw = self.xp.index_add_zeros(g, (self.num, self.dim), self.indices)
        masked = self.padding_idx is not None or self.scale
        return gw * self._row_scale(g._data.dtype) if masked else gw
