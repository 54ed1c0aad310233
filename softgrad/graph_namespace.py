"""A NumPy-named namespace over Tensors, used as ``Function.xp`` for higher-order gradients.

With it, a backward written as ``self.xp.exp(x) * g`` runs on arrays (fast path) and on
Tensors (recorded, so the gradient can be differentiated again).
"""
from __future__ import annotations

from typing import Any

from softgrad import functions as F
from softgrad.tensor import Tensor


def _t(x: Any, like: Any = None) -> Any:
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return like._operand(x)
    return Tensor._wrap(F._array_from(x, None) if not hasattr(x, "dtype") else x)


def _like(*xs: Any) -> Any:
    return next((x for x in xs if isinstance(x, Tensor)), None)


def exp(x: Any) -> Any: return _t(x).exp()  # noqa: E704
def log(x: Any) -> Any: return _t(x).log()  # noqa: E704
def log1p(x: Any) -> Any: return _t(x).log1p()  # noqa: E704
def expm1(x: Any) -> Any: return _t(x).expm1()  # noqa: E704
def sqrt(x: Any) -> Any: return _t(x).sqrt()  # noqa: E704
def tanh(x: Any) -> Any: return _t(x).tanh()  # noqa: E704
def sin(x: Any) -> Any: return _t(x).sin()  # noqa: E704
def cos(x: Any) -> Any: return _t(x).cos()  # noqa: E704
def sign(x: Any) -> Any: return _t(x).sign()  # noqa: E704
def floor(x: Any) -> Any: return _t(x).floor()  # noqa: E704
def abs(x: Any) -> Any: return _t(x).abs()  # noqa: E704,A001
def isfinite(x: Any) -> Any: return _t(x).isfinite()  # noqa: E704


def where(cond: Any, a: Any, b: Any) -> Any:
    like = _like(a, b)
    return F.where(cond, _t(a, like), _t(b, like))


def maximum(a: Any, b: Any) -> Any:
    like = _like(a, b)
    return _t(a, like).maximum(_t(b, like))


def minimum(a: Any, b: Any) -> Any:
    like = _like(a, b)
    return _t(a, like).minimum(_t(b, like))


def clip(x: Any, lo: Any, hi: Any) -> Any:
    return _t(x).clamp(lo, hi)


def broadcast_to(x: Any, shape: tuple) -> Any:
    return _t(x).expand(tuple(shape))


def transpose(x: Any, axes: tuple) -> Any:
    return _t(x).permute(*axes)


def flip(x: Any, axes: Any) -> Any:
    return _t(x).flip(*(axes if isinstance(axes, tuple) else (axes,)))


def roll(x: Any, shifts: Any, axes: Any = None) -> Any:
    return _t(x).roll(shifts, axes)


def cumsum(x: Any, axis: int) -> Any:
    return _t(x).cumsum(axis)


def concatenate(xs: Any, axis: int = 0) -> Any:
    return F.cat([_t(x) for x in xs], axis)


def expand_dims(x: Any, axis: int) -> Any:
    return _t(x).unsqueeze(axis)


def squeeze(x: Any, axis: int) -> Any:
    return _t(x).squeeze(axis)


def zeros_like(x: Any) -> Any:
    return Tensor._wrap(_t(x)._data * 0)


def ones_like(x: Any) -> Any:
    return Tensor._wrap(_t(x)._data * 0 + 1)


def index_add_zeros(g: Any, shape: tuple, index: Any) -> Any:
    return F.index_add_zeros(_t(g), shape, index)


def einsum(equation: str, *operands: Any) -> Any:
    return F.einsum(equation, *[_t(o) for o in operands])


def apply(fn_cls: type, *inputs: Any, **params: Any) -> Any:
    """Record primitive ``fn_cls`` on Tensors, so a backward can reuse other primitives."""
    return Tensor._apply(fn_cls, *[_t(x) for x in inputs], **params)


def const(array: Any) -> Any:
    """A constant (non-differentiable) Tensor around an array."""
    return Tensor._wrap(array)
