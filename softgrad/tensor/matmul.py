"""Matrix products of Tensor (a mixin) and the fused multiply-adds (addmm, addmv, addr,
baddbmm, addbmm); ``einsum`` of tensors (``sg.einsum`` converts other data first)."""
from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, cast

from softgrad import backend, dtypes
from softgrad.ops.einsum import Einsum, parse_einsum
from softgrad.tensor.base import TensorBase

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np


def _scaled_sum(self: Tensor, prod: Tensor, beta: Any, alpha: Any) -> Tensor:
    """beta * self + alpha * prod; self (which broadcasts to prod's shape) is ignored when
    beta == 0, so nan in it does not propagate (as PyTorch)."""
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return prod
    return prod + (self if beta == 1 else self * beta)


class MatmulMixin(TensorBase):
    """Matrix products of Tensor and the fused multiply-adds."""

    __slots__ = ()

    # ------------------------------------------------------------------ products
    def smm(self, mat: Any) -> Tensor:
        """``self @ mat`` with self sparse (stored dense in softgrad)."""
        return self.mm(mat)

    def mm(self, mat2: Any) -> Tensor:
        """(n, m) @ (m, p) -> (n, p)."""
        mat2 = self._operand(mat2)
        if self.ndim != 2 or mat2.ndim != 2:
            raise RuntimeError(f"mm(): both arguments must be 2-D, got {tuple(self.shape)} and "
                               f"{tuple(mat2.shape)}")
        return self @ mat2

    def bmm(self, mat2: Any) -> Tensor:
        """(b, n, m) @ (b, m, p) -> (b, n, p)."""
        mat2 = self._operand(mat2)
        if self.ndim != 3 or mat2.ndim != 3 or self.shape[0] != mat2.shape[0]:
            raise RuntimeError(f"bmm(): expected two 3-D tensors with the same batch size, got "
                               f"{tuple(self.shape)} and {tuple(mat2.shape)}")
        return self @ mat2

    def mv(self, vec: Any) -> Tensor:
        """(n, m) @ (m,) -> (n,)."""
        vec = self._operand(vec)
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"mv(): expected a 2-D matrix and a 1-D vector, got "
                               f"{tuple(self.shape)} and {tuple(vec.shape)}")
        return self @ vec

    def dot(self, tensor: Any) -> Tensor:
        """Inner product of two 1-D tensors."""
        tensor = self._operand(tensor)
        if self.ndim != 1 or tensor.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and "
                               f"{tensor.ndim}D tensors")
        return self @ tensor

    def inner(self, other: Any) -> Tensor:
        """Sum over the last dims of both: (*a, n) x (*b, n) -> (*a, *b); a 0-d operand
        multiplies."""
        other = self._operand(other)
        if self.ndim == 0 or other.ndim == 0:
            return self * other
        if self.shape[-1] != other.shape[-1]:
            raise RuntimeError(f"inner() the last dimension must match on both input tensors "
                               f"but got shapes {list(self.shape)} and {list(other.shape)}")
        return self.tensordot(other, dims=([-1], [-1]))

    def vdot(self, other: Any) -> Tensor:
        """The dot product of two 1-D tensors, the first conjugated (tensors are real)."""
        other = self._operand(other)
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and "
                               f"{other.ndim}D tensors")
        if self.dtype != other.dtype:
            raise RuntimeError(f"vdot : expected both vectors to have same dtype, but found "
                               f"{self.dtype.name.capitalize()} and "
                               f"{other.dtype.name.capitalize()}")
        if self.shape[0] != other.shape[0]:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] "
                               f"and src [{other.shape[0]}] to have the same number of "
                               f"elements, but got {self.shape[0]} and {other.shape[0]} "
                               f"elements respectively")
        return self.dot(other)

    def outer(self, vec2: Any) -> Tensor:
        """(n,) x (m,) -> (n, m)."""
        vec2 = self._operand(vec2)
        if self.ndim != 1 or vec2.ndim != 1:
            raise RuntimeError(f"outer(): expected two 1-D tensors, got {tuple(self.shape)} and "
                               f"{tuple(vec2.shape)}")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    def kron(self, other: Any) -> Tensor:
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

    def tensordot(self, other: Any, dims: Any = 2) -> Tensor:
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
    def addmm(self, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """``beta * self + alpha * (mat1 @ mat2)``; self broadcasts to (n, p)."""
        prod = self._operand(mat1).mm(self._operand(mat2))
        if alpha != 1:
            prod = prod * alpha
        if beta == 0:  # as PyTorch: self is ignored (NaN in it does not propagate)
            return prod
        return prod + (self if beta == 1 else self * beta)

    def addmv(self, mat: Any, vec: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * (mat @ vec)."""
        return _scaled_sum(cast("Tensor", self), self._operand(mat).mv(self._operand(vec)), beta,
                           alpha)

    def addr(self, vec1: Any, vec2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * outer(vec1, vec2)."""
        return _scaled_sum(cast("Tensor", self), self._operand(vec1).outer(self._operand(vec2)),
                           beta, alpha)

    def baddbmm(self, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * (batch1 @ batch2), batched (b, n, m) @ (b, m, p)."""
        return _scaled_sum(cast("Tensor", self), self._operand(batch1).bmm(self._operand(batch2)),
                           beta, alpha)

    def addbmm(self, batch1: Any, batch2: Any, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * sum_b (batch1[b] @ batch2[b])."""
        prod = self._operand(batch1).bmm(self._operand(batch2)).sum(0)
        return _scaled_sum(cast("Tensor", self), prod, beta, alpha)


def einsum(equation: str, *operands: Tensor) -> Tensor:
    """Einstein summation over the operands' subscripts (see ``sg.einsum``)."""
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    try:
        subs, output = parse_einsum(equation, tuple(tuple(t.shape) for t in operands))
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None
    dt = dtypes.promote(*[t._data.dtype for t in operands])
    return operands[0]._apply(Einsum, *[t._cast(dt) for t in operands], subscripts=subs,
                              output=output)
