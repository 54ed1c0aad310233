"""Special functions of Tensor (a mixin): erf, erfc, erfinv, the gamma family and i0."""
from __future__ import annotations

import builtins
import math
from typing import TYPE_CHECKING

from softgrad import backend
from softgrad.ops import special as S
from softgrad.tensor.base import TensorBase

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np


class SpecialMixin(TensorBase):
    """Special functions of Tensor: erf and its inverse, the gamma family."""

    __slots__ = ()

    def erf(self) -> Tensor:
        return self._unary(S.Erf)

    def erfc(self) -> Tensor:
        return self._unary(S.Erfc)

    def erfinv(self) -> Tensor:
        """The inverse of erf on (-1, 1): +-inf at +-1, nan outside."""
        return self._unary(S.Erfinv)

    def lgamma(self) -> Tensor:
        """log |Gamma(x)|."""
        return self._unary(S.Lgamma)

    def digamma(self) -> Tensor:
        """psi(x) = d/dx lgamma(x)."""
        return self._unary(S.Polygamma, n=0)

    def polygamma(self, n: int) -> Tensor:
        """psi^(n)(x), the n-th derivative of digamma."""
        if isinstance(n, builtins.bool) or not isinstance(n, (builtins.int, np.integer)):
            raise TypeError(f"polygamma(): argument 'n' (position 1) must be int, not "
                            f"{type(n).__name__}")
        if n < 0:
            raise RuntimeError("polygamma(n, x) does not support negative n.")
        return self._unary(S.Polygamma, n=builtins.int(n))

    def i0(self) -> Tensor:
        """The modified Bessel function of the first kind of order 0."""
        return self._unary(S.I0)

    def mvlgamma(self, p: int) -> Tensor:
        """The multivariate log-gamma of dimension ``p`` (needs every x > (p - 1) / 2)."""
        if (self <= (p - 1) / 2).any():
            raise RuntimeError(f"All elements must be greater than (p-1)/2 = {(p - 1) / 2}")
        x = self._float_input()
        terms = [(x - j / 2).lgamma() for j in range(p)]
        out = terms[0]
        for t in terms[1:]:
            out = out + t
        return out + p * (p - 1) / 4 * math.log(math.pi)
