"""Matrix factorisation primitives: Cholesky and triangular solves (forward + VJP).

Inputs are batches of square matrices ``(*, n, n)``; batch dimensions broadcast and the
engine sums gradients back to each input's shape. Backward passes use only ``@``, ``.mT``,
triangle masks and the triangular solve itself, so in graph mode they are recorded too.
"""
from __future__ import annotations

from typing import Any

from softgrad.autograd.function import Function


def _tril(fn: Function, a: Any, k: int = 0) -> Any:
    return a.tril(k) if fn._graph else fn.xp.tril(a, k)


def _triu(fn: Function, a: Any, k: int = 0) -> Any:
    return a.triu(k) if fn._graph else fn.xp.triu(a, k)


def _solve(fn: Function, a: Any, b: Any, upper: bool, left: bool, unit: bool) -> Any:
    """A^-1 B (left) or B A^-1 (right) for triangular A, recorded in graph mode."""
    if fn._graph:
        return fn.xp.apply(SolveTriangular, a, b, upper=upper, left=left, unitriangular=unit)
    return solve_triangular(fn.xp, a, b, upper, left, unit)


def solve_triangular(xp: Any, a: Any, b: Any, upper: bool, left: bool, unit: bool) -> Any:
    """Array-level triangular solve; only the ``upper``/lower triangle of ``a`` is read."""
    tri = xp.triu(a) if upper else xp.tril(a)
    if unit:
        n = a.shape[-1]
        eye = xp.eye(n, dtype=a.dtype)
        tri = tri * (1 - eye) + eye
    if left:
        return xp.linalg.solve(tri, b)
    return xp.swapaxes(xp.linalg.solve(xp.swapaxes(tri, -1, -2), xp.swapaxes(b, -1, -2)), -1, -2)


class Cholesky(Function):
    """A = L L^T. grad_A = L^-T P L^-1 with P = sym(tril(L^T gL)) (diagonal halved)."""

    def forward(self, a: Any) -> Any:
        xp = self.xp
        try:
            out = xp.linalg.cholesky(a)
        except xp.linalg.LinAlgError:
            raise RuntimeError("linalg.cholesky: The factorization could not be completed "
                               "because the input is not positive-definite.") from None
        if not bool(xp.isfinite(out).all()):  # CuPy returns nan instead of raising
            raise RuntimeError("linalg.cholesky: The factorization could not be completed "
                               "because the input is not positive-definite.")
        self.save_for_backward(out)
        return out

    def backward(self, g: Any) -> Any:
        (low,) = self.saved
        s = _tril(self, low.mT @ g)
        p = (s + _tril(self, s, -1).mT) * 0.5
        ga = _solve(self, low.mT, p, upper=True, left=True, unit=False)
        return _solve(self, low, ga, upper=False, left=False, unit=False)


class SolveTriangular(Function):
    """X = A^-1 B (left) or B A^-1 (right), A triangular.

    Left: grad_B = A^-T gX, grad_A = -tri(grad_B X^T). Right: grad_B = gX A^-T,
    grad_A = -tri(X^T grad_B); ``tri`` keeps A's triangle (and drops a unit diagonal).
    """

    def forward(self, a: Any, b: Any, upper: bool = False, left: bool = True,
                unitriangular: bool = False) -> Any:
        self.upper, self.left, self.unit = upper, left, unitriangular
        out = solve_triangular(self.xp, a, b, upper, left, unitriangular)
        self.save_for_backward(a, out)
        return out

    def backward(self, g: Any) -> tuple:
        a, x = self.saved
        need = self.needs_input_grad
        if self.left:
            gb = _solve(self, a.mT, g, upper=not self.upper, left=True, unit=self.unit)
            ga = -(gb @ x.mT) if need[0] else None
        else:
            gb = _solve(self, a.mT, g, upper=not self.upper, left=False, unit=self.unit)
            ga = -(x.mT @ gb) if need[0] else None
        if ga is not None:
            k = 1 if self.unit else 0
            ga = _triu(self, ga, k) if self.upper else _tril(self, ga, -k)
        return ga, (gb if need[1] else None)
