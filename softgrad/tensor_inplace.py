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
from typing import Any, Callable

from softgrad import backend
from softgrad.tensor_math import legacy_alpha
from softgrad.tensor_random import _rng

np = backend.np
_OUT_OF_PLACE = {np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul,
                 np.true_divide: operator.truediv, np.floor_divide: operator.floordiv,
                 np.remainder: operator.mod, np.power: operator.pow}


class InplaceMixin:
    """In-place operators and methods of Tensor; each bumps ``_version``."""

    __slots__ = ()

    def _inplace(self, o: Any, ufunc: Any, name: str) -> Any:
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
        return self

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

    def _rebase(self, name: str, compute: Callable) -> Any:
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
        self._vc = [old._version + 1, False]
        fn = res._ctx
        if fn is not None:
            fn._out = weakref.ref(self)
            if fn._out_version is not None:
                fn._out_version = self._version
        return self

    @staticmethod
    def _is_recording() -> bool:
        from softgrad.autograd import grad_mode

        return grad_mode.state.enabled

    def __iadd__(self, o: Any) -> Any:
        return self._inplace(o, np.add, "add_")

    def __isub__(self, o: Any) -> Any:
        return self._inplace(o, np.subtract, "sub_")

    def __imul__(self, o: Any) -> Any:
        return self._inplace(o, np.multiply, "mul_")

    def __itruediv__(self, o: Any) -> Any:
        return self._inplace(o, np.true_divide, "div_")

    def __ifloordiv__(self, o: Any) -> Any:
        return self._inplace(o, np.floor_divide, "floor_divide_")

    def __imod__(self, o: Any) -> Any:
        return self._inplace(o, np.remainder, "remainder_")

    def __ipow__(self, o: Any) -> Any:
        return self._inplace(o, np.power, "pow_")

    def add_(self, o: Any, alpha: float = 1) -> Any:
        o, alpha = legacy_alpha("add_", o, alpha)
        return self._inplace(o if alpha == 1 else self._operand(o) * alpha, np.add, "add_")

    def sub_(self, o: Any, alpha: float = 1) -> Any:
        o, alpha = legacy_alpha("sub_", o, alpha)
        return self._inplace(o if alpha == 1 else self._operand(o) * alpha, np.subtract, "sub_")

    def mul_(self, o: Any) -> Any:
        return self._inplace(o, np.multiply, "mul_")

    def div_(self, o: Any) -> Any:
        return self._inplace(o, np.true_divide, "div_")

    def pow_(self, o: Any) -> Any:
        return self._inplace(o, np.power, "pow_")

    def zero_(self) -> Any:
        return self.fill_(0)

    def fill_(self, value: Any) -> Any:
        if self._graph_inplace_needed("fill_", value):
            return self._rebase("fill_", lambda old: _take(old, self._operand(value)))
        self._data[...] = value.item() if hasattr(value, "item") else value
        self._version += 1
        return self

    def copy_(self, src: Any) -> Any:
        src = self._operand(src)
        if self._graph_inplace_needed("copy_", src):
            return self._rebase("copy_", lambda old: _take(old, src.to(self.dtype)))
        self._data[...] = backend.to_device(src._data, self.device)
        self._version += 1
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002
        if self._graph_inplace_needed("clamp_", min, max):
            return self._rebase("clamp_", lambda old: old.clamp(min, max))
        backend.xp_of(self._data).clip(self._data, min, max, out=self._data)
        self._version += 1
        return self

    # ------------------------------------------------------------------ random fill
    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator: Any = None) -> Any:
        """Fill with U(from_, to) draws from ``generator`` (default: the seeded global one)."""
        self._check_inplace("uniform_")
        if from_ > to:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                               f"from={from_:g} > to={to:g}")
        g = _rng(generator)
        self._data[...] = backend.to_device(g.uniform(from_, to, self.shape), self.device)
        self._version += 1
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Any:
        """Fill with N(mean, std²) draws from ``generator`` (default: the seeded global one)."""
        self._check_inplace("normal_")
        if not std >= 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        g = _rng(generator)
        self._data[...] = backend.to_device(g.normal(mean, std, self.shape), self.device)
        self._version += 1
        return self


def _take(old: Any, new: Any) -> Any:
    """``new`` broadcast to ``old``'s shape, recorded so that only ``new`` gets gradient."""
    from softgrad.ops.elementwise import Where

    everywhere = old._wrap(backend.xp_of(old._data).ones((), dtype=bool))
    return old._apply(Where, everywhere, new, old)


def _unary_inplace(name: str) -> Any:
    def method(self: Any) -> Any:
        if self._graph_inplace_needed(name + "_"):
            return self._rebase(name + "_", lambda old: getattr(old, name)())
        from softgrad.autograd import grad_mode

        with grad_mode.no_grad():
            out = getattr(self, name)()._data
        try:
            backend.xp_of(self._data).copyto(self._data, out, casting="same_kind")
        except TypeError:
            raise RuntimeError(f"{name}_: result type {out.dtype} can't be cast to the "
                               f"desired output type {self.dtype.name}") from None
        self._version += 1
        return self

    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}`` (only on tensors that need no grad while recording)."
    return method


for _name in ("neg abs exp log log1p expm1 sqrt rsqrt sin cos tanh sigmoid relu sign floor ceil "
              "round trunc reciprocal square").split():
    setattr(InplaceMixin, _name + "_", _unary_inplace(_name))
InplaceMixin.clip_ = InplaceMixin.clamp_
