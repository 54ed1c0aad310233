"""Helpers shared by the distributions: parameter broadcasting, probs <-> logits, caching."""
from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

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


class ProbsOrLogits:
    """Mixin for distributions given by exactly one of ``probs`` and ``logits`` (stored under
    its name); the other is computed on first use, by sigmoid/logit where ``_binary`` and by
    softmax/log over the last dim otherwise."""

    _binary = True

    @staticmethod
    def _check_one_of(probs: Any, logits: Any) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")

    def _set_probs_or_logits(self, probs: Any, logits: Any, *others: Any) -> tuple:
        """Broadcast the given one of probs/logits with ``others``, store it under its name
        and return it followed by the broadcast ``others``."""
        self._check_one_of(probs, logits)
        param, *rest = broadcast_all(probs if probs is not None else logits, *others)
        setattr(self, "probs" if probs is not None else "logits", param)
        return (param, *rest)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=self._binary)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=self._binary)

    @property
    def _param(self) -> Tensor:
        """The stored parameter (``probs`` or ``logits``: the two have one shape)."""
        stored = self.__dict__
        return stored["probs"] if "probs" in stored else stored["logits"]

    @property
    def param_shape(self) -> Size:
        return Size(tuple(self._param.shape))
