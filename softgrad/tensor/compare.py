"""Comparisons, tests and logical/bitwise operations of Tensor (a mixin). The results are
bool (or integer) tensors and carry no gradient; while an export trace is being recorded
they run as the ``Compare`` primitive, so that they appear in the trace."""
from __future__ import annotations

import builtins
import math
from typing import TYPE_CHECKING, Any, cast

from softgrad import backend
from softgrad.ops.compare import Compare
from softgrad.tensor.args import broadcast_error
from softgrad.tensor.base import TensorBase

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np


class CompareMixin(TensorBase):
    """Comparisons and logical/bitwise operations of Tensor: bool results, no gradient."""

    __slots__ = ()

    # ------------------------------------------------------------------ comparisons
    def _compare(self, o: Any, op: Any) -> Tensor:
        o = self._operand(o)
        try:
            if self._tracing:  # record it for export (softgrad.onnx)
                return self._traced_compare((self, o), op)
            return type(self)._wrap(op(self._data, o._data))
        except ValueError:
            raise broadcast_error(self.shape, o.shape) from None

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, np.greater_equal)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    # PyTorch's longer names
    not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge

    def is_same_size(self, other: Any) -> bool:
        return tuple(self.shape) == tuple(other.shape)

    def _traced_compare(self, inputs: tuple, op: Any) -> Tensor:
        out = type(self)._apply(Compare, *inputs, op=op)
        out.requires_grad, out._ctx = False, None  # bool results never carry gradient
        return out

    def equal(self, other: Any) -> bool:
        o = self._operand(other)
        return self.shape == o.shape and builtins.bool((self._data == o._data).all())

    def allclose(self, other: Any, rtol: float = 1e-5, atol: float = 1e-8,
                 equal_nan: bool = False) -> bool:
        return builtins.bool(np.allclose(backend.to_numpy(self._data),
                                         backend.to_numpy(self._operand(other)._data), rtol, atol,
                                         equal_nan=equal_nan))

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> Tensor:
        """Element-wise ``|self - other| <= atol + rtol * |other|`` (a bool tensor)."""
        o = self._operand(other)
        xp = backend.xp_of(self._data)
        return type(self)._wrap(xp.asarray(xp.isclose(self._data, o._data, rtol=rtol, atol=atol,
                                                      equal_nan=equal_nan)))

    # ------------------------------------------------------------------ tests
    def isnan(self) -> Tensor:
        return type(self)._wrap(backend.xp_of(self._data).isnan(self._data))

    def isfinite(self) -> Tensor:
        return type(self)._wrap(backend.xp_of(self._data).isfinite(self._data))

    def isinf(self) -> Tensor:
        return type(self)._wrap(backend.xp_of(self._data).isinf(self._data))

    def isposinf(self) -> Tensor:
        return self == math.inf

    def isneginf(self) -> Tensor:
        return self == -math.inf

    def isreal(self) -> Tensor:
        return type(self)._wrap(backend.xp_of(self._data).ones(self.shape, dtype=bool))

    def signbit(self) -> Tensor:
        return type(self)._wrap(backend.xp_of(self._data).signbit(self._data))

    # ------------------------------------------------------------------ logical and bitwise
    def logical_and(self, other: Any) -> Tensor:
        """Truth of self and other (nonzero is true): a bool tensor."""
        return (self != 0) & (self._operand(other) != 0)

    def logical_or(self, other: Any) -> Tensor:
        return (self != 0) | (self._operand(other) != 0)

    def logical_xor(self, other: Any) -> Tensor:
        return (self != 0) ^ (self._operand(other) != 0)

    def logical_not(self) -> Tensor:
        return self == 0

    def __invert__(self) -> Tensor:
        if self._tracing:  # record it for export (softgrad.onnx)
            return self._traced_compare((self,), np.invert)
        return type(self)._wrap(~self._data)

    def __and__(self, o: Any) -> Tensor:
        return self._compare(o, np.bitwise_and)

    def __or__(self, o: Any) -> Tensor:
        return self._compare(o, np.bitwise_or)

    def __xor__(self, o: Any) -> Tensor:
        return self._compare(o, np.bitwise_xor)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def bitwise_and(self, other: Any) -> Tensor:
        return self._integral("bitwise_and") & other

    def bitwise_or(self, other: Any) -> Tensor:
        return self._integral("bitwise_or") | other

    def bitwise_xor(self, other: Any) -> Tensor:
        return self._integral("bitwise_xor") ^ other

    def bitwise_not(self) -> Tensor:
        return ~self._integral("bitwise_not")

    def bitwise_left_shift(self, other: Any) -> Tensor:
        return self._integral("bitwise_left_shift")._compare(other, np.left_shift)

    def bitwise_right_shift(self, other: Any) -> Tensor:
        return self._integral("bitwise_right_shift")._compare(other, np.right_shift)

    __lshift__, __rshift__ = bitwise_left_shift, bitwise_right_shift

    def __rlshift__(self, other: Any) -> Tensor:
        return self._operand(other).bitwise_left_shift(self)

    def __rrshift__(self, other: Any) -> Tensor:
        return self._operand(other).bitwise_right_shift(self)

    def gcd(self, other: Any) -> Tensor:
        """The greatest common divisor, element-wise (integer tensors; non-negative)."""
        return self._integral("gcd")._compare(self._operand(other)._integral("gcd"), np.gcd)

    def lcm(self, other: Any) -> Tensor:
        """The least common multiple, element-wise (integer tensors; non-negative)."""
        return self._integral("lcm")._compare(self._operand(other)._integral("lcm"), np.lcm)

    def _integral(self, name: str) -> Tensor:
        if self._data.dtype.kind not in "iub":
            raise RuntimeError(f"\"{name}_cpu\" not implemented for '{self.dtype.name}': "
                               "bitwise operations need integer or bool tensors")
        return cast("Tensor", self)
