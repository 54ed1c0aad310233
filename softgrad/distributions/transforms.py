"""Bijective transforms for ``TransformedDistribution`` (``LogNormal`` is ``Normal`` through
``ExpTransform``), with PyTorch's names.

Element-wise transforms have ``event_dim`` 0; ``AffineTransform(event_dim=k)`` treats the
last k dims as one event (its log-det is summed over them).
"""
from __future__ import annotations

import math
import numbers
from typing import Any

from softgrad import backend
from softgrad.distributions import constraints
from softgrad.distributions.transform import (  # noqa: F401  (re-exported, as in PyTorch)
    ComposeTransform, Transform, _InverseTransform, identity_transform)
from softgrad.distributions.utils import finfo, sum_rightmost
from softgrad.nn import functional as F
from softgrad.tensor import Tensor

__all__ = ["AffineTransform", "ComposeTransform", "ExpTransform", "PowerTransform",
           "SigmoidTransform", "SoftplusTransform", "TanhTransform", "Transform",
           "identity_transform"]


class _IncreasingBijection(Transform):
    """An increasing bijection of the reals without parameters: instances of one class are
    all equal."""

    domain = constraints.real
    bijective = True
    sign = +1

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, type(self))

    __hash__ = object.__hash__


class ExpTransform(_IncreasingBijection):
    """y = exp(x)."""

    codomain = constraints.positive

    def _call(self, x: Tensor) -> Tensor:
        return x.exp()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.log()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return x


class SigmoidTransform(_IncreasingBijection):
    """y = sigmoid(x), kept inside (0, 1) by the dtype's tiny/eps."""

    codomain = constraints.unit_interval

    def _call(self, x: Tensor) -> Tensor:
        fi = finfo(x)
        return x.sigmoid().clamp(float(fi.tiny), 1.0 - float(fi.eps))

    def _inverse(self, y: Tensor) -> Tensor:
        fi = finfo(y)
        y = y.clamp(float(fi.tiny), 1.0 - float(fi.eps))
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -F.softplus(-x) - F.softplus(x)


class TanhTransform(_IncreasingBijection):
    """y = tanh(x) (use ``cache_size=1`` to invert samples near +-1 exactly)."""

    codomain = constraints.interval(-1.0, 1.0)

    def _call(self, x: Tensor) -> Tensor:
        return x.tanh()

    def _inverse(self, y: Tensor) -> Tensor:
        return 0.5 * (y.log1p() - (-y).log1p())

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


class SoftplusTransform(_IncreasingBijection):
    """y = log(1 + exp(x))."""

    codomain = constraints.positive

    def _call(self, x: Tensor) -> Tensor:
        return F.softplus(x)

    def _inverse(self, y: Tensor) -> Tensor:
        return (-(-y).expm1()).log() + y

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -F.softplus(-x)


class PowerTransform(Transform):
    """y = x ** exponent on positive x."""

    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent: Any, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.exponent = exponent

    def with_cache(self, cache_size: int = 1) -> PowerTransform:
        return self if self._cache_size == cache_size else PowerTransform(self.exponent,
                                                                         cache_size)

    @property
    def sign(self) -> Any:
        e = self.exponent
        return _sign(e)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, PowerTransform) and bool(_equal(self.exponent, other.exponent))

    __hash__ = object.__hash__

    def _call(self, x: Tensor) -> Tensor:
        return x.pow(self.exponent)

    def _inverse(self, y: Tensor) -> Tensor:
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return (self.exponent * y / x).abs().log()


class AffineTransform(Transform):
    """y = loc + scale * x; ``event_dim`` trailing dims form one event."""

    bijective = True

    def __init__(self, loc: Any, scale: Any, event_dim: int = 0, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, event_dim

    def with_cache(self, cache_size: int = 1) -> AffineTransform:
        if self._cache_size == cache_size:
            return self
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size)

    @property
    def event_dim(self) -> int:
        return self._event_dim

    @property
    def domain(self) -> Any:
        return constraints.real if self._event_dim == 0 else \
            constraints.independent(constraints.real, self._event_dim)

    codomain = domain

    @property
    def sign(self) -> Any:
        return _sign(self.scale)

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, AffineTransform) and bool(_equal(self.loc, other.loc))
                and bool(_equal(self.scale, other.scale)))

    __hash__ = object.__hash__

    def _call(self, x: Tensor) -> Tensor:
        return self.loc + self.scale * x

    def _inverse(self, y: Tensor) -> Tensor:
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        shape = tuple(x.shape)
        if isinstance(self.scale, Tensor):
            result = self.scale.abs().log()
        else:
            result = x.new_full(shape, math.log(abs(float(self.scale))))
        if self._event_dim:
            result = sum_rightmost(result, self._event_dim)
            shape = shape[:len(shape) - self._event_dim]
        return result if tuple(result.shape) == shape else result.expand(shape)

    def forward_shape(self, shape: tuple) -> tuple:
        return _broadcast(shape, self.loc, self.scale)

    inverse_shape = forward_shape


def _sign(v: Any) -> Any:
    """+1, -1 or 0 for a number; the element-wise sign for a tensor."""
    if isinstance(v, Tensor):
        return v.sign()
    f = float(v)
    return (f > 0) - (f < 0)


def _shape(v: Any) -> tuple:
    return tuple(v.shape) if isinstance(v, Tensor) else ()


def _broadcast(shape: tuple, *params: Any) -> tuple:
    return tuple(backend.np.broadcast_shapes(tuple(shape), *[_shape(p) for p in params]))


def _equal(a: Any, b: Any) -> Any:
    if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
        return a == b
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return a.shape == b.shape and bool((a == b).all())
    return False
