"""In-place Tensor operations (``+=``, ``add_``, ``fill_``, ``exp_``, ...), a mixin.

Outside recording (or on tensors that need no grad) they write into the array. While
recording, an in-place op on a non-leaf tensor (or with an operand that needs grad) follows
PyTorch: the tensor takes the result's place in the graph ("rebase"), so ``out += identity``
or ``x.relu_()`` work in a model's forward. A leaf that requires grad refuses, and so does a
tensor that an op already used or whose memory is shared with a view (backward could read
stale values); values that backward needs and that change later are caught by the version
counters.
"""
from __future__ import annotations

import operator
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from softgrad import backend
from softgrad.engine import grad_mode
from softgrad.ops.elementwise import Where
from softgrad.tensor.args import legacy_alpha
from softgrad.tensor.base import TensorBase

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np
_OUT_OF_PLACE = {np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul,
                 np.true_divide: operator.truediv, np.floor_divide: operator.floordiv,
                 np.remainder: operator.mod, np.power: operator.pow}


def _inplace_form(method: str) -> Callable[..., Tensor]:
    """``Tensor.<method>_``: the result of ``method`` written back into self. While a
    gradient is needed, self takes the result's place in the graph (``_rebase``); otherwise
    the values are written into self's array (same-kind casts only)."""
    name = method + "_"

    def inplace(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if self._graph_inplace_needed(name, *args, *kwargs.values()):
            return self._rebase(name, lambda old: getattr(old, method)(*args, **kwargs))
        with grad_mode.no_grad():
            out = getattr(self, method)(*args, **kwargs)._data
        if out.shape != self._data.shape:
            raise RuntimeError(f"{name}: output with shape {tuple(self.shape)} doesn't match "
                               f"the broadcast shape {tuple(out.shape)}")
        try:
            backend.xp_of(self._data).copyto(self._data, out, casting="same_kind")
        except TypeError:
            raise RuntimeError(f"{name}: result type {out.dtype} can't be cast to the desired "
                               f"output type {self.dtype.name}") from None
        self._version += 1
        return self

    inplace.__name__ = inplace.__qualname__ = name
    inplace.__doc__ = f"In-place form of ``Tensor.{method}``."
    return inplace


def _take(old: Tensor, new: Tensor) -> Tensor:
    """``new`` broadcast to ``old``'s shape, recorded so that only ``new`` gets gradient."""
    everywhere = old._wrap(backend.xp_of(old._data).ones((), dtype=bool))
    return old._apply(Where, everywhere, new, old)


def _compare_form(method: str) -> Callable[..., Tensor]:
    """``Tensor.<method>_`` of a comparison: the truth written into self as 1 or 0 in self's
    dtype; in a graph self then gets a zero gradient (as in PyTorch)."""
    name = method + "_"
    written = _inplace_form(method)

    def inplace(self: Tensor, other: Any) -> Tensor:
        if self._graph_inplace_needed(name, other):
            return self._rebase(name, lambda old: _take(old, getattr(old, method)(other)
                                                        .to(old.dtype)))
        return written(self, other)

    inplace.__name__ = inplace.__qualname__ = name
    inplace.__doc__ = f"In-place form of ``Tensor.{method}``."
    return inplace


class InplaceMixin(TensorBase):
    """In-place operators and methods of Tensor; each bumps ``_version``."""

    __slots__ = ()

    # ------------------------------------------------------------------ the machinery
    def _inplace(self, o: Any, ufunc: Any, name: str) -> Tensor:
        o = self._operand(o)
        if self._graph_inplace_needed(name, o):
            return self._rebase(name, lambda old: _OUT_OF_PLACE[ufunc](old, o))
        try:
            ufunc(self._data, o._data, out=self._data, casting="same_kind")
        except ValueError:
            raise RuntimeError(f"{name}: output with shape {tuple(self.shape)} doesn't match "
                               f"the broadcast shape of {tuple(self.shape)} and "
                               f"{tuple(o.shape)}") from None
        except TypeError:
            raise RuntimeError(f"{name}: result type {o.dtype.name} can't be cast to the "
                               f"desired output type {self.dtype.name}") from None
        self._version += 1
        return self  # type: ignore[return-value]  # hot path: no cast() call

    def _check_writable(self) -> None:
        """Refuse to write where several elements share one memory location (``expand``)."""
        if not getattr(self._data.flags, "writeable", True):
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers "
                "to a single memory location. Please clone() the tensor before performing the "
                "operation.")

    def _check_inplace(self, name: str) -> None:
        """Refuse an in-place op that has no recorded form (random fills) while recording."""
        self._check_writable()
        if self.requires_grad and self._is_recording():
            kind = "a leaf Variable that requires grad" if self._ctx is None else \
                "a tensor that is part of the autograd graph"
            raise RuntimeError(f"{name}: {kind} is being used in an in-place operation; "
                               "wrap it in softgrad.no_grad() or use the out-of-place form")

    def _graph_inplace_needed(self, name: str, *operands: Any) -> bool:
        """True when the op must be recorded (rebase); raises where PyTorch would refuse."""
        self._check_writable()
        if not self._is_recording():
            return False
        if self.requires_grad and self._ctx is None:
            self._check_inplace(name)  # a leaf that requires grad
        return self.requires_grad or any(getattr(t, "requires_grad", False) for t in operands)

    def _rebase(self, name: str, compute: Callable) -> Tensor:
        """Record ``self = compute(self)``: self becomes the output of the new node and a
        stand-in keeps its old place (and array) in the graph."""
        if self._used or (self._vc is not None and self._vc[1]):
            why = "an operation already used it" if self._used else \
                "its memory is shared with a view or a detached tensor"
            raise RuntimeError(
                f"{name}: in-place change of a tensor that is part of the autograd graph, but "
                f"{why}, so backward could see the wrong value; use the out-of-place form")
        old = self._wrap(self._data, self.requires_grad)
        old._ctx, old._vc = self._ctx, self._vc
        producer = self._ctx
        if producer is not None and producer._out is not None and producer._out() is self:
            producer._out = weakref.ref(old)
        try:
            res = compute(old)
            if tuple(res.shape) != tuple(self.shape):
                raise RuntimeError(f"{name}: output with shape {tuple(self.shape)} doesn't "
                                   f"match the broadcast shape {tuple(res.shape)}")
            if res.dtype != self.dtype:
                if not np.can_cast(res._data.dtype, self._data.dtype, casting="same_kind"):
                    raise RuntimeError(f"{name}: result type {res.dtype.name} can't be cast to "
                                       f"the desired output type {self.dtype.name}")
                res = res.to(self.dtype)
        except BaseException:
            if producer is not None and producer._out is not None and producer._out() is old:
                producer._out = weakref.ref(self)  # nothing changed: self keeps its place
            raise
        self._data, self._ctx, self.requires_grad = res._data, res._ctx, res.requires_grad
        self._vc = [old._version, False]
        self._version += 1
        fn = res._ctx
        if fn is not None:
            fn._out = weakref.ref(self)
            if fn._out_version is not None:
                fn._out_version = self._version
        return self  # type: ignore[return-value]  # hot path: no cast() call

    @staticmethod
    def _is_recording() -> bool:
        return grad_mode.state.enabled

    # ------------------------------------------------------------------ operators and arithmetic
    def __iadd__(self, o: Any) -> Tensor:
        return self._inplace(o, np.add, "add_")

    def __isub__(self, o: Any) -> Tensor:
        return self._inplace(o, np.subtract, "sub_")

    def __imul__(self, o: Any) -> Tensor:
        return self._inplace(o, np.multiply, "mul_")

    def __itruediv__(self, o: Any) -> Tensor:
        return self._inplace(o, np.true_divide, "div_")

    def __ifloordiv__(self, o: Any) -> Tensor:
        return self._inplace(o, np.floor_divide, "floor_divide_")

    def __imod__(self, o: Any) -> Tensor:
        return self._inplace(o, np.remainder, "remainder_")

    def __ipow__(self, o: Any) -> Tensor:
        return self._inplace(o, np.power, "pow_")

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        o, alpha = legacy_alpha("add_", other, alpha)
        return self._inplace(o if alpha == 1 else self._operand(o) * alpha, np.add, "add_")

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        o, alpha = legacy_alpha("sub_", other, alpha)
        return self._inplace(o if alpha == 1 else self._operand(o) * alpha, np.subtract, "sub_")

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(other, np.multiply, "mul_")

    def div_(self, other: Any) -> Tensor:
        return self._inplace(other, np.true_divide, "div_")

    def pow_(self, exponent: Any) -> Tensor:
        return self._inplace(exponent, np.power, "pow_")

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        if self._graph_inplace_needed("fill_", value):
            return self._rebase("fill_", lambda old: _take(old, self._operand(value)))
        self._data[...] = value.item() if hasattr(value, "item") else value
        self._version += 1
        return cast("Tensor", self)

    def copy_(self, src: Any) -> Tensor:
        src = self._operand(src)
        if self._graph_inplace_needed("copy_", src):
            return self._rebase("copy_", lambda old: _take(old, src.to(self.dtype)))
        self._data[...] = backend.to_device(src._data, self.device)
        self._version += 1
        return cast("Tensor", self)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        if self._graph_inplace_needed("clamp_", min, max):
            return self._rebase("clamp_", lambda old: old.clamp(min, max))
        backend.xp_of(self._data).clip(self._data, min, max, out=self._data)
        self._version += 1
        return cast("Tensor", self)

    # ------------------------------------------------------------------ in-place forms of methods
    # arithmetic
    neg_ = _inplace_form("neg")
    abs_ = _inplace_form("abs")
    square_ = _inplace_form("square")
    reciprocal_ = _inplace_form("reciprocal")
    true_divide_ = _inplace_form("true_divide")
    float_power_ = _inplace_form("float_power")
    clamp_min_ = _inplace_form("clamp_min")
    clamp_max_ = _inplace_form("clamp_max")
    lerp_ = _inplace_form("lerp")
    addcmul_ = _inplace_form("addcmul")
    addcdiv_ = _inplace_form("addcdiv")
    fmax_ = _inplace_form("fmax")
    fmin_ = _inplace_form("fmin")
    # element-wise
    exp_ = _inplace_form("exp")
    log_ = _inplace_form("log")
    log1p_ = _inplace_form("log1p")
    expm1_ = _inplace_form("expm1")
    log2_ = _inplace_form("log2")
    log10_ = _inplace_form("log10")
    exp2_ = _inplace_form("exp2")
    logit_ = _inplace_form("logit")
    xlogy_ = _inplace_form("xlogy")
    sqrt_ = _inplace_form("sqrt")
    rsqrt_ = _inplace_form("rsqrt")
    tanh_ = _inplace_form("tanh")
    sigmoid_ = _inplace_form("sigmoid")
    relu_ = _inplace_form("relu")
    sin_ = _inplace_form("sin")
    cos_ = _inplace_form("cos")
    tan_ = _inplace_form("tan")
    asin_ = _inplace_form("asin")
    acos_ = _inplace_form("acos")
    atan_ = _inplace_form("atan")
    sinh_ = _inplace_form("sinh")
    cosh_ = _inplace_form("cosh")
    asinh_ = _inplace_form("asinh")
    acosh_ = _inplace_form("acosh")
    atanh_ = _inplace_form("atanh")
    arcsin_ = _inplace_form("arcsin")
    arccos_ = _inplace_form("arccos")
    arctan_ = _inplace_form("arctan")
    arcsinh_ = _inplace_form("arcsinh")
    arccosh_ = _inplace_form("arccosh")
    arctanh_ = _inplace_form("arctanh")
    sinc_ = _inplace_form("sinc")
    deg2rad_ = _inplace_form("deg2rad")
    rad2deg_ = _inplace_form("rad2deg")
    atan2_ = _inplace_form("atan2")
    arctan2_ = _inplace_form("arctan2")
    hypot_ = _inplace_form("hypot")
    sign_ = _inplace_form("sign")
    sgn_ = _inplace_form("sgn")
    copysign_ = _inplace_form("copysign")
    floor_ = _inplace_form("floor")
    ceil_ = _inplace_form("ceil")
    trunc_ = _inplace_form("trunc")
    round_ = _inplace_form("round")
    frac_ = _inplace_form("frac")
    fix_ = _inplace_form("fix")
    fmod_ = _inplace_form("fmod")
    ldexp_ = _inplace_form("ldexp")
    nextafter_ = _inplace_form("nextafter")
    heaviside_ = _inplace_form("heaviside")
    nan_to_num_ = _inplace_form("nan_to_num")
    # special functions
    erf_ = _inplace_form("erf")
    erfc_ = _inplace_form("erfc")
    erfinv_ = _inplace_form("erfinv")
    lgamma_ = _inplace_form("lgamma")
    digamma_ = _inplace_form("digamma")
    polygamma_ = _inplace_form("polygamma")
    mvlgamma_ = _inplace_form("mvlgamma")
    # logical and bitwise
    logical_and_ = _inplace_form("logical_and")
    logical_or_ = _inplace_form("logical_or")
    logical_xor_ = _inplace_form("logical_xor")
    logical_not_ = _inplace_form("logical_not")
    bitwise_and_ = _inplace_form("bitwise_and")
    bitwise_or_ = _inplace_form("bitwise_or")
    bitwise_xor_ = _inplace_form("bitwise_xor")
    bitwise_not_ = _inplace_form("bitwise_not")
    bitwise_left_shift_ = _inplace_form("bitwise_left_shift")
    bitwise_right_shift_ = _inplace_form("bitwise_right_shift")
    # reductions and scans
    renorm_ = _inplace_form("renorm")
    cumprod_ = _inplace_form("cumprod")
    # indexing
    index_fill_ = _inplace_form("index_fill")
    index_copy_ = _inplace_form("index_copy")
    index_put_ = _inplace_form("index_put")
    masked_scatter_ = _inplace_form("masked_scatter")
    put_ = _inplace_form("put")
    scatter_ = _inplace_form("scatter")
    scatter_add_ = _inplace_form("scatter_add")
    scatter_reduce_ = _inplace_form("scatter_reduce")
    index_add_ = _inplace_form("index_add")
    # matrices
    addmm_ = _inplace_form("addmm")
    addmv_ = _inplace_form("addmv")
    addr_ = _inplace_form("addr")
    baddbmm_ = _inplace_form("baddbmm")
    addbmm_ = _inplace_form("addbmm")
    tril_ = _inplace_form("tril")
    triu_ = _inplace_form("triu")
    clip_ = clamp_
    # PyTorch's longer names
    absolute_ = _inplace_form("absolute")
    multiply_ = _inplace_form("multiply")
    subtract_ = _inplace_form("subtract")
    divide_ = _inplace_form("divide")
    # comparisons (the truth written as 1 or 0 in self's dtype) and integer math
    eq_ = _compare_form("eq")
    ne_ = not_equal_ = _compare_form("ne")
    lt_ = less_ = _compare_form("lt")
    le_ = less_equal_ = _compare_form("le")
    gt_ = greater_ = _compare_form("gt")
    ge_ = greater_equal_ = _compare_form("ge")
    gcd_ = _inplace_form("gcd")
    lcm_ = _inplace_form("lcm")
