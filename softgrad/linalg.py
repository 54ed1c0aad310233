"""``softgrad.linalg``: PyTorch's ``torch.linalg`` (names, signatures, batching ``(..., m, n)``).

Every function is differentiable where PyTorch's is: inverses, solves, determinants and the
decompositions are primitives (``ops/linalg.py``) with the standard matrix-calculus VJPs;
norms, powers, ``matrix_exp``, ``multi_dot`` and ``cross`` are compositions of other ops.

Example:
    >>> x = sg.linalg.solve(a, b)            # a (..., n, n), b (..., n, k) or (..., n)
    >>> u, s, vh = sg.linalg.svd(a, full_matrices=False)
"""
from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from softgrad import backend, dtypes
from softgrad.ops import linalg as L
from softgrad.tensor import decompositions as D
from softgrad.tensor.core import Tensor
from softgrad.tensor.decompositions import SlogdetResult, eye_like, singular_error
from softgrad.tensor.split import stack

np = backend.np
_INF = math.inf

__all__ = ["cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eigh", "eigvalsh",
           "inv", "inv_ex", "lstsq", "matmul", "matrix_exp", "matrix_norm", "matrix_power",
           "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex",
           "solve_triangular", "svd", "svdvals", "vander", "vecdot", "vector_norm"]


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class SvdResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


class QrResult(NamedTuple):
    Q: Tensor
    R: Tensor


class LstsqResult(NamedTuple):
    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor


class InvExResult(NamedTuple):
    inverse: Tensor
    info: Tensor


class CholeskyExResult(NamedTuple):
    L: Tensor
    info: Tensor


class SolveExResult(NamedTuple):
    result: Tensor
    info: Tensor


# ---------------------------------------------------------------------- checks
def _matrix(a: Any, name: str, square: bool = False) -> Tensor:
    """``a`` as a floating tensor of matrices, with PyTorch's errors."""
    return D.check_matrix(a if isinstance(a, Tensor) else Tensor(a), name, square)


def _info(a: Tensor, failed: bool) -> Tensor:
    xp = backend.xp_of(a._data)
    return Tensor._wrap(xp.full(a.shape[:-2], 1 if failed else 0, dtype=np.int32))


# ---------------------------------------------------------------------- inverses and solves
def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix: grad = -A^-T g A^-T."""
    return D.inv(_matrix(A, "inv", square=True))


def inv_ex(A: Tensor, *, check_errors: bool = False) -> InvExResult:
    """``inv`` that reports a singular input in ``info`` (1) instead of raising."""
    a = _matrix(A, "inv_ex", square=True)
    try:
        return InvExResult(Tensor._apply(L.Inv, a), _info(a, False))
    except np.linalg.LinAlgError:
        if check_errors:
            raise singular_error("inv_ex") from None
        xp = backend.xp_of(a._data)
        return InvExResult(Tensor._wrap(xp.full(a.shape, np.nan, dtype=a._data.dtype)),
                           _info(a, True))


def _is_vector_rhs(a: Tensor, b: Tensor) -> bool:
    return b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (``left=False``: X A = B). B is (..., n, k), or (..., n) for vectors."""
    a = _matrix(A, "solve", square=True)
    b = a._operand(B)
    if b._data.dtype != a._data.dtype:
        dt = dtypes.promote(a._data.dtype, b._data.dtype)
        a, b = a._cast(dt), b._cast(dt)
    if not left:
        return solve(a.mT, b.mT).mT
    vector = _is_vector_rhs(a, b)
    if vector:
        b = b.unsqueeze(-1)
    if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"AX = B ({a.shape[-2]}x{a.shape[-1]} and "
                           f"{'x'.join(map(str, b.shape[-2:]))})")
    try:
        batch = tuple(np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2])))
    except ValueError:
        raise RuntimeError(f"linalg.solve: the batch dimensions of A {tuple(a.shape)} and B "
                           f"{tuple(b.shape)} cannot be broadcast") from None
    a = a.expand(*batch, *a.shape[-2:]) if tuple(a.shape[:-2]) != batch else a
    b = b.expand(*batch, *b.shape[-2:]) if tuple(b.shape[:-2]) != batch else b
    try:
        out = Tensor._apply(L.Solve, a, b)
    except np.linalg.LinAlgError:
        raise singular_error("solve") from None
    return out.squeeze(-1) if vector else out


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True,
             check_errors: bool = False) -> SolveExResult:
    """``solve`` that reports a singular A in ``info`` instead of raising."""
    a = _matrix(A, "solve_ex", square=True)
    try:
        return SolveExResult(solve(a, B, left=left), _info(a, False))
    except RuntimeError:
        if check_errors:
            raise
        out = solve(eye_like(a), B, left=left) * np.nan
        return SolveExResult(out, _info(a, True))


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool,
                     left: bool = True, unitriangular: bool = False) -> Tensor:
    """X with A X = B (left) or X A = B (right), reading only A's upper/lower triangle.

    Shape: A (*, n, n), B (*, n, k) (left) or (*, k, n) (right) -> shape of B (broadcast).
    """
    return D.solve_triangular(A, B, upper=upper, left=left, unitriangular=unitriangular)


def pinv(A: Tensor, *, atol: Any = None, rtol: Any = None,
         hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse; singular values <= max(atol, rtol * s_max) are
    dropped (default rtol: eps * max(m, n) when neither is given)."""
    return D.pinv(_matrix(A, "pinv"), atol, rtol)


def lstsq(A: Tensor, B: Tensor, rcond: Any = None, *,
          driver: str | None = None) -> LstsqResult:
    """Least-squares solution of A X = B (the minimum-norm one for rank-deficient A).

    ``residuals`` (squared residual norms) are given when m > n and A has full rank and
    ``driver`` is not 'gelsy' (PyTorch's CPU default); ``singular_values`` for 'gelsd' and
    'gelss'. The solution is differentiable.
    """
    a = _matrix(A, "lstsq")
    b = a._operand(B)
    drivers = (None, "gels", "gelsy", "gelsd", "gelss")
    if driver not in drivers:
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of "
                           f"(gels, gelsy, gelsd, gelss), got {driver!r}")
    vector = b.ndim == a.ndim - 1
    bb = b.unsqueeze(-1) if vector else b
    if bb.shape[-2] != a.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2), "
                           f"got {a.shape[-2]} and {bb.shape[-2]}")
    rt = None if rcond is None else rcond
    x = pinv(a, rtol=rt) @ bb
    m, n = a.shape[-2:]
    rank = matrix_rank(a, rtol=rt)
    xp = backend.xp_of(a._data)
    empty = Tensor._wrap(xp.zeros((0,), dtype=a._data.dtype))
    residuals = empty
    if m > n and driver not in (None, "gelsy") and bool((rank._data == n).all()):
        residuals = ((a @ x - bb) ** 2).sum(-2)
    svals = svdvals(a) if driver in ("gelsd", "gelss") else empty
    return LstsqResult(x.squeeze(-1) if vector else x, residuals, rank, svals)


# ---------------------------------------------------------------------- determinants
def det(A: Tensor) -> Tensor:
    """The determinant; its gradient is the cofactor matrix (right for singular A too)."""
    return D.det(_matrix(A, "det", square=True))


def slogdet(A: Tensor) -> SlogdetResult:
    """(sign, log|det|); the gradient of log|det| is A^-T."""
    return D.slogdet(_matrix(A, "slogdet", square=True))


# ---------------------------------------------------------------------- decompositions
def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L with A = L L^T (``upper``: U = L^T, A = U^T U), reading A's lower triangle."""
    return D.cholesky(_matrix(A, "cholesky", square=True), upper)


def cholesky_ex(A: Tensor, *, upper: bool = False,
                check_errors: bool = False) -> CholeskyExResult:
    """``cholesky`` that reports a matrix that is not positive-definite in ``info``."""
    a = _matrix(A, "cholesky_ex", square=True)
    try:
        return CholeskyExResult(cholesky(a, upper=upper), _info(a, False))
    except RuntimeError:
        if check_errors:
            raise
        xp = backend.xp_of(a._data)
        return CholeskyExResult(Tensor._wrap(xp.full(a.shape, np.nan, dtype=a._data.dtype)),
                                _info(a, True))


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and orthonormal eigenvectors of symmetric matrices, reading
    the ``UPLO`` triangle."""
    a = _matrix(A, "eigh", square=True)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    factors = backend.xp_of(a._data).linalg.eigh(a._data, UPLO=UPLO)
    factors = (factors[0], factors[1])
    return EighResult(Tensor._apply(L.EighPart, a, part="L", factors=factors),
                      Tensor._apply(L.EighPart, a, part="V", factors=factors))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    return eigh(A, UPLO).eigenvalues


def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None
        ) -> SvdResult:
    """A = U diag(S) Vh with S descending. With ``full_matrices`` U and Vh are square; the
    gradient ignores their columns/rows beyond min(m, n), as in PyTorch."""
    return SvdResult(*D.svd(_matrix(A, "svd"), full_matrices))


def svdvals(A: Tensor, *, driver: str | None = None) -> Tensor:
    """The singular values, descending."""
    a = _matrix(A, "svdvals")
    xp = backend.xp_of(a._data)
    factors = tuple(xp.linalg.svd(a._data, full_matrices=False))
    return Tensor._apply(L.SvdPart, a, part="S", factors=factors)


def qr(A: Tensor, mode: str = "reduced") -> QrResult:
    """A = Q R, Q with orthonormal columns, R upper triangular. ``mode``: 'reduced',
    'complete' or 'r' (Q empty; no gradient)."""
    return QrResult(*D.qr(_matrix(A, "qr"), mode))


# ---------------------------------------------------------------------- powers and products
def matrix_power(A: Tensor, n: int) -> Tensor:
    """A^n by repeated squaring (n < 0: the inverse's power; n = 0: the identity)."""
    return D.matrix_power(_matrix(A, "matrix_power", square=True), n)


def matrix_exp(A: Tensor) -> Tensor:
    """exp(A) = sum_k A^k / k!: scaled by 2^-s so that ||A||_1 <= 1/2, an 18-term Taylor
    polynomial, squared s times. Differentiable as the composition it is."""
    return D.matrix_exp(_matrix(A, "matrix_exp", square=True))


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """The product of a chain of matrices (the first/last may be 1-D vectors)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    for i, t in enumerate(ts):
        want = (1, 2) if i in (0, len(ts) - 1) else (2,)
        if t.ndim not in want:
            raise RuntimeError(f"multi_dot(): tensor {i} must be "
                               f"{'1D or 2D' if len(want) == 2 else '2D'} but got "
                               f"{t.ndim}D")
    out = ts[0]
    for t in ts[1:]:
        out = out @ t
    return out


def matmul(input: Tensor, other: Tensor) -> Tensor:
    return input @ other


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """sum(x * y) along ``dim`` (broadcasting)."""
    return (x * y).sum(dim)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (broadcasting)."""
    return D.cross(input, other, dim)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    return A.diagonal(offset, dim1, dim2)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """Columns x^0, x^1, ..., x^(N-1) (increasing powers) along a new last dim."""
    n = x.shape[-1] if N is None else N
    if n < 1:
        raise RuntimeError("N must be greater than 1.")
    cols = [x * 0 + 1]
    for _ in range(1, n):
        cols.append(cols[-1] * x)
    return stack(cols, -1)


# ---------------------------------------------------------------------- norms and ranks
def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None,
                keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """(sum |x|^ord)^(1/ord) over ``dim`` (all elements by default); ord inf/-inf/0 too."""
    t = x if dtype is None else x.to(dtype)
    if t._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {t.dtype.name.capitalize()}")
    return t.norm(ord, dim, keepdim)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: tuple = (-2, -1),
                keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """'fro', 'nuc', 2/-2 (largest/smallest singular value), 1/-1 (max/min column sum of
    |A|) or inf/-inf (max/min row sum) over the two ``dim``."""
    a = _matrix(A if dtype is None else A.to(dtype), "matrix_norm")
    d0, d1 = (int(d) % a.ndim for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, "
                           f"{dim[1]})")
    if ord == "fro":
        return a.norm("fro", (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        moved = a.movedim((d0, d1), (-2, -1))
        sv = svdvals(moved)
        out = sv.sum(-1) if ord == "nuc" else sv.amax(-1) if ord == 2 else sv.amin(-1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    if ord in (1, -1, _INF, -_INF):
        summed, other = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = a.abs().sum(summed, keepdim=True)
        out = sums.amax(other, keepdim=True) if ord > 0 else sums.amin(other, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False,
         *, dtype: Any = None) -> Tensor:
    """A vector norm (``dim`` an int, or 1-D input) or a matrix norm (``dim`` a pair, or
    2-D input); with neither ``ord`` nor ``dim``, the 2-norm of all elements."""
    if isinstance(dim, builtins.int):
        dim = (dim,)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype) if dim is None or len(dim) == 1 \
            else matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim == 1:
            return vector_norm(A, ord, None, keepdim, dtype=dtype)
        if A.ndim == 2:
            return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                           f"be 1D or 2D. Got {A.ndim}D.")
    if len(dim) == 1:
        return vector_norm(A, ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, ord, tuple(dim), keepdim, dtype=dtype)


def cond(A: Tensor, p: Any = None) -> Tensor:
    """The condition number: s_max / s_min for p None or 2, else norm(A) norm(A^-1)."""
    a = _matrix(A, "cond")
    if p in (None, 2, -2):
        sv = svdvals(a)
        ratio = sv.amax(-1) / sv.amin(-1)
        return ratio if p != -2 else 1 / ratio
    return matrix_norm(a, p) * matrix_norm(inv(a), p)


def matrix_rank(A: Tensor, *, atol: Any = None, rtol: Any = None,
                hermitian: bool = False) -> Tensor:
    """The number of singular values above max(atol, rtol * s_max) (int64, no gradient)."""
    a = _matrix(A, "matrix_rank")
    xp = backend.xp_of(a._data)
    s = xp.linalg.svd(a._data, compute_uv=False) if a.shape[-1] and a.shape[-2] else \
        xp.zeros(a.shape[:-2] + (0,), dtype=a._data.dtype)
    at, rt = D.sv_tolerances(a, atol, rtol)
    smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else s.sum(axis=-1, keepdims=True)
    cut = xp.maximum(at, smax * rt)
    return Tensor._wrap((s > cut).sum(axis=-1).astype(np.int64))
