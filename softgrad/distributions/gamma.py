"""``Gamma(concentration, rate)``, reparameterisable through implicit differentiation of
its CDF (``softgrad/ops/gamma.py``)."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.creation import _gen
from softgrad.distributions import constraints
from softgrad.distributions.distribution import Distribution
from softgrad.distributions.utils import broadcast_all, finfo, xlogy
from softgrad.size import Size
from softgrad.ops.gamma import Gammainc, StandardGamma
from softgrad.tensor import Tensor

np = backend.np


def standard_gamma(concentration: Tensor) -> Tensor:
    """Gamma(concentration, 1) draws of concentration's shape, differentiable in it
    (clamped below at the dtype's smallest normal number)."""
    alpha = backend.to_numpy(concentration._data).astype(np.float64)
    draw = _gen(None).standard_gamma(alpha)
    dt = concentration._data.dtype
    draw = np.maximum(draw, np.finfo(dt).tiny).astype(dt)
    return Tensor._apply(StandardGamma, concentration,
                         value=backend.to_device(draw, concentration.device))


class Gamma(Distribution):
    """Gamma distribution with shape ``concentration`` and inverse scale ``rate``."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Gamma:
        return self._expand_params(Gamma, batch_shape, _instance, ("concentration", "rate"))

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        value = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        tiny = float(finfo(value).tiny)
        if bool((value._data < tiny).any()):  # keep draws positive, gradient unchanged
            value._data[...] = backend.xp_of(value._data).maximum(value._data, tiny)
        return value

    def log_prob(self, value: Tensor) -> Tensor:
        value = value if isinstance(value, Tensor) else self.rate._operand(value)
        if self._validate_args:
            self._validate_sample(value)
        return (xlogy(self.concentration, self.rate) + xlogy(self.concentration - 1, value)
                - self.rate * value - self.concentration.lgamma())

    def entropy(self) -> Tensor:
        c = self.concentration
        return c - self.rate.log() + c.lgamma() + (1.0 - c) * c.digamma()

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a, x = broadcast_all(self.concentration, self.rate * value)
        return Tensor._apply(Gammainc, a, x)
