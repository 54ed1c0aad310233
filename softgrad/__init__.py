"""softgrad: a small, fast deep-learning framework on NumPy with PyTorch's API.

Example:
    >>> import softgrad as sg
    >>> x = sg.randn(4, 3, requires_grad=True)
    >>> (x.softmax(dim=1)[:, 0].sum()).backward()

This file only re-exports: the imports are in module order, and none depends on another's
place here (the layers and the import-graph test are in docs/architecture.md).
"""
import math as _math

from softgrad import (accelerator, amp, autograd, backends, compiler, cuda, datasets, distributed,
                      distributions, jit, linalg, nn, onnx, optim, random, sparse, special,
                      testing, utils)
from softgrad.amp import autocast, is_autocast_enabled
from softgrad.autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                                         set_grad_enabled)
from softgrad.backend import get_num_threads, set_num_threads
from softgrad.backends.flags import (are_deterministic_algorithms_enabled,
                                     get_float32_matmul_precision,
                                     is_deterministic_algorithms_warn_only_enabled,
                                     set_float32_matmul_precision, use_deterministic_algorithms)
from softgrad.compiler import compile
from softgrad.creation import (arange, as_tensor, default_generator, empty, empty_like, eye,
                               from_numpy, full, full_like, Generator, linspace, ones, ones_like,
                               rand, rand_like, randint, randint_like, randn, randn_like, randperm,
                               tensor, zeros, zeros_like)
from softgrad.devices import device, get_default_device, set_default_device
from softgrad.dtype_info import finfo, iinfo
from softgrad.dtypes import (bfloat16, bool, can_cast, double, DType, float, float16, float32,
                             float64, get_default_dtype, half, int, int16, int32, int64, int8,
                             is_complex, is_floating_point, long, promote_types, set_default_dtype,
                             short, uint8)
from softgrad.function_forms import (abs, absolute, acos, acosh, add, addbmm, addcdiv, addcmul,
                                     addmm, addmv, addr, adjoint, all, allclose, amax, amin,
                                     aminmax, angle, any, arccos, arccosh, arcsin, arcsinh, arctan,
                                     arctan2, arctanh, argmax, argmin, argsort, argwhere, asin,
                                     asinh, atan, atan2, atanh, baddbmm, bincount, bitwise_and,
                                     bitwise_left_shift, bitwise_not, bitwise_or,
                                     bitwise_right_shift, bitwise_xor, bmm, ceil, cholesky,
                                     cholesky_inverse, cholesky_solve, chunk, clamp, clamp_max,
                                     clamp_min, clip, clone, conj, conj_physical, copysign,
                                     corrcoef, cos, cosh, count_nonzero, cov, cross, cummax, cummin,
                                     cumprod, cumsum, deg2rad, det, detach, diag, diagonal, diff,
                                     digamma, div, divide, dot, dsplit, eq, equal, erf, erfc,
                                     erfinv, exp, exp2, expm1, fix, flatten, flip, fliplr, flipud,
                                     float_power, floor, floor_divide, fmax, fmin, fmod, frac,
                                     frexp, gather, gcd, gcd_, ge, ger, greater, greater_equal, gt,
                                     hardshrink, heaviside, histc, hsplit, hypot, i0, imag,
                                     index_add, index_copy, index_fill, index_put, index_select,
                                     inner, inverse, is_same_size, isclose, isfinite, isinf, isnan,
                                     isneginf, isposinf, isreal, kron, kthvalue, lcm, lcm_, ldexp,
                                     le, lerp, less, less_equal, lgamma, log, log10, log1p, log2,
                                     log_softmax, logaddexp, logaddexp2, logcumsumexp, logdet,
                                     logical_and, logical_not, logical_or, logical_xor, logit,
                                     logsumexp, lt, masked_fill, masked_scatter, masked_select,
                                     matmul, matrix_exp, matrix_power, max, maximum, mean, median,
                                     min, minimum, mm, mode, moveaxis, movedim, msort, mul,
                                     multiply, mv, mvlgamma, nan_to_num, nanmean, nanmedian,
                                     nanquantile, nansum, narrow, narrow_copy, ne, neg, negative,
                                     nextafter, nonzero, nonzero_static, norm, not_equal, outer,
                                     permute, pinverse, polygamma, positive, pow, prod, qr,
                                     quantile, rad2deg, ravel, real, reciprocal, relu, remainder,
                                     renorm, repeat_interleave, reshape, resolve_conj, resolve_neg,
                                     roll, rot90, round, rsqrt, scatter, scatter_add,
                                     scatter_reduce, select, sgn, sigmoid, sign, signbit, sin, sinc,
                                     sinh, slogdet, smm, softmax, sort, split_with_sizes, sqrt,
                                     square, squeeze, std, sub, subtract, sum, svd, swapaxes,
                                     swapdims, t, take, take_along_dim, tan, tanh, tensor_split,
                                     tensordot, tile, topk, trace, transpose, tril, triu,
                                     true_divide, trunc, unbind, unflatten, unique,
                                     unique_consecutive, unsafe_chunk, unsafe_split,
                                     unsafe_split_with_sizes, unsqueeze, var, vdot, vsplit, xlogy)
from softgrad.functions import (broadcast_to, cat, concat, concatenate, einsum, is_tensor, meshgrid,
                                numel, searchsorted, split, stack, where)
from softgrad.functions_more import (atleast_1d, atleast_2d, atleast_3d, block_diag, bucketize,
                                     cartesian_prod, cdist, chain_matmul, column_stack,
                                     combinations, cumulative_trapezoid, diag_embed, diagflat,
                                     diagonal_scatter, dist, dstack, empty_strided, histogram,
                                     hstack, is_nonzero, result_type, row_stack, select_scatter,
                                     slice_scatter, std_mean, trapezoid, trapz, tril_indices,
                                     triu_indices, unravel_index, vander, var_mean, vstack)
from softgrad.interop import from_dlpack
from softgrad.nn.functional.torch_forms import alpha_dropout, dropout, feature_alpha_dropout
from softgrad.random import get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from softgrad.sampling import bernoulli, multinomial, normal, poisson
from softgrad.serialization import load, save
from softgrad.size import Size
from softgrad.sparse import sparse_coo_tensor, spmm
from softgrad.tensor import Tensor
from softgrad.tensor.compat import (channels_last, channels_last_3d, contiguous_format,
                                    preserve_format, strided)
from softgrad.tensor.legacy_types import (BoolTensor, ByteTensor, CharTensor, DoubleTensor,
                                          FloatTensor, HalfTensor, IntTensor, LongTensor,
                                          ShortTensor)
from softgrad.tensor.printing import set_printoptions
from softgrad.tensor.reduce import MinMaxResult
from softgrad.version import __version__

dtype = DType
inf, nan, pi, e, newaxis = _math.inf, _math.nan, _math.pi, _math.e, None
