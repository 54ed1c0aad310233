"""``TensorNamespace``: NumPy's names over Tensors, the ``xp`` of a recorded backward.

A ``Function.backward`` written as ``self.xp.exp(x) * g`` runs on arrays with ``xp`` NumPy
(the fast path) and, for higher-order gradients (``create_graph=True``), on Tensors with
``xp`` this namespace, so that the backward is itself recorded. Each name takes NumPy's
arguments and calls the Tensor method (or records the primitive) that computes the same thing,
so the backward needs no test of which mode it runs in; ``apply`` is what
``Function.call`` uses to record another primitive. ``core.py`` makes the one
instance, ``GRAPH_XP``, and hands it to the engine, which also uses ``const`` to wrap arrays.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from softgrad.ops import linalg as linalg_ops
from softgrad.ops.shape import IndexAddZeros
from softgrad.tensor.arrays import array_from
from softgrad.tensor.base import TensorBase
from softgrad.tensor.indexing import where
from softgrad.tensor.matmul import einsum
from softgrad.tensor.split import cat

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor


class TensorNamespace:
    """The NumPy-named functions a backward uses, on Tensors of class ``tensor_cls``."""

    def __init__(self, tensor_cls: type[Tensor]) -> None:
        self.tensor_cls = tensor_cls
        self.linalg = LinalgNamespace(self)

    # ------------------------------------------------------------------ making Tensors
    def const(self, array: Any) -> Tensor:
        """A constant (non-differentiable) Tensor around an array."""
        return self.tensor_cls._wrap(array)

    def _t(self, x: Any, like: Tensor | None = None) -> Tensor:
        if isinstance(x, TensorBase):
            return x  # type: ignore[return-value]  # hot path: no cast() call
        if like is not None:
            return like._operand(x)
        return self.tensor_cls._wrap(array_from(x, None) if not hasattr(x, "dtype") else x)

    def apply(self, fn_cls: type, *inputs: Any, **params: Any) -> Tensor:
        """Record primitive ``fn_cls`` on Tensors, so a backward can reuse other primitives."""
        return self.tensor_cls._apply(fn_cls, *[self._t(x) for x in inputs], **params)

    def zeros_like(self, x: Any) -> Tensor:
        return self.tensor_cls._wrap(self._t(x)._data * 0)

    def ones_like(self, x: Any) -> Tensor:
        return self.tensor_cls._wrap(self._t(x)._data * 0 + 1)

    # ------------------------------------------------------------------ element-wise
    def exp(self, x: Any) -> Tensor:
        return self._t(x).exp()

    def log(self, x: Any) -> Tensor:
        return self._t(x).log()

    def log1p(self, x: Any) -> Tensor:
        return self._t(x).log1p()

    def expm1(self, x: Any) -> Tensor:
        return self._t(x).expm1()

    def sqrt(self, x: Any) -> Tensor:
        return self._t(x).sqrt()

    def tanh(self, x: Any) -> Tensor:
        return self._t(x).tanh()

    def sin(self, x: Any) -> Tensor:
        return self._t(x).sin()

    def cos(self, x: Any) -> Tensor:
        return self._t(x).cos()

    def sinh(self, x: Any) -> Tensor:
        return self._t(x).sinh()

    def cosh(self, x: Any) -> Tensor:
        return self._t(x).cosh()

    def trunc(self, x: Any) -> Tensor:
        return self._t(x).trunc()

    def sign(self, x: Any) -> Tensor:
        return self._t(x).sign()

    def floor(self, x: Any) -> Tensor:
        return self._t(x).floor()

    def abs(self, x: Any) -> Tensor:
        return self._t(x).abs()

    def isfinite(self, x: Any) -> Tensor:
        return self._t(x).isfinite()

    def where(self, cond: Any, a: Any, b: Any) -> Tensor:
        like = _like(a, b)
        return where(cond, self._t(a, like), self._t(b, like))

    def maximum(self, a: Any, b: Any) -> Tensor:
        like = _like(a, b)
        return self._t(a, like).maximum(self._t(b, like))

    def minimum(self, a: Any, b: Any) -> Tensor:
        like = _like(a, b)
        return self._t(a, like).minimum(self._t(b, like))

    def clip(self, x: Any, lo: Any, hi: Any) -> Tensor:
        return self._t(x).clamp(lo, hi)

    def matmul(self, a: Any, b: Any) -> Tensor:
        like = _like(a, b)
        return self._t(a, like) @ self._t(b, like)

    def asarray(self, x: Any) -> Tensor:
        return self._t(x)

    # ------------------------------------------------------------------ shapes
    def broadcast_to(self, x: Any, shape: tuple) -> Tensor:
        return self._t(x).expand(tuple(shape))

    def transpose(self, x: Any, axes: tuple) -> Tensor:
        return self._t(x).permute(*axes)

    def flip(self, x: Any, axes: Any) -> Tensor:
        return self._t(x).flip(*(axes if isinstance(axes, tuple) else (axes,)))

    def roll(self, x: Any, shifts: Any, axes: Any = None) -> Tensor:
        return self._t(x).roll(shifts, axes)

    def cumsum(self, x: Any, axis: int) -> Tensor:
        return self._t(x).cumsum(axis)

    def concatenate(self, xs: Any, axis: int = 0) -> Tensor:
        return cat([self._t(x) for x in xs], axis)

    def expand_dims(self, x: Any, axis: int) -> Tensor:
        return self._t(x).unsqueeze(axis)

    def squeeze(self, x: Any, axis: int) -> Tensor:
        return self._t(x).squeeze(axis)

    def index_add_zeros(self, g: Any, shape: tuple, index: Any) -> Tensor:
        """Differentiable ``zeros(shape)[index] += g`` (the backward of indexing)."""
        return self.tensor_cls._apply(IndexAddZeros, self._t(g), shape=shape, index=index)

    def tril(self, x: Any, k: int = 0) -> Tensor:
        return self._t(x).tril(k)

    def triu(self, x: Any, k: int = 0) -> Tensor:
        return self._t(x).triu(k)

    def einsum(self, equation: str, *operands: Any, optimize: Any = False) -> Tensor:
        """``optimize`` (NumPy's contraction-order search) has no effect here."""
        return einsum(equation, *[self._t(o) for o in operands])


class LinalgNamespace:
    """``xp.linalg`` over Tensors: each function records the matching primitive."""

    def __init__(self, xp: TensorNamespace) -> None:
        self.xp = xp

    def inv(self, a: Any) -> Tensor:
        return self.xp.apply(linalg_ops.Inv, a)

    def solve(self, a: Any, b: Any) -> Tensor:
        return self.xp.apply(linalg_ops.Solve, a, b)


def _like(*xs: Any) -> Tensor | None:
    return next((cast("Tensor", x) for x in xs if isinstance(x, TensorBase)), None)
