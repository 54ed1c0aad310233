"""Matrix products: matmul with vectors and batched broadcasting."""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function


class MatMul(Function):
    """a @ b: grad_a = g @ b^T, grad_b = a^T @ g (vectors promoted to matrices)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, g: Any) -> tuple:
        a, b = self.saved
        need = self.needs_input_grad
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        a2 = a.reshape((1, -1)) if a_vec else a
        b2 = b.reshape((-1, 1)) if b_vec else b
        if a_vec and b_vec:
            g2 = g.reshape((1, 1))
        elif a_vec:
            g2 = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
        elif b_vec:
            g2 = g.reshape(g.shape + (1,))
        else:
            g2 = g
        ga = gb = None
        if need[0]:
            ga = g2 @ b2.mT if b2.ndim > 1 else g2 @ b2
            if a_vec:
                ga = ga.reshape((-1, a.shape[0])).sum(axis=0)
        if need[1]:
            gb = a2.mT @ g2
            if b_vec:
                gb = gb.reshape((-1, b.shape[0])).sum(axis=0)
        return ga, gb
