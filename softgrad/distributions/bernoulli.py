"""``Bernoulli`` and ``Binomial``: coin flips, parameterised by ``probs`` or ``logits``."""
from __future__ import annotations

import math
from typing import Any

from softgrad import backend
from softgrad.autograd.grad_mode import no_grad
from softgrad.creation import _gen, arange
from softgrad.distributions import constraints
from softgrad.distributions.distribution import Distribution
from softgrad.distributions.utils import ProbsOrLogits, broadcast_all
from softgrad.size import Size
from softgrad.nn import functional as F
from softgrad.tensor import Tensor

np = backend.np


class Bernoulli(ProbsOrLogits, Distribution):
    """1 with probability ``probs`` (or ``sigmoid(logits)``), else 0.

    Example:
        >>> Bernoulli(logits=scores).log_prob(labels)    # = -BCE-with-logits per element
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        (param,) = self._set_probs_or_logits(probs, logits)
        super().__init__(param.shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Bernoulli:
        return self._expand_params(Bernoulli, batch_shape, _instance, ("probs", "logits"))

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return mode.masked_fill(self.probs == 0.5, math.nan)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = Size()) -> Tensor:
        with no_grad():
            return self.probs.expand(self._extended_shape(sample_shape)).bernoulli()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return value * logits - F.softplus(logits)

    def entropy(self) -> Tensor:
        return F.softplus(self.logits) - self.probs * self.logits

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((2,) + tuple(self._batch_shape)) if expand else values


class Binomial(ProbsOrLogits, Distribution):
    """Successes in ``total_count`` independent trials of probability ``probs``."""

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count: Any = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        param, total_count = self._set_probs_or_logits(probs, logits, total_count)
        self.total_count = total_count.to(param.dtype)
        super().__init__(param.shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Binomial:
        return self._expand_params(Binomial, batch_shape, _instance,
                                   ("total_count", "probs", "logits"))

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self) -> Any:
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = Size()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            n = backend.to_numpy(self.total_count.expand(shape)._data).astype(np.int64)
            p = backend.to_numpy(self.probs.expand(shape)._data).astype(np.float64)
            draw = _gen(None).binomial(n, p).astype(self.probs._data.dtype)
        return Tensor._wrap(backend.to_device(draw, self.probs.device))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        # max(logits, 0) written so that its derivative at 0 is 1/2 (as softplus's is)
        relu_half = (logits.clamp(min=0) + logits - logits.clamp(max=0)) / 2
        normalize = n * relu_half + n * (-logits.abs()).exp().log1p() - (n + 1).lgamma()
        return (value * logits - normalize - (value + 1).lgamma()
                - (n - value + 1).lgamma())

    def entropy(self) -> Tensor:
        top = float(self.total_count.max())
        if not float(self.total_count.min()) == top:
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        top = int(self.total_count.max())
        if not float(self.total_count.min()) == top:
            raise NotImplementedError("Inhomogeneous total count not supported by "
                                      "`enumerate_support`.")
        values = arange(1 + top, dtype=self._param.dtype, device=self._param.device)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values
