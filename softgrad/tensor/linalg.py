"""Linear algebra of Tensor (a mixin): diagonals and triangles, determinants, inverses,
decompositions and matrix powers. The matrix functions are those of ``softgrad.linalg``
(``decompositions.py``); the methods keep PyTorch's older names and results (``inverse``,
``svd`` giving V rather than Vh)."""
from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from softgrad import backend
from softgrad.ops import select as Sel
from softgrad.ops import shape as S
from softgrad.tensor import decompositions as D
from softgrad.tensor.args import norm_dim
from softgrad.tensor.base import TensorBase
from softgrad.tensor.decompositions import SlogdetResult, check_matrix
from softgrad.tensor.indexing import where

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np


class SvdResult(NamedTuple):
    U: Tensor
    S: Tensor
    V: Tensor


class QrResult(NamedTuple):
    Q: Tensor
    R: Tensor


class LinalgMixin(TensorBase):
    """Linear algebra of Tensor: diagonals and triangles, determinants, inverses, decompositions,
    matrix powers."""

    __slots__ = ()

    # ------------------------------------------------------------------ diagonals and triangles
    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The diagonal of dims (dim1, dim2), moved to the last dim."""
        if self.ndim < 2:
            raise RuntimeError(f"diagonal(): expected a tensor with at least 2 dims, got shape "
                               f"{tuple(self.shape)}")
        a, b = norm_dim(dim1, self.ndim), norm_dim(dim2, self.ndim)
        if a == b:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        rest = [i for i in range(self.ndim) if i not in (a, b)]
        x = self.permute(*rest, a, b)
        n, m = x.shape[-2], x.shape[-1]
        length = builtins.max(0, builtins.min(n + builtins.min(offset, 0),
                                              m - builtins.max(offset, 0)))
        xp = backend.xp_of(self._data)
        rows = xp.arange(length) + builtins.max(-offset, 0)
        cols = xp.arange(length) + builtins.max(offset, 0)
        return type(self)._apply(Sel.GetitemUnique, x, index=(Ellipsis, rows, cols))

    def diag(self, diagonal: int = 0) -> Tensor:
        """1-D -> a square matrix with it on the ``diagonal``; 2-D -> that diagonal (1-D)."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise RuntimeError(f"diag(): supports 1D or 2D tensors, got shape "
                               f"{tuple(self.shape)}")
        n = self.shape[0] + builtins.abs(diagonal)
        xp = backend.xp_of(self._data)
        k = xp.arange(self.shape[0])
        index = (k + builtins.max(-diagonal, 0), k + builtins.max(diagonal, 0))
        return self._apply(S.IndexAddZeros, self, shape=(n, n), index=index)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        """Matrices with the last dim of self on their ``offset`` diagonal, placed in dims
        (dim1, dim2) of the result: (..., n) -> (..., n + |offset|, n + |offset|) moved."""
        size = self.shape[-1] if self.ndim else 1
        n = size + builtins.abs(offset)
        xp = backend.xp_of(self._data)
        place = xp.zeros((size, n, n), dtype=self._data.dtype)
        k = xp.arange(size)
        place[k, k + builtins.max(-offset, 0), k + builtins.max(offset, 0)] = 1
        x = self if self.ndim else self.reshape(1)
        out = (x.unsqueeze(-1).unsqueeze(-1) * type(self)._wrap(place)).sum(-3)
        nd = out.ndim
        d1, d2 = norm_dim(dim1, nd), norm_dim(dim2, nd)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return out.movedim((nd - 2, nd - 1), (d1, d2))

    def diagflat(self, offset: int = 0) -> Tensor:
        """A square matrix with the flattened self on its ``offset`` diagonal."""
        return self.reshape(-1).diag(offset)

    def adjoint(self) -> Tensor:
        """The conjugate transpose of the last two dims (the transpose: tensors are real)."""
        return self.transpose(-2, -1)

    def _triangle(self, diagonal: int, upper: bool, name: str) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions, got "
                               f"shape {tuple(self.shape)}")
        n, m = self.shape[-2:]
        xp = backend.xp_of(self._data)
        ones = xp.ones((n, m), dtype=bool)
        mask = xp.triu(ones, diagonal) if upper else xp.tril(ones, diagonal)
        return where(type(self)._wrap(mask), self, 0)

    def triu(self, diagonal: int = 0) -> Tensor:
        """Upper triangle of the last two dims (elements below ``diagonal`` set to 0)."""
        return self._triangle(diagonal, True, "triu")

    def tril(self, diagonal: int = 0) -> Tensor:
        """Lower triangle of the last two dims (elements above ``diagonal`` set to 0)."""
        return self._triangle(diagonal, False, "tril")

    def trace(self) -> Tensor:
        """Sum of the main diagonal of a 2-D tensor."""
        if self.ndim != 2:
            raise RuntimeError(f"trace(): expected a matrix, got shape {tuple(self.shape)}")
        return self.diagonal().sum()

    # ------------------------------------------------------------------ determinants and inverses
    def det(self) -> Tensor:
        return D.det(check_matrix(cast("Tensor", self), "det", square=True))

    def logdet(self) -> Tensor:
        """log(det): nan where det < 0, -inf where det == 0."""
        sign, logabs = D.slogdet(check_matrix(cast("Tensor", self), "slogdet", square=True))
        return logabs + type(self)._wrap(
            backend.xp_of(self._data).where(sign._data < 0, np.nan, 0).astype(
                logabs._data.dtype))

    def slogdet(self) -> SlogdetResult:
        return D.slogdet(check_matrix(cast("Tensor", self), "slogdet", square=True))

    def inverse(self) -> Tensor:
        return D.inv(check_matrix(cast("Tensor", self), "inv", square=True))

    def pinverse(self, rcond: float = 1e-15) -> Tensor:
        return D.pinv(check_matrix(cast("Tensor", self), "pinv"), rtol=rcond)

    def matrix_power(self, n: int) -> Tensor:
        return D.matrix_power(check_matrix(cast("Tensor", self), "matrix_power", square=True), n)

    def matrix_exp(self) -> Tensor:
        return D.matrix_exp(check_matrix(cast("Tensor", self), "matrix_exp", square=True))

    # ------------------------------------------------------------------ decompositions
    def cholesky(self, upper: bool = False) -> Tensor:
        return D.cholesky(check_matrix(cast("Tensor", self), "cholesky", square=True), upper)

    def cholesky_solve(self, input2: Any, upper: bool = False) -> Tensor:
        """X with A X = self, where ``input2`` is A's Cholesky factor."""
        f = self._operand(input2)
        low = f.mT if upper else f
        y = D.solve_triangular(low, cast("Tensor", self), upper=False)
        return D.solve_triangular(low.mT, y, upper=True)

    def cholesky_inverse(self, upper: bool = False) -> Tensor:
        """A^-1 from A's Cholesky factor (self)."""
        low = self.mT if upper else cast("Tensor", self)
        inv = D.inv(check_matrix(low, "inv", square=True))
        return inv.mT @ inv

    def qr(self, some: bool = True) -> QrResult:
        q, r = D.qr(check_matrix(cast("Tensor", self), "qr"), "reduced" if some else "complete")
        return QrResult(q, r)

    def svd(self, some: bool = True, compute_uv: bool = True) -> SvdResult:
        """(U, S, V) with self = U diag(S) V^T (V, not V^T; reduced when ``some``)."""
        u, s, vh = D.svd(check_matrix(cast("Tensor", self), "svd"), full_matrices=not some)
        if not compute_uv:
            xp = backend.xp_of(self._data)
            return SvdResult(type(self)._wrap(xp.zeros_like(u._data)), s,
                             type(self)._wrap(xp.zeros_like(vh._data)))
        return SvdResult(u, s, vh.mT)

    def cross(self, other: Any, dim: Any = None) -> Tensor:
        """The cross product along ``dim`` (default: the first dim of size 3)."""
        other = self._operand(other)
        if dim is None:
            sizes = np.broadcast_shapes(tuple(self.shape), tuple(other.shape))
            dim = next((i for i, s in enumerate(sizes) if s == 3), None)
            if dim is None:
                raise RuntimeError("no dimension of size 3 in input")
        a, b = cast("Tensor", self), other
        if a.shape != b.shape:
            shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
            a, b = a.expand(*shape), b.expand(*shape)
        return D.cross(a, b, dim)
