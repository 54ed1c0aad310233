"""Max unpooling: values placed back at their max-pool indices, zeros elsewhere."""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function


class MaxUnpool(Function):
    """y.flat[n, c, idx[n, c, k]] = x[n, c, k] (zeros elsewhere); grad_x = g gathered at idx.

    Inputs: x (N, C, K) and integer indices (N, C, K) into planes of ``plane`` elements
    (no gradient).
    """

    def forward(self, x: Any, index: Any, plane: int = 1) -> Any:
        xp = self.xp
        self.index = index.astype(xp.int64, copy=False)
        y = xp.zeros(x.shape[:2] + (plane,), dtype=x.dtype)
        xp.put_along_axis(y, self.index, x, axis=2)
        return y

    double_backward_error = "double backward through max_unpool is not supported"

    def backward(self, g: Any) -> tuple:
        return self.xp.take_along_axis(g, self.index, axis=2), None
