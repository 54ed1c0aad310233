"""``torch.linalg``'s matrix functions on Tensors: inverses, determinants, decompositions and
matrix powers. ``softgrad.linalg`` (which takes any data) and the Tensor methods (``det``,
``inverse``, ``svd``, ...) both call them; each takes tensors already checked by
:func:`check_matrix` and returns plain tuples, which the callers name as PyTorch does.

Inverses, solves, determinants and the decompositions are primitives (``ops/linalg.py``) with
the standard matrix-calculus VJPs; powers, ``matrix_exp`` and ``cross`` are compositions.
"""
from __future__ import annotations

import builtins
import math
from typing import TYPE_CHECKING, Any, NamedTuple

from softgrad import backend
from softgrad.ops import linalg as L
from softgrad.ops.undifferentiable import Undifferentiable
from softgrad.tensor.base import TensorBase
from softgrad.tensor.split import cat

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


# ---------------------------------------------------------------------- checks
def check_matrix(t: Tensor, name: str, square: bool = False) -> Tensor:
    """``t`` itself, if it is a floating tensor of matrices; else PyTorch's error."""
    if t.ndim < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
    if t._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.{name}: Expected a floating point or complex tensor as "
                           f"input. Got {t.dtype.name.capitalize()}")
    if square and t.shape[-1] != t.shape[-2]:
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                           f"{t.shape[-2]} by {t.shape[-1]} matrices")
    return t


def singular_error(name: str) -> RuntimeError:
    return RuntimeError(f"linalg.{name}: The input matrix is singular, so it has no inverse "
                        "(the factorization found a zero pivot)")


def eye_like(a: Tensor) -> Tensor:
    """Identity matrices of ``a``'s shape and dtype (a constant)."""
    xp = backend.xp_of(a._data)
    return a._wrap(xp.broadcast_to(xp.eye(a.shape[-1], dtype=a._data.dtype), a.shape))


# ---------------------------------------------------------------------- inverses
def inv(a: Tensor) -> Tensor:
    """The inverse of each square matrix: grad = -A^-T g A^-T."""
    try:
        return a._apply(L.Inv, a)
    except np.linalg.LinAlgError:
        raise singular_error("inv") from None


def sv_tolerances(a: Tensor, atol: Any, rtol: Any) -> tuple[Any, Any]:
    """``(atol, rtol)`` for keeping the singular values of ``a`` above
    max(atol, rtol * s_max), broadcastable against them (default rtol: eps * max(m, n) when
    neither is given)."""
    eps = np.finfo(a._data.dtype).eps
    if rtol is None:
        rtol = eps * builtins.max(a.shape[-2:]) if atol is None or atol == 0 else 0.0
    atol = 0.0 if atol is None else atol
    rt = rtol._data[..., None] if isinstance(rtol, TensorBase) else rtol
    at = atol._data[..., None] if isinstance(atol, TensorBase) else atol
    return at, rt


def pinv(a: Tensor, atol: Any = None, rtol: Any = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse; singular values <= max(atol, rtol * s_max) are
    dropped (default rtol: eps * max(m, n) when neither is given)."""
    at, rt = sv_tolerances(a, atol, rtol)
    return a._apply(L.Pinv, a, rtol=rt, atol=at)


def _square(a: Tensor, name: str, arg: str = "A") -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.{name}: {arg} must be batches of square matrices, but they "
                           f"are {' by '.join(map(str, a.shape[-2:]))} matrices"
                           if a.ndim >= 2 else
                           f"linalg.{name}: The input tensor {arg} must have at least 2 "
                           f"dimensions.")
    if a._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.{name}: Expected a floating point tensor as input. Got "
                           f"{a.dtype}")


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool,
                     left: bool = True, unitriangular: bool = False) -> Tensor:
    """X with A X = B (left) or X A = B (right), reading only A's upper/lower triangle.

    Shape: A (*, n, n), B (*, n, k) (left) or (*, k, n) (right) -> shape of B (broadcast).
    """
    _square(A, "solve_triangular")
    if B.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 "
                           "dimensions.")
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        side = "rows" if left else "columns"
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the "
                           f"equation {'AX = B' if left else 'XA = B'} ({tuple(A.shape)} and "
                           f"{tuple(B.shape)}): B needs {n} {side}")
    dt = np.promote_types(A._data.dtype, B._data.dtype)
    return A._apply(L.SolveTriangular, A._cast(dt), B._cast(dt), upper=upper, left=left,
                    unitriangular=unitriangular)


# ---------------------------------------------------------------------- determinants
def det(a: Tensor) -> Tensor:
    """The determinant; its gradient is the cofactor matrix (right for singular A too)."""
    return a._apply(L.Det, a)


def slogdet(a: Tensor) -> SlogdetResult:
    """(sign, log|det|); the gradient of log|det| is A^-T."""
    xp = backend.xp_of(a._data)
    sign, _ = xp.linalg.slogdet(a._data)
    return SlogdetResult(a._wrap(xp.asarray(sign)), a._apply(L.LogAbsDet, a))


# ---------------------------------------------------------------------- decompositions
def cholesky(a: Tensor, upper: bool = False) -> Tensor:
    """L with A = L L^T (``upper``: U = L^T, A = U^T U), reading A's lower triangle."""
    try:
        low = a._apply(L.Cholesky, a)
    except np.linalg.LinAlgError:
        raise RuntimeError("linalg.cholesky: The factorization could not be completed because "
                           "the input is not positive-definite.") from None
    return low.mT if upper else low


def svd(a: Tensor, full_matrices: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """(U, S, Vh): A = U diag(S) Vh with S descending. With ``full_matrices`` U and Vh are
    square; the gradient ignores their columns/rows beyond min(m, n), as in PyTorch."""
    xp = backend.xp_of(a._data)
    u, s, vh = xp.linalg.svd(a._data, full_matrices=full_matrices)
    k = s.shape[-1]
    thin = (u[..., :k], s, vh[..., :k, :])
    parts = []
    for name, full in (("U", u), ("S", s), ("Vh", vh)):
        part = a._apply(L.SvdPart, a, part=name, factors=thin)
        if full is not part._data and full.shape != part._data.shape:
            part = _with_extra(part, full, name)
        parts.append(part)
    return parts[0], parts[1], parts[2]


def _with_extra(thin: Tensor, full: Any, name: str) -> Tensor:
    """The full U (or Vh): the thin factor (differentiable) with the extra columns (rows)."""
    k = thin.shape[-1] if name == "U" else thin.shape[-2]
    rest = thin._wrap(full[..., k:] if name == "U" else full[..., k:, :])
    return cat([thin, rest], -1 if name == "U" else -2)


def qr(a: Tensor, mode: str = "reduced") -> tuple[Tensor, Tensor]:
    """(Q, R): A = Q R, Q with orthonormal columns, R upper triangular. ``mode``: 'reduced',
    'complete' or 'r' (Q empty; no gradient)."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    xp = backend.xp_of(a._data)
    m, n = a.shape[-2:]
    q, r = xp.linalg.qr(a._data, mode="complete" if mode == "complete" else "reduced")
    if mode == "r" or (mode == "complete" and m > n):
        why = "mode='r'" if mode == "r" else "mode='complete' and nrows > ncols"
        q_t = a._wrap(xp.zeros((0,), dtype=q.dtype) if mode == "r" else q)
        return q_t, a._apply(Undifferentiable, a, value=r, why=f"linalg.qr: the derivative "
                             f"is not implemented when {why}")
    return (a._apply(L.QrPart, a, part="Q", factors=(q, r)),
            a._apply(L.QrPart, a, part="R", factors=(q, r)))


# ---------------------------------------------------------------------- powers and products
def matrix_power(a: Tensor, n: int) -> Tensor:
    """A^n by repeated squaring (n < 0: the inverse's power; n = 0: the identity)."""
    if builtins.int(n) != n:
        raise TypeError(f"matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    n = builtins.int(n)
    if n == 0:
        return eye_like(a) + a * 0
    if n < 0:
        a, n = inv(a), -n
    result: Tensor | None
    result, base = None, a
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    assert result is not None  # n >= 1: the loop multiplied at least once
    return result


def matrix_exp(a: Tensor) -> Tensor:
    """exp(A) = sum_k A^k / k!: scaled by 2^-s so that ||A||_1 <= 1/2, an 18-term Taylor
    polynomial, squared s times. Differentiable as the composition it is."""
    norm1 = builtins.float(backend.to_numpy(abs(a._data).sum(-2).max())) if a.numel() else 0.0
    s = builtins.max(0, math.ceil(math.log2(norm1 / 0.5))) if norm1 > 0.5 else 0
    x = a * (0.5 ** s) if s else a
    eye = eye_like(a)
    out = eye
    for k in range(18, 0, -1):  # Horner: I + x/1 (I + x/2 (I + ...))
        out = eye + (x @ out) * (1.0 / k)
    for _ in range(s):
        out = out @ out
    return out


def cross(a: Tensor, other: Any, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (broadcasting)."""
    b = a._operand(other)
    if a.shape[dim] != 3 or b.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a.shape[dim]} and {b.shape[dim]}")
    i1, i2 = a._wrap(np.array([1, 2, 0])), a._wrap(np.array([2, 0, 1]))
    return (a.index_select(dim, i1) * b.index_select(dim, i2)
            - a.index_select(dim, i2) * b.index_select(dim, i1))
