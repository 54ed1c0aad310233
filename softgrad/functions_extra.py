"""More ``sg.*`` functions: the function forms of the element-wise, matrix and statistics
methods added in ``tensor_elementwise``/``tensor_matrix``/``tensor_stats``/``tensor_compat``."""
from __future__ import annotations

from softgrad.functions import _method, _t
from softgrad.tensor import Tensor

_FORMS = (
    # element-wise
    "tan asin acos atan sinh cosh asinh acosh atanh arcsin arccos arctan arcsinh arccosh "
    "arctanh arctan2 sinc deg2rad rad2deg log2 log10 exp2 logit xlogy logaddexp logaddexp2 "
    "float_power erf erfc erfinv lgamma digamma mvlgamma atan2 hypot copysign fmod fmax fmin "
    "ldexp nextafter heaviside frac fix sgn positive signbit isposinf isneginf isreal "
    "logical_and logical_or logical_xor logical_not bitwise_and bitwise_or bitwise_xor "
    "bitwise_not bitwise_left_shift bitwise_right_shift "
    # matrices
    "det logdet slogdet inverse pinverse matrix_power matrix_exp cholesky cholesky_solve "
    "cholesky_inverse qr svd kron cross tensordot addmv addr baddbmm addbmm addcmul addcdiv "
    # statistics
    "nansum nanmean aminmax quantile nanquantile mode cummax cummin diff histc renorm "
    # indexing, splits, rotations
    "take tensor_split hsplit vsplit dsplit rot90 fliplr flipud index_fill index_copy "
    "index_put masked_scatter conj conj_physical resolve_conj resolve_neg"
).split()

__all__ = list(_FORMS) + ["polygamma", "real", "imag"]

for _name in _FORMS:
    globals()[_name] = _method(_name)


def polygamma(n: int, input: Tensor) -> Tensor:  # noqa: A002
    """psi^(n)(input): the n-th derivative of digamma."""
    return _t(input).polygamma(n)


def real(input: Tensor) -> Tensor:  # noqa: A002
    """The real part: the tensor itself (softgrad tensors are real)."""
    return _t(input).real


def imag(input: Tensor) -> Tensor:  # noqa: A002
    return _t(input).imag
