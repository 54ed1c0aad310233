"""Fused affine map and dropout."""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function


class Linear(Function):
    """y = x @ W.T + b: grad_x = g @ W, grad_W = g^T @ x, grad_b = g summed over leading dims.

    Leading dims of ``x`` are flattened into one GEMM; ``b`` is optional.
    """

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        self.x_shape = x.shape
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        out = x2 @ w.mT
        if b is not None:
            out += b
        self.save_for_backward(x, w)
        return out.reshape(x.shape[:-1] + (w.shape[0],)) if x.ndim != 2 else out

    def backward(self, g: Any) -> tuple:
        x, w = self.saved
        need = self.needs_input_grad
        g2 = g.reshape((-1, g.shape[-1])) if g.ndim != 2 else g
        gx = gw = gb = None
        if need[0]:
            gx = g2 @ w
            if x.ndim != 2:
                gx = gx.reshape(self.x_shape)
        if need[1]:
            x2 = x.reshape((-1, x.shape[-1])) if x.ndim != 2 else x
            gw = g2.mT @ x2
        if len(need) > 2 and need[2]:
            gb = g2.sum(axis=0)
        return gx, gw, gb


class Dropout(Function):
    """Inverted dropout: y = x * mask / (1 - p); grad = g * mask / (1 - p) (same mask)."""

    def forward(self, x: Any, keep: Any = None) -> Any:
        # ``keep``: the scaled mask (0 or 1/(1-p)) in x's dtype, drawn by the caller
        self.keep = keep
        return x * keep

    def backward(self, g: Any) -> Any:
        return g * self.keep
