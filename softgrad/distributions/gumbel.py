"""``Gumbel(loc, scale)``: the distribution of maxima, reparameterisable."""
from __future__ import annotations

import math
from typing import Any

from softgrad.distributions.location_scale import LocationScale
from softgrad.distributions.utils import finfo, uniform
from softgrad.size import Size
from softgrad.tensor import Tensor

_EULER_GAMMA = 0.57721566490153286060


class Gumbel(LocationScale):
    """Gumbel distribution: ``loc - scale * log(-log(u))`` for ``u ~ U(0, 1)``."""

    @property
    def mean(self) -> Tensor:
        return self.loc + self.scale * _EULER_GAMMA

    @property
    def stddev(self) -> Tensor:
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self) -> Tensor:
        return self.stddev.pow(2)

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        fi = finfo(self.loc)
        u = uniform(self._extended_shape(sample_shape), self.loc).clamp(float(fi.tiny),
                                                                         1 - float(fi.eps))
        return self.loc - self.scale * (-u.log()).log()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (self.loc - value) / self.scale
        return z - z.exp() - self.scale.log()

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return (-(-(value - self.loc) / self.scale).exp()).exp()

    def icdf(self, value: Tensor) -> Tensor:
        return self.loc - self.scale * (-value.log()).log()

    def entropy(self) -> Tensor:
        return self.scale.log() + (1 + _EULER_GAMMA)
