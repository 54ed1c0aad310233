"""Tensor arithmetic, element-wise functions, comparisons and reductions (a mixin)."""
from __future__ import annotations

import builtins
import warnings
from typing import Any

from softgrad import backend, dtypes
from softgrad.ops import elementwise as E
from softgrad.ops.matmul import MatMul

np = backend.np
_NUMBER = (builtins.int, builtins.float, builtins.bool)


def norm_dims(dim: Any, ndim: int, name: str = "dim") -> Any:
    """Normalise a dim argument (None, int or sequence) to None, int or sorted tuple.

    A 0-d tensor accepts dim 0 or -1, which reduces nothing (returned as None).
    """
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        if len(dim) == 0:
            return None
        dims = tuple(sorted(norm_dim(d, ndim) for d in dim))
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"dim {tuple(dim)} appears multiple times in the list of dims")
        return dims if ndim else None
    d = norm_dim(dim, ndim)
    return d if ndim else None


def norm_dim(d: Any, ndim: int) -> int:
    d = builtins.int(d)
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return d % n if ndim else 0


def _reduce_args(dim: Any, keepdim: bool, kwargs: dict) -> tuple:
    """Accept PyTorch's dim/keepdim and NumPy's axis/keepdims spellings."""
    if "axis" in kwargs:
        dim = kwargs.pop("axis")
    if "keepdims" in kwargs:
        keepdim = kwargs.pop("keepdims")
    if kwargs.pop("out", None) is not None:  # np.sum(tensor) passes out=None
        raise TypeError("softgrad reductions do not take out=; use the returned tensor")
    if kwargs:
        raise TypeError(f"unexpected keyword arguments {sorted(kwargs)}")
    return dim, builtins.bool(keepdim)


class MathMixin:
    """Operators and math methods of Tensor."""

    __slots__ = ()

    # ------------------------------------------------------------------ operands
    def _operand(self, other: Any) -> Any:
        """Turn ``other`` into a Tensor of a dtype compatible with self (PyTorch rules)."""
        T = type(self)
        if isinstance(other, MathMixin):
            return other
        if isinstance(other, _NUMBER):
            dt = self._data.dtype
            if dtypes.is_float(dt):
                return T._wrap(backend.xp_of(self._data).asarray(other, dtype=dt))
            if isinstance(other, builtins.float):
                return T._wrap(backend.xp_of(self._data).asarray(other, dtype=backend.DEFAULT_DTYPE))
            if isinstance(other, builtins.bool) and dt.kind == "b":
                return T._wrap(backend.xp_of(self._data).asarray(other))
            return T._wrap(backend.xp_of(self._data).asarray(other, dtype=dt if dt.kind != "b"
                                                            else np.int64))
        from softgrad.tensor import _array_from

        return T._wrap(_array_from(other, None, self.device))

    def _binary(self, other: Any, fn: type, reverse: bool = False) -> Any:
        other = self._operand(other)
        a, b = (other, self) if reverse else (self, other)
        da, db = a._data.dtype, b._data.dtype
        if da != db:
            fa, fb = dtypes.is_float(da), dtypes.is_float(db)
            if fa and not fb:
                b = b._cast(da)
            elif fb and not fa:
                a = a._cast(db)
        try:
            return type(self)._apply(fn, a, b)
        except ValueError:
            raise broadcast_error(a.shape, b.shape) from None

    def __add__(self, o: Any) -> Any:
        return self._binary(o, E.Add)

    def __radd__(self, o: Any) -> Any:
        return self._binary(o, E.Add, True)

    def __sub__(self, o: Any) -> Any:
        return self._binary(o, E.Sub)

    def __rsub__(self, o: Any) -> Any:
        return self._binary(o, E.Sub, True)

    def __mul__(self, o: Any) -> Any:
        return self._binary(o, E.Mul)

    def __rmul__(self, o: Any) -> Any:
        return self._binary(o, E.Mul, True)

    def __truediv__(self, o: Any) -> Any:
        return self._true_div(o, False)

    def __rtruediv__(self, o: Any) -> Any:
        return self._true_div(o, True)

    def _true_div(self, o: Any, reverse: bool) -> Any:
        o = self._operand(o)
        a = self
        if not dtypes.is_float(a._data.dtype) and not dtypes.is_float(o._data.dtype):
            a, o = a._cast(backend.DEFAULT_DTYPE), o._cast(backend.DEFAULT_DTYPE)
        return a._binary(o, E.Div, reverse)

    def __floordiv__(self, o: Any) -> Any:
        return self._binary(o, E.FloorDiv)

    def __rfloordiv__(self, o: Any) -> Any:
        return self._binary(o, E.FloorDiv, True)

    def __mod__(self, o: Any) -> Any:
        return self._binary(o, E.Remainder)

    def __rmod__(self, o: Any) -> Any:
        return self._binary(o, E.Remainder, True)

    def __pow__(self, o: Any) -> Any:
        if isinstance(o, _NUMBER) and not isinstance(o, builtins.bool):
            base = self if dtypes.is_float(self._data.dtype) or isinstance(o, builtins.int) \
                else self._cast(backend.DEFAULT_DTYPE)
            if isinstance(o, builtins.int) and o < 0 and not dtypes.is_float(base._data.dtype):
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            return type(self)._apply(E.PowScalar, base, p=o)
        return self._binary(o, E.Pow)

    def __rpow__(self, o: Any) -> Any:
        if isinstance(o, builtins.int) and self._data.dtype.kind in "iub":
            return type(self)._wrap(backend.xp_of(self._data).asarray(o) ** self._data)
        if isinstance(o, _NUMBER):
            base = self if dtypes.is_float(self._data.dtype) else self._cast(
                backend.DEFAULT_DTYPE)
            return type(self)._apply(E.RPowScalar, base, c=builtins.float(o))
        return self._binary(o, E.Pow, True)

    def __matmul__(self, o: Any) -> Any:
        o = self._operand(o)
        if self.ndim == 0 or o.ndim == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D, got "
                               f"{tuple(self.shape)} and {tuple(o.shape)}")
        k1 = self.shape[-1]
        k2 = o.shape[-2] if o.ndim > 1 else o.shape[0]
        if k1 != k2:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({_mshape(self.shape)} and "
                f"{_mshape(o.shape)}): inner dimensions {k1} and {k2} differ")
        try:
            return self._binary(o, MatMul)
        except RuntimeError:
            raise RuntimeError(
                f"matmul: the batch dimensions of {tuple(self.shape)} and {tuple(o.shape)} "
                f"cannot be broadcast: {tuple(self.shape[:-2])} vs {tuple(o.shape[:-2])}") from None

    def __rmatmul__(self, o: Any) -> Any:
        return self._operand(o).__matmul__(self)

    def __neg__(self) -> Any:
        return type(self)._apply(E.Neg, self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return self.abs()

    def __invert__(self) -> Any:
        if self._tracing:  # record it for export (softgrad.onnx)
            return self._traced_compare((self,), np.invert)
        return type(self)._wrap(~self._data)

    def __and__(self, o: Any) -> Any:
        return self._compare(o, np.bitwise_and)

    def __or__(self, o: Any) -> Any:
        return self._compare(o, np.bitwise_or)

    def __xor__(self, o: Any) -> Any:
        return self._compare(o, np.bitwise_xor)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    # comparisons give bool tensors and are not differentiable
    def _compare(self, o: Any, op: Any) -> Any:
        o = self._operand(o)
        try:
            if self._tracing:  # record it for export (softgrad.onnx)
                return self._traced_compare((self, o), op)
            return type(self)._wrap(op(self._data, o._data))
        except ValueError:
            raise broadcast_error(self.shape, o.shape) from None

    def __eq__(self, o: Any) -> Any:  # type: ignore[override]
        return self._compare(o, np.equal)

    def __ne__(self, o: Any) -> Any:  # type: ignore[override]
        return self._compare(o, np.not_equal)

    def __lt__(self, o: Any) -> Any:
        return self._compare(o, np.less)

    def __le__(self, o: Any) -> Any:
        return self._compare(o, np.less_equal)

    def __gt__(self, o: Any) -> Any:
        return self._compare(o, np.greater)

    def __ge__(self, o: Any) -> Any:
        return self._compare(o, np.greater_equal)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    _tracing = False  # True while an export trace hook is installed (Tensor.set_trace_hook)

    def _traced_compare(self, inputs: tuple, op: Any) -> Any:
        from softgrad.ops.compare import Compare

        out = type(self)._apply(Compare, *inputs, op=op)
        out.requires_grad, out._ctx = False, None  # bool results never carry gradient
        return out

    def equal(self, o: Any) -> bool:
        o = self._operand(o)
        return self.shape == o.shape and builtins.bool((self._data == o._data).all())

    def allclose(self, o: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
        return builtins.bool(np.allclose(backend.to_numpy(self._data),
                                         backend.to_numpy(self._operand(o)._data), rtol, atol))

    def isnan(self) -> Any:
        return type(self)._wrap(backend.xp_of(self._data).isnan(self._data))

    def isfinite(self) -> Any:
        return type(self)._wrap(backend.xp_of(self._data).isfinite(self._data))

    def isinf(self) -> Any:
        return type(self)._wrap(backend.xp_of(self._data).isinf(self._data))

    # ------------------------------------------------------------------ element-wise
    def _float_input(self) -> Any:
        dt = self._data.dtype
        return self if dt.kind == "f" or dtypes.is_float(dt) else self._cast(backend.DEFAULT_DTYPE)

    def _unary(self, fn: type, **params: Any) -> Any:
        return type(self)._apply(fn, self._float_input(), **params)

    def add(self, o: Any, alpha: float = 1) -> Any:
        o, alpha = legacy_alpha("add", o, alpha)
        return self + (o if alpha == 1 else self._operand(o) * alpha)

    def sub(self, o: Any, alpha: float = 1) -> Any:
        o, alpha = legacy_alpha("sub", o, alpha)
        return self - (o if alpha == 1 else self._operand(o) * alpha)

    def mul(self, o: Any) -> Any:
        return self * o

    def div(self, o: Any, rounding_mode: str | None = None) -> Any:
        if rounding_mode is None:
            return self / o
        if rounding_mode == "floor":
            return self // o
        if rounding_mode == "trunc":
            o = self._operand(o)
            if self._data.dtype.kind in "iub" and o._data.dtype.kind in "iub":
                out_dtype = np.result_type(self._data.dtype, o._data.dtype)
                return (self.double() / o).trunc()._cast(out_dtype)
            return (self / o).trunc()
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{rounding_mode}'")

    def floor_divide(self, o: Any) -> Any:
        return self // o

    def remainder(self, o: Any) -> Any:
        return self % o

    def pow(self, o: Any) -> Any:
        return self**o

    def matmul(self, o: Any) -> Any:
        return self @ o

    def neg(self) -> Any:
        return -self

    def exp(self) -> Any:
        return self._unary(E.Exp)

    def log(self) -> Any:
        return self._unary(E.Log)

    def log1p(self) -> Any:
        return self._unary(E.Log1p)

    def expm1(self) -> Any:
        return self._unary(E.Expm1)

    def sqrt(self) -> Any:
        return self._unary(E.Sqrt)

    def rsqrt(self) -> Any:
        return self._unary(E.Rsqrt)

    def sin(self) -> Any:
        return self._unary(E.Sin)

    def cos(self) -> Any:
        return self._unary(E.Cos)

    def tanh(self) -> Any:
        return self._unary(E.Tanh)

    def sigmoid(self) -> Any:
        return self._unary(E.Sigmoid)

    def relu(self) -> Any:
        return type(self)._apply(E.Relu, self)

    def abs(self) -> Any:
        return type(self)._apply(E.Abs, self)

    def square(self) -> Any:
        return self * self

    def reciprocal(self) -> Any:
        return 1.0 / self._float_input()

    def sign(self) -> Any:
        return type(self)._apply(E.ZeroGrad, self, fn="sign")

    def floor(self) -> Any:
        return type(self)._apply(E.ZeroGrad, self, fn="floor")

    def ceil(self) -> Any:
        return type(self)._apply(E.ZeroGrad, self, fn="ceil")

    def trunc(self) -> Any:
        return type(self)._apply(E.ZeroGrad, self, fn="trunc")

    def round(self, decimals: int = 0) -> Any:
        return type(self)._apply(E.ZeroGrad, self, fn="round", decimals=decimals)

    def clamp(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        if isinstance(min, MathMixin) or isinstance(max, MathMixin):
            out = self
            if min is not None:
                out = out.maximum(self._operand(min))
            if max is not None:
                out = out.minimum(self._operand(max))
            return out
        return type(self)._apply(E.Clamp, self, lo=min, hi=max)

    clip = clamp

    def maximum(self, o: Any) -> Any:
        return self._binary(o, E.Maximum)

    def minimum(self, o: Any) -> Any:
        return self._binary(o, E.Minimum)

    def where(self, condition: Any, other: Any) -> Any:
        from softgrad.functions import where

        return where(condition, self, other)



def broadcast_error(*shapes: tuple) -> RuntimeError:
    """PyTorch's message for shapes that do not broadcast, naming every shape."""
    nd = builtins.max(len(s) for s in shapes)
    padded = [(1,) * (nd - len(s)) + tuple(s) for s in shapes]
    names = "abcdefgh"
    for i in range(nd - 1, -1, -1):
        sizes = [(k, p[i]) for k, p in enumerate(padded) if p[i] != 1]
        for k, size in sizes[1:]:
            if size != sizes[0][1]:
                listed = " and ".join(str(tuple(s)) for s in shapes)
                return RuntimeError(
                    f"The size of tensor {names[sizes[0][0]]} ({sizes[0][1]}) must match the "
                    f"size of tensor {names[k]} ({size}) at non-singleton dimension {i}: shapes "
                    f"{listed} cannot be broadcast together")
    return RuntimeError(f"shapes {shapes} cannot be broadcast together")


def _mshape(shape: tuple) -> str:
    return "x".join(str(s) for s in shape)


def legacy_alpha(name: str, other: Any, alpha: Any) -> tuple:
    """PyTorch's deprecated ``add(Number alpha, Tensor other)`` order: swapped, with its
    warning; otherwise ``(other, alpha)`` unchanged."""
    if isinstance(other, (int, float)) and hasattr(alpha, "_ctx"):
        warnings.warn(f"This overload of {name} is deprecated:\n\t{name}(Number alpha, Tensor "
                      f"other)\nConsider using one of the following signatures instead:\n\t"
                      f"{name}(Tensor other, *, Number alpha = 1)", UserWarning, stacklevel=3)
        return alpha, other
    return other, alpha
