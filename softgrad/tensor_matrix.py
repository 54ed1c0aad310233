"""Matrix methods of Tensor (a mixin): determinants, inverses, decompositions, matrix
powers, products (kron, cross, tensordot) and the fused multiply-add family (addmv, addbmm,
baddbmm, addr, addcmul, addcdiv). The decompositions are those of ``softgrad.linalg``."""
from __future__ import annotations

import builtins
from typing import Any, NamedTuple

from softgrad import backend
from softgrad.tensor_linalg import _inplace_form

np = backend.np


class SvdResult(NamedTuple):
    U: Any
    S: Any
    V: Any


class QrResult(NamedTuple):
    Q: Any
    R: Any


def _linalg() -> Any:
    from softgrad import linalg  # linalg builds on Tensor, which this mixin is part of

    return linalg


def _scaled_sum(self: Any, prod: Any, beta: Any, alpha: Any) -> Any:
    """beta * self + alpha * prod; self (which broadcasts to prod's shape) is ignored when
    beta == 0, so nan in it does not propagate (as PyTorch)."""
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return prod
    return prod + (self if beta == 1 else self * beta)


class MatrixMixin:
    """Linear-algebra methods of Tensor."""

    __slots__ = ()

    # ------------------------------------------------------------------ determinants, inverses
    def det(self) -> Any:
        return _linalg().det(self)

    def logdet(self) -> Any:
        """log(det): nan where det < 0, -inf where det == 0."""
        sign, logabs = _linalg().slogdet(self)
        return logabs + type(self)._wrap(
            backend.xp_of(self._data).where(sign._data < 0, np.nan, 0).astype(
                logabs._data.dtype))

    def slogdet(self) -> Any:
        return _linalg().slogdet(self)

    def inverse(self) -> Any:
        return _linalg().inv(self)

    def pinverse(self, rcond: float = 1e-15) -> Any:
        return _linalg().pinv(self, rtol=rcond)

    def matrix_power(self, n: int) -> Any:
        return _linalg().matrix_power(self, n)

    def matrix_exp(self) -> Any:
        return _linalg().matrix_exp(self)

    # ------------------------------------------------------------------ decompositions
    def cholesky(self, upper: bool = False) -> Any:
        return _linalg().cholesky(self, upper=upper)

    def cholesky_solve(self, input2: Any, upper: bool = False) -> Any:
        """X with A X = self, where ``input2`` is A's Cholesky factor."""
        f = self._operand(input2)
        low = f.mT if upper else f
        y = _linalg().solve_triangular(low, self, upper=False)
        return _linalg().solve_triangular(low.mT, y, upper=True)

    def cholesky_inverse(self, upper: bool = False) -> Any:
        """A^-1 from A's Cholesky factor (self)."""
        low = self.mT if upper else self
        inv = _linalg().inv(low)
        return inv.mT @ inv

    def qr(self, some: bool = True) -> Any:
        q, r = _linalg().qr(self, "reduced" if some else "complete")
        return QrResult(q, r)

    def svd(self, some: bool = True, compute_uv: bool = True) -> Any:
        """(U, S, V) with self = U diag(S) V^T (V, not V^T; reduced when ``some``)."""
        u, s, vh = _linalg().svd(self, full_matrices=not some)
        if not compute_uv:
            xp = backend.xp_of(self._data)
            return SvdResult(type(self)._wrap(xp.zeros_like(u._data)), s,
                             type(self)._wrap(xp.zeros_like(vh._data)))
        return SvdResult(u, s, vh.mT)

    # ------------------------------------------------------------------ products
    def kron(self, other: Any) -> Any:
        """The Kronecker product: block (i, j) is self[i, j] * other (any number of dims)."""
        other = self._operand(other)
        nd = builtins.max(self.ndim, other.ndim)
        a = self.reshape((1,) * (nd - self.ndim) + tuple(self.shape))
        b = other.reshape((1,) * (nd - other.ndim) + tuple(other.shape))
        inter_a, inter_b = [], []
        for sa, sb in zip(a.shape, b.shape):
            inter_a += [sa, 1]
            inter_b += [1, sb]
        out = a.reshape(inter_a) * b.reshape(inter_b)
        return out.reshape([sa * sb for sa, sb in zip(a.shape, b.shape)])

    def cross(self, other: Any, dim: Any = None) -> Any:
        """The cross product along ``dim`` (default: the first dim of size 3)."""
        other = self._operand(other)
        if dim is None:
            sizes = np.broadcast_shapes(tuple(self.shape), tuple(other.shape))
            dim = next((i for i, s in enumerate(sizes) if s == 3), None)
            if dim is None:
                raise RuntimeError("no dimension of size 3 in input")
        a, b = self, other
        if a.shape != b.shape:
            shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
            a, b = a.expand(*shape), b.expand(*shape)
        return _linalg().cross(a, b, dim=dim)

    def tensordot(self, other: Any, dims: Any = 2) -> Any:
        """Contract the last ``dims`` dims of self with the first of other, or the listed
        pairs ``([dims of self], [dims of other])``."""
        other = self._operand(other)
        if isinstance(dims, builtins.int):
            if dims < 0:
                raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
            da = list(range(self.ndim - dims, self.ndim))
            db = list(range(dims))
        else:
            da, db = ([d] if isinstance(d, builtins.int) else list(d) for d in dims)
        da = [d % builtins.max(self.ndim, 1) for d in da]
        db = [d % builtins.max(other.ndim, 1) for d in db]
        for i, j in zip(da, db):
            if self.shape[i] != other.shape[j]:
                raise RuntimeError(f"contracted dimensions need to match, but first has size "
                                   f"{self.shape[i]} in dim {i} and second has size "
                                   f"{other.shape[j]} in dim {j}")
        free_a = [d for d in range(self.ndim) if d not in da]
        free_b = [d for d in range(other.ndim) if d not in db]
        k = 1
        for d in da:
            k *= self.shape[d]
        a = self.permute(*free_a, *da).reshape(-1, k)
        b = other.permute(*db, *free_b).reshape(k, -1)
        return (a @ b).reshape([self.shape[d] for d in free_a] +
                               [other.shape[d] for d in free_b])

    # ------------------------------------------------------------------ fused multiply-adds
    def addmv(self, mat: Any, vec: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
        """beta * self + alpha * (mat @ vec)."""
        return _scaled_sum(self, self._operand(mat).mv(self._operand(vec)), beta, alpha)

    def addr(self, vec1: Any, vec2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
        """beta * self + alpha * outer(vec1, vec2)."""
        return _scaled_sum(self, self._operand(vec1).outer(self._operand(vec2)), beta, alpha)

    def baddbmm(self, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
        """beta * self + alpha * (batch1 @ batch2), batched (b, n, m) @ (b, m, p)."""
        return _scaled_sum(self, self._operand(batch1).bmm(self._operand(batch2)), beta, alpha)

    def addbmm(self, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
        """beta * self + alpha * sum_b (batch1[b] @ batch2[b])."""
        prod = self._operand(batch1).bmm(self._operand(batch2)).sum(0)
        return _scaled_sum(self, prod, beta, alpha)

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:
        """self + value * tensor1 * tensor2."""
        prod = self._operand(tensor1) * tensor2
        return self + (prod if value == 1 else prod * value)

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Any:
        """self + value * tensor1 / tensor2."""
        t1 = self._operand(tensor1)
        if t1._data.dtype.kind in "iub" and self._operand(tensor2)._data.dtype.kind in "iub":
            raise RuntimeError("Integer division with addcdiv is no longer supported, and in a "
                               "future release addcdiv will perform a true division of tensor1 "
                               "and tensor2.")
        quot = t1 / tensor2
        return self + (quot if value == 1 else quot * value)


for _m in ("addmv", "addr", "baddbmm", "addbmm", "addcmul", "addcdiv", "addmm"):
    setattr(MatrixMixin, _m + "_", _inplace_form(_m))
