"""Special-function methods of Tensor (``lgamma``, ``digamma``, ``erf``, ``logit``, ...), a mixin.

Integer inputs are promoted to the default float dtype, as in PyTorch.
"""
from __future__ import annotations

import operator
from typing import Any

from softgrad.ops import special as S
from softgrad.tensor_inplace import _unary_inplace


class SpecialMixin:
    """lgamma, digamma, polygamma, erf, erfc, erfinv, logit and their in-place forms."""

    __slots__ = ()

    def lgamma(self) -> Any:
        """log|Gamma(x)|, element-wise."""
        return self._unary(S.Lgamma)

    def digamma(self) -> Any:
        """The logarithmic derivative of Gamma, element-wise (-inf at 0)."""
        return self._unary(S.Digamma)

    def polygamma(self, n: int) -> Any:
        """The n-th derivative of digamma (n >= 0), element-wise."""
        try:
            n = operator.index(n)
        except TypeError:
            raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
        if n < 0:
            raise RuntimeError("polygamma(n, x) does not support negative n.")
        return self._unary(S.Digamma) if n == 0 else self._unary(S.Polygamma, n=n)

    def erf(self) -> Any:
        """Error function, element-wise."""
        return self._unary(S.Erf)

    def erfc(self) -> Any:
        """Complementary error function 1 - erf(x), element-wise."""
        return self._unary(S.Erfc)

    def erfinv(self) -> Any:
        """Inverse error function on [-1, 1] (+-inf at +-1, nan outside)."""
        return self._unary(S.Erfinv)

    def logit(self, eps: float | None = None) -> Any:
        """log(p / (1 - p)); with ``eps``, p is first clamped to [eps, 1 - eps]."""
        p = self._float_input()
        if eps is not None:
            p = p.clamp(eps, 1 - eps)
        return (p / (1 - p)).log()


for _name in ("lgamma", "digamma", "erf", "erfc", "erfinv"):
    setattr(SpecialMixin, _name + "_", _unary_inplace(_name))
