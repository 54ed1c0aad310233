"""``LocationScale``: the shared base of the real-valued families given by ``loc`` and a
positive ``scale`` (``Normal``, ``Laplace``, ``Gumbel``)."""
from __future__ import annotations

from typing import Any

from softgrad.distributions import constraints
from softgrad.distributions.distribution import Distribution
from softgrad.distributions.utils import broadcast_all
from softgrad.tensor import Tensor

__all__ = ["LocationScale"]


class LocationScale(Distribution):
    """Parameters ``loc`` (real) and ``scale`` (positive), broadcast together; the batch
    shape is theirs. Subclasses add the density, moments and sampling."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LocationScale:
        return self._expand_params(LocationScale, batch_shape, _instance, ("loc", "scale"))

    @property
    def mode(self) -> Tensor:
        return self.loc
