"""``sg.special``: special functions with PyTorch's names (``gammaln``, ``digamma``, ``erf``,
...). Each is differentiable (``softgrad/ops/special.py`` holds the primitives)."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.ops.gamma import Gammainc
from softgrad.tensor import Tensor, _array_from

__all__ = ["digamma", "erf", "erfc", "erfinv", "expit", "gammainc", "gammaincc", "gammaln",
           "logit", "polygamma", "psi"]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(_array_from(x, None))


def gammaln(input: Tensor) -> Tensor:  # noqa: A002
    """log|Gamma(x)|, element-wise."""
    return _t(input).lgamma()


def digamma(input: Tensor) -> Tensor:  # noqa: A002
    """d/dx log Gamma(x), element-wise."""
    return _t(input).digamma()


psi = digamma


def polygamma(n: int, input: Tensor) -> Tensor:  # noqa: A002
    """The n-th derivative of digamma, element-wise."""
    return _t(input).polygamma(n)


def erf(input: Tensor) -> Tensor:  # noqa: A002
    """Error function, element-wise."""
    return _t(input).erf()


def erfc(input: Tensor) -> Tensor:  # noqa: A002
    """1 - erf(x), element-wise."""
    return _t(input).erfc()


def erfinv(input: Tensor) -> Tensor:  # noqa: A002
    """Inverse error function, element-wise."""
    return _t(input).erfinv()


def expit(input: Tensor) -> Tensor:  # noqa: A002
    """The logistic sigmoid 1 / (1 + exp(-x))."""
    return _t(input).sigmoid()


def logit(input: Tensor, eps: float | None = None) -> Tensor:  # noqa: A002
    """log(p / (1 - p)), p clamped to [eps, 1 - eps] when ``eps`` is given."""
    return _t(input).logit(eps)


def gammainc(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Regularised lower incomplete gamma P(a, x) (a = ``input`` > 0, x = ``other`` >= 0), the
    Gamma(a, 1) CDF. Differentiable in x exactly and in a by central differences."""
    a, x = _t(input), _t(other)
    dt = backend.np.promote_types(a._float_input()._data.dtype, x._float_input()._data.dtype)
    return Tensor._apply(Gammainc, a._float_input()._cast(dt), x._float_input()._cast(dt))


def gammaincc(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Regularised upper incomplete gamma Q(a, x) = 1 - P(a, x)."""
    return 1 - gammainc(input, other)
