"""Separable linear resampling of the last one or two axes: y = A_h @ x @ A_w^T.

Nearest and (bi)linear interpolation and adaptive average pooling are all of this form,
with a small (out, in) matrix per axis built by the caller. Two GEMMs forward, two back.
"""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function


class Resample(Function):
    """y = ah @ x @ aw^T over the last two axes (either matrix may be None = identity);
    grad_x = ah^T @ g @ aw.

    Params: ``ah`` (OH, H) acting on axis -2 and ``aw`` (OW, W) acting on axis -1, both in
    x's dtype and on x's device.
    """

    def forward(self, x: Any, ah: Any = None, aw: Any = None) -> Any:
        self.ah, self.aw = ah, aw
        y = x
        if aw is not None:
            y = y @ aw.T
        if ah is not None:
            y = self.xp.matmul(ah, y)
        return y if y is not x else y.copy()

    def backward(self, g: Any) -> Any:
        gx = g
        if self.ah is not None:
            gx = self.xp.matmul(self.ah.T, gx)
        if self.aw is not None:
            gx = gx @ self.aw
        return gx
