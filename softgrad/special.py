"""``softgrad.special``: PyTorch's ``torch.special`` functions (same names and signatures).

Example:
    >>> sg.special.expit(x), sg.special.gammaln(x), sg.special.xlog1py(x, y)
"""
from __future__ import annotations

import math
from typing import Any

from softgrad import backend, dtypes
from softgrad.function_forms import i0
from softgrad.functions import _t, where
from softgrad.ops.gamma import Gammainc
from softgrad.ops import special as S
from softgrad.ops.elementwise_extra import Xlogy
from softgrad.tensor import Tensor
from softgrad.tensor.args import broadcast_error

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
           "gammainc", "gammaincc", "gammaln", "i0", "log1p", "log_ndtr", "log_softmax", "logit",
           "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc",
           "softmax", "xlog1py", "xlogy"]

_SQRT1_2 = math.sqrt(0.5)


def digamma(input: Tensor) -> Tensor:
    """psi(x) = d/dx log Gamma(x)."""
    return _t(input).digamma()


psi = digamma


def polygamma(n: int, input: Tensor) -> Tensor:
    """psi^(n)(x), the n-th derivative of digamma."""
    return _t(input).polygamma(n)


def gammaln(input: Tensor) -> Tensor:
    """log |Gamma(x)|."""
    return _t(input).lgamma()


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma function of dimension ``p``."""
    return _t(input).mvlgamma(p)


def erf(input: Tensor) -> Tensor:
    return _t(input).erf()


def erfc(input: Tensor) -> Tensor:
    return _t(input).erfc()


def erfcx(input: Tensor) -> Tensor:
    """exp(x^2) erfc(x), finite for large x where both factors over/underflow."""
    return _t(input)._unary(S.Erfcx)


def erfinv(input: Tensor) -> Tensor:
    return _t(input).erfinv()


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF: erfc(-x / sqrt 2) / 2 (accurate in the left tail)."""
    return (_t(input)._float_input() * -_SQRT1_2).erfc() * 0.5


def log_ndtr(input: Tensor) -> Tensor:
    """log of the standard normal CDF."""
    return ndtr(input).log()


def ndtri(input: Tensor) -> Tensor:
    """The inverse of ``ndtr``: sqrt 2 * erfinv(2p - 1)."""
    return (_t(input)._float_input() * 2 - 1).erfinv() * math.sqrt(2.0)


def expit(input: Tensor) -> Tensor:
    """The logistic sigmoid."""
    return _t(input).sigmoid()


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    return _t(input).logit(eps)


def exp2(input: Tensor) -> Tensor:
    return _t(input).exp2()


def expm1(input: Tensor) -> Tensor:
    return _t(input).expm1()


def log1p(input: Tensor) -> Tensor:
    return _t(input).log1p()


def sinc(input: Tensor) -> Tensor:
    return _t(input).sinc()


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    return _t(input).round(decimals)


def entr(input: Tensor) -> Tensor:
    """-x log(x) for x > 0, 0 at 0, -inf for x < 0."""
    x = _t(input)._float_input()
    pos = x > 0
    safe = where(pos, x, 1.0)
    return where(pos, -safe * safe.log(), where(x == 0, 0.0, -math.inf))


def xlogy(input: Any, other: Any) -> Tensor:
    """x log(y), 0 where x == 0."""
    return _t(input).xlogy(other)


def xlog1py(input: Any, other: Any) -> Tensor:
    """x log1p(y), 0 where x == 0."""
    x = _t(input)._float_input()
    y = x._operand(other)._float_input()
    dt = dtypes.promote(x._data.dtype, y._data.dtype)
    try:
        return Tensor._apply(Xlogy, x._cast(dt), y._cast(dt), log1p=True)
    except ValueError:
        raise broadcast_error(x.shape, y.shape) from None


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    return _t(input).logsumexp(dim, keepdim)


def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return _t(input).softmax(dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return _t(input).log_softmax(dim, dtype=dtype)


def gammainc(input: Tensor, other: Tensor) -> Tensor:
    """Regularised lower incomplete gamma P(a, x) (a = ``input`` > 0, x = ``other`` >= 0), the
    Gamma(a, 1) CDF. Differentiable in x exactly and in a by central differences."""
    a, x = _t(input), _t(other)
    dt = backend.np.promote_types(a._float_input()._data.dtype, x._float_input()._data.dtype)
    return Tensor._apply(Gammainc, a._float_input()._cast(dt), x._float_input()._cast(dt))


def gammaincc(input: Tensor, other: Tensor) -> Tensor:
    """Regularised upper incomplete gamma Q(a, x) = 1 - P(a, x)."""
    return 1 - gammainc(input, other)
