"""``sg.linalg``: Cholesky factorisation and triangular solves with PyTorch's names.

Both are differentiable (``softgrad/ops/linalg.py``) and batched over leading dimensions.
"""
from __future__ import annotations

from softgrad import backend
from softgrad.ops import linalg as L
from softgrad.tensor import Tensor

__all__ = ["cholesky", "solve_triangular"]


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


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:  # noqa: N803
    """Lower-triangular L with A = L L^T for symmetric positive-definite A (upper: L^T).

    Shape: (*, n, n) -> (*, n, n).
    """
    _square(A, "cholesky")
    low = Tensor._apply(L.Cholesky, A)
    return low.mT if upper else low


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool,  # noqa: N803
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
    dt = backend.np.promote_types(A._data.dtype, B._data.dtype)
    return Tensor._apply(L.SolveTriangular, A._cast(dt), B._cast(dt), upper=upper, left=left,
                         unitriangular=unitriangular)
