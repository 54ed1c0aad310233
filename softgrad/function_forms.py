"""The ``sg.*`` function forms of the Tensor methods: ``sg.exp(x)`` is ``x.exp()``.

Each form takes the tensor first (``input``; any data is converted to a Tensor), then the
method's own arguments, and ``out=`` (PyTorch's: the result is written into that tensor).
They are grouped here as the methods are in ``softgrad/tensor/``.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from softgrad.functions import _t, write_out
from softgrad.tensor.core import Tensor

P = ParamSpec("P")
R = TypeVar("R")


def function_form(method: Callable[Concatenate[Tensor, P], R],
                  name: str | None = None) -> Callable[Concatenate[Any, P], R]:
    """``sg.<name>(input, *args, out=None, **kwargs)``: ``method`` run on ``input`` (made a
    Tensor), its result written into ``out`` when given. The signature shown is the
    method's, with ``input`` in place of ``self``."""
    name = name or method.__name__

    def form(input: Any, *args: Any, out: Any = None, **kwargs: Any) -> Any:
        result = method(input if input.__class__ is Tensor else _t(input), *args, **kwargs)
        return result if out is None else write_out(out, result)

    form.__name__ = form.__qualname__ = name
    form.__doc__ = f"Function form of ``Tensor.{name}``."
    try:  # show the method's parameters, with ``input`` in place of ``self``
        sig = inspect.signature(method)
        params = list(sig.parameters.values())
        form.__signature__ = sig.replace(parameters=[  # type: ignore[attr-defined]
            params[0].replace(name="input", kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            + params[1:])
    except (ValueError, TypeError, IndexError):
        pass
    return form


# ---------------------------------------------------------------------- arithmetic.py
add = function_form(Tensor.add)
sub = function_form(Tensor.sub)
mul = function_form(Tensor.mul)
div = function_form(Tensor.div)
pow = function_form(Tensor.pow)
matmul = function_form(Tensor.matmul)
neg = function_form(Tensor.neg)
square = function_form(Tensor.square)
reciprocal = function_form(Tensor.reciprocal)
clamp = function_form(Tensor.clamp)
clip = function_form(Tensor.clip, "clip")
maximum = function_form(Tensor.maximum)
minimum = function_form(Tensor.minimum)
remainder = function_form(Tensor.remainder)
floor_divide = function_form(Tensor.floor_divide)
lerp = function_form(Tensor.lerp)
clamp_min = function_form(Tensor.clamp_min)
clamp_max = function_form(Tensor.clamp_max)
float_power = function_form(Tensor.float_power)
fmax = function_form(Tensor.fmax)
fmin = function_form(Tensor.fmin)
positive = function_form(Tensor.positive)
addcmul = function_form(Tensor.addcmul)
addcdiv = function_form(Tensor.addcdiv)
frexp = function_form(Tensor.frexp)
angle = function_form(Tensor.angle)
hardshrink = function_form(Tensor.hardshrink)

# ---------------------------------------------------------------------- elementwise.py
exp = function_form(Tensor.exp)
log = function_form(Tensor.log)
log1p = function_form(Tensor.log1p)
expm1 = function_form(Tensor.expm1)
sqrt = function_form(Tensor.sqrt)
rsqrt = function_form(Tensor.rsqrt)
sin = function_form(Tensor.sin)
cos = function_form(Tensor.cos)
tanh = function_form(Tensor.tanh)
sigmoid = function_form(Tensor.sigmoid)
relu = function_form(Tensor.relu)
abs = function_form(Tensor.abs)
sign = function_form(Tensor.sign)
floor = function_form(Tensor.floor)
ceil = function_form(Tensor.ceil)
round = function_form(Tensor.round)
trunc = function_form(Tensor.trunc)
nan_to_num = function_form(Tensor.nan_to_num)
tan = function_form(Tensor.tan)
asin = function_form(Tensor.asin)
acos = function_form(Tensor.acos)
atan = function_form(Tensor.atan)
sinh = function_form(Tensor.sinh)
cosh = function_form(Tensor.cosh)
asinh = function_form(Tensor.asinh)
acosh = function_form(Tensor.acosh)
atanh = function_form(Tensor.atanh)
arcsin = function_form(Tensor.arcsin, "arcsin")
arccos = function_form(Tensor.arccos, "arccos")
arctan = function_form(Tensor.arctan, "arctan")
arcsinh = function_form(Tensor.arcsinh, "arcsinh")
arccosh = function_form(Tensor.arccosh, "arccosh")
arctanh = function_form(Tensor.arctanh, "arctanh")
arctan2 = function_form(Tensor.arctan2, "arctan2")
sinc = function_form(Tensor.sinc)
deg2rad = function_form(Tensor.deg2rad)
rad2deg = function_form(Tensor.rad2deg)
log2 = function_form(Tensor.log2)
log10 = function_form(Tensor.log10)
exp2 = function_form(Tensor.exp2)
logit = function_form(Tensor.logit)
xlogy = function_form(Tensor.xlogy)
logaddexp = function_form(Tensor.logaddexp)
logaddexp2 = function_form(Tensor.logaddexp2)
atan2 = function_form(Tensor.atan2)
hypot = function_form(Tensor.hypot)
copysign = function_form(Tensor.copysign)
fmod = function_form(Tensor.fmod)
ldexp = function_form(Tensor.ldexp)
nextafter = function_form(Tensor.nextafter)
heaviside = function_form(Tensor.heaviside)
frac = function_form(Tensor.frac)
fix = function_form(Tensor.fix)
sgn = function_form(Tensor.sgn)

# ---------------------------------------------------------------------- special.py
erf = function_form(Tensor.erf)
erfc = function_form(Tensor.erfc)
erfinv = function_form(Tensor.erfinv)
lgamma = function_form(Tensor.lgamma)
digamma = function_form(Tensor.digamma)
mvlgamma = function_form(Tensor.mvlgamma)
i0 = function_form(Tensor.i0)
gcd = function_form(Tensor.gcd)
lcm = function_form(Tensor.lcm)
gcd_ = function_form(Tensor.gcd_)
lcm_ = function_form(Tensor.lcm_)
is_same_size = function_form(Tensor.is_same_size)

# ---------------------------------------------------------------------- compare.py
isnan = function_form(Tensor.isnan)
isfinite = function_form(Tensor.isfinite)
isinf = function_form(Tensor.isinf)
equal = function_form(Tensor.equal)
allclose = function_form(Tensor.allclose)
eq = function_form(Tensor.eq, "eq")
ne = function_form(Tensor.ne, "ne")
lt = function_form(Tensor.lt, "lt")
le = function_form(Tensor.le, "le")
gt = function_form(Tensor.gt, "gt")
ge = function_form(Tensor.ge, "ge")
not_equal = function_form(Tensor.not_equal, "not_equal")
less = function_form(Tensor.less, "less")
less_equal = function_form(Tensor.less_equal, "less_equal")
greater = function_form(Tensor.greater, "greater")
greater_equal = function_form(Tensor.greater_equal, "greater_equal")
isclose = function_form(Tensor.isclose)
signbit = function_form(Tensor.signbit)
isposinf = function_form(Tensor.isposinf)
isneginf = function_form(Tensor.isneginf)
isreal = function_form(Tensor.isreal)
logical_and = function_form(Tensor.logical_and)
logical_or = function_form(Tensor.logical_or)
logical_xor = function_form(Tensor.logical_xor)
logical_not = function_form(Tensor.logical_not)
bitwise_and = function_form(Tensor.bitwise_and)
bitwise_or = function_form(Tensor.bitwise_or)
bitwise_xor = function_form(Tensor.bitwise_xor)
bitwise_not = function_form(Tensor.bitwise_not)
bitwise_left_shift = function_form(Tensor.bitwise_left_shift)
bitwise_right_shift = function_form(Tensor.bitwise_right_shift)

# ---------------------------------------------------------------------- reduce.py
sum = function_form(Tensor.sum)
mean = function_form(Tensor.mean)
prod = function_form(Tensor.prod)
amax = function_form(Tensor.amax)
amin = function_form(Tensor.amin)
max = function_form(Tensor.max)
min = function_form(Tensor.min)
argmax = function_form(Tensor.argmax)
argmin = function_form(Tensor.argmin)
logsumexp = function_form(Tensor.logsumexp)
var = function_form(Tensor.var)
std = function_form(Tensor.std)
norm = function_form(Tensor.norm)
all = function_form(Tensor.all)
any = function_form(Tensor.any)
softmax = function_form(Tensor.softmax)
log_softmax = function_form(Tensor.log_softmax)
count_nonzero = function_form(Tensor.count_nonzero)
nansum = function_form(Tensor.nansum)
nanmean = function_form(Tensor.nanmean)
aminmax = function_form(Tensor.aminmax)
renorm = function_form(Tensor.renorm)
cov = function_form(Tensor.cov)
corrcoef = function_form(Tensor.corrcoef)

# ---------------------------------------------------------------------- cumulative.py
cumsum = function_form(Tensor.cumsum)
cumprod = function_form(Tensor.cumprod)
logcumsumexp = function_form(Tensor.logcumsumexp)
cummax = function_form(Tensor.cummax)
cummin = function_form(Tensor.cummin)
diff = function_form(Tensor.diff)

# ---------------------------------------------------------------------- sort.py
sort = function_form(Tensor.sort)
argsort = function_form(Tensor.argsort)
msort = function_form(Tensor.msort)
topk = function_form(Tensor.topk)
kthvalue = function_form(Tensor.kthvalue)
median = function_form(Tensor.median)
unique = function_form(Tensor.unique)
bincount = function_form(Tensor.bincount)
quantile = function_form(Tensor.quantile)
nanquantile = function_form(Tensor.nanquantile)
mode = function_form(Tensor.mode)
histc = function_form(Tensor.histc)
nanmedian = function_form(Tensor.nanmedian)
unique_consecutive = function_form(Tensor.unique_consecutive)

# ---------------------------------------------------------------------- shape.py
reshape = function_form(Tensor.reshape)
flatten = function_form(Tensor.flatten)
unflatten = function_form(Tensor.unflatten)
squeeze = function_form(Tensor.squeeze)
unsqueeze = function_form(Tensor.unsqueeze)
transpose = function_form(Tensor.transpose)
swapaxes = function_form(Tensor.swapaxes, "swapaxes")
swapdims = function_form(Tensor.swapdims, "swapdims")
permute = function_form(Tensor.permute)
movedim = function_form(Tensor.movedim)
moveaxis = function_form(Tensor.moveaxis, "moveaxis")
t = function_form(Tensor.t)
flip = function_form(Tensor.flip)
roll = function_form(Tensor.roll)
tile = function_form(Tensor.tile)
rot90 = function_form(Tensor.rot90)
fliplr = function_form(Tensor.fliplr)
flipud = function_form(Tensor.flipud)
ravel = function_form(Tensor.ravel)

# ---------------------------------------------------------------------- split.py
narrow = function_form(Tensor.narrow)
chunk = function_form(Tensor.chunk)
unbind = function_form(Tensor.unbind)
tensor_split = function_form(Tensor.tensor_split)
hsplit = function_form(Tensor.hsplit)
vsplit = function_form(Tensor.vsplit)
dsplit = function_form(Tensor.dsplit)
split_with_sizes = function_form(Tensor.split_with_sizes)
narrow_copy = function_form(Tensor.narrow_copy)
unsafe_split = function_form(Tensor.unsafe_split)
unsafe_chunk = function_form(Tensor.unsafe_chunk)
unsafe_split_with_sizes = function_form(Tensor.unsafe_split_with_sizes)

# ---------------------------------------------------------------------- indexing.py
select = function_form(Tensor.select)
masked_fill = function_form(Tensor.masked_fill)
nonzero = function_form(Tensor.nonzero)
argwhere = function_form(Tensor.argwhere)
masked_select = function_form(Tensor.masked_select)
take = function_form(Tensor.take)
index_fill = function_form(Tensor.index_fill)
index_copy = function_form(Tensor.index_copy)
index_put = function_form(Tensor.index_put)
masked_scatter = function_form(Tensor.masked_scatter)
nonzero_static = function_form(Tensor.nonzero_static)

# ---------------------------------------------------------------------- gather.py
gather = function_form(Tensor.gather)
scatter_add = function_form(Tensor.scatter_add)
index_select = function_form(Tensor.index_select)
take_along_dim = function_form(Tensor.take_along_dim)
index_add = function_form(Tensor.index_add)
scatter = function_form(Tensor.scatter)
scatter_reduce = function_form(Tensor.scatter_reduce)
repeat_interleave = function_form(Tensor.repeat_interleave)

# ---------------------------------------------------------------------- matmul.py
mm = function_form(Tensor.mm)
bmm = function_form(Tensor.bmm)
mv = function_form(Tensor.mv)
dot = function_form(Tensor.dot)
outer = function_form(Tensor.outer)
ger = function_form(Tensor.ger, "ger")
addmm = function_form(Tensor.addmm)
kron = function_form(Tensor.kron)
tensordot = function_form(Tensor.tensordot)
addmv = function_form(Tensor.addmv)
addr = function_form(Tensor.addr)
baddbmm = function_form(Tensor.baddbmm)
addbmm = function_form(Tensor.addbmm)
inner = function_form(Tensor.inner)
smm = function_form(Tensor.smm)
vdot = function_form(Tensor.vdot)

# ---------------------------------------------------------------------- linalg.py
diagonal = function_form(Tensor.diagonal)
diag = function_form(Tensor.diag)
triu = function_form(Tensor.triu)
tril = function_form(Tensor.tril)
trace = function_form(Tensor.trace)
det = function_form(Tensor.det)
logdet = function_form(Tensor.logdet)
slogdet = function_form(Tensor.slogdet)
inverse = function_form(Tensor.inverse)
pinverse = function_form(Tensor.pinverse)
matrix_power = function_form(Tensor.matrix_power)
matrix_exp = function_form(Tensor.matrix_exp)
cholesky = function_form(Tensor.cholesky)
cholesky_solve = function_form(Tensor.cholesky_solve)
cholesky_inverse = function_form(Tensor.cholesky_inverse)
qr = function_form(Tensor.qr)
svd = function_form(Tensor.svd)
cross = function_form(Tensor.cross)
adjoint = function_form(Tensor.adjoint)

# ---------------------------------------------------------------------- convert.py
clone = function_form(Tensor.clone)

# ---------------------------------------------------------------------- compat.py
conj = function_form(Tensor.conj)
conj_physical = function_form(Tensor.conj_physical, "conj_physical")
resolve_conj = function_form(Tensor.resolve_conj, "resolve_conj")
resolve_neg = function_form(Tensor.resolve_neg, "resolve_neg")

# ---------------------------------------------------------------------- core.py
detach = function_form(Tensor.detach)

# the names PyTorch gives some of them too
true_divide = divide = div
multiply = mul
subtract = sub
negative = neg
absolute = abs


# ---------------------------------------------------------------------- with arguments of their own
def polygamma(n: int, input: Any) -> Tensor:
    """psi^(n)(input): the n-th derivative of digamma."""
    return _t(input).polygamma(n)


def real(input: Any) -> Tensor:
    """The real part: the tensor itself (softgrad tensors are real)."""
    return _t(input).real


def imag(input: Any) -> Tensor:
    return _t(input).imag
