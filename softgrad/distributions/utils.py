"""Helpers shared by the distributions: parameter broadcasting, probs <-> logits, caching."""
from __future__ import annotations

import numbers
from typing import Any, Callable

from softgrad import backend
from softgrad.autograd.grad_mode import enable_grad
from softgrad.creation import rand, randn
from softgrad.size import Size
from softgrad.nn import functional as F
from softgrad.tensor import Tensor

np = backend.np


def broadcast_all(*values: Any) -> tuple:
    """Tensors of one broadcast shape from tensors and numbers (numbers take the first
    tensor's dtype and device, else the default float dtype)."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    out = []
    for v in values:
        if isinstance(v, Tensor):
            out.append(v)
        elif isinstance(v, numbers.Number):
            dt = like._data.dtype if like is not None and like._data.dtype.kind == "f" \
                else backend.DEFAULT_DTYPE
            arr = np.asarray(v, dtype=dt)
            t = Tensor._wrap(arr)
            out.append(t.to(like.device) if like is not None else t)
        else:
            raise ValueError("Input arguments must all be instances of numbers.Number or "
                             f"softgrad.Tensor, got {type(v).__name__}")
    try:
        shape = np.broadcast_shapes(*[tuple(t.shape) for t in out])
    except ValueError:
        raise RuntimeError("The parameters' shapes do not broadcast: "
                           + ", ".join(str(tuple(t.shape)) for t in out)) from None
    return tuple(t if tuple(t.shape) == shape else t.expand(*shape) for t in out)


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum out the last ``dim`` dims."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.dim() - dim]) + (-1,)).sum(-1)


def finfo(t: Tensor) -> Any:
    return np.finfo(t._data.dtype if t._data.dtype.kind == "f" else backend.DEFAULT_DTYPE)


def clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities clamped to [eps, 1 - eps] (eps of their dtype)."""
    eps = float(finfo(probs).eps)
    return probs.clamp(eps, 1 - eps)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """sigmoid (binary) or softmax over the last dim."""
    return logits.sigmoid() if is_binary else F.softmax(logits, dim=-1)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """log(p) (categorical) or log(p) - log(1 - p) (binary), with p clamped away from 0/1."""
    p = clamp_probs(probs)
    return p.log() - (-p).log1p() if is_binary else p.log()


def xlogy(x: Tensor, y: Tensor) -> Tensor:
    """x * log(y), 0 where x == 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        prod = x * y.log()
    return prod.masked_fill(x == 0, 0.0) if bool((x == 0).any()) else prod


def standard_normal(shape: tuple, like: Tensor, generator: Any = None) -> Tensor:
    """N(0, 1) draws of ``shape`` with ``like``'s float dtype and device."""
    return randn(tuple(shape), dtype=finfo_dtype(like), device=like.device, generator=generator)


def uniform(shape: tuple, like: Tensor, low: float = 0.0, high: float = 1.0) -> Tensor:
    """U[low, high) draws of ``shape`` with ``like``'s float dtype and device."""
    u = rand(tuple(shape), dtype=finfo_dtype(like), device=like.device)
    return u if (low, high) == (0.0, 1.0) else u * (high - low) + low


def finfo_dtype(t: Tensor) -> Any:
    return t._data.dtype if t._data.dtype.kind == "f" else backend.DEFAULT_DTYPE


def size(shape: Any) -> Size:
    """A shape as ``sg.Size`` (ints, a tuple or a Size)."""
    if isinstance(shape, numbers.Integral):
        return Size((int(shape),))
    return Size(tuple(int(s) for s in shape))


class lazy_property:
    """Computed once on first access (with grad enabled) and cached on the instance."""

    def __init__(self, wrapped: Callable) -> None:
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value
