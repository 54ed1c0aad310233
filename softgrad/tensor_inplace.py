"""In-place Tensor operations (``+=``, ``add_``, ``fill_``, ...): only on tensors that need no
grad while recording, since they would invalidate the saved values of a graph (a mixin)."""
from __future__ import annotations

from typing import Any

from softgrad import backend

np = backend.np


class InplaceMixin:
    """In-place operators and methods of Tensor; each bumps ``_version``."""

    __slots__ = ()

    def _inplace(self, o: Any, ufunc: Any, name: str) -> Any:
        self._check_inplace(name)
        o = self._operand(o)
        try:
            ufunc(self.data, o.data, out=self.data, casting="same_kind")
        except ValueError:
            raise RuntimeError(f"{name}: output with shape {tuple(self.shape)} doesn't match "
                               f"the broadcast shape of {tuple(self.shape)} and "
                               f"{tuple(o.shape)}") from None
        except TypeError:
            raise RuntimeError(f"{name}: result type {o.dtype.name} can't be cast to the "
                               f"desired output type {self.dtype.name}") from None
        self._version += 1
        return self

    def _check_inplace(self, name: str) -> None:
        if self.requires_grad and self._is_recording():
            kind = "a leaf Variable that requires grad" if self._ctx is None else \
                "a tensor that is part of the autograd graph"
            raise RuntimeError(f"{name}: {kind} is being used in an in-place operation; "
                               "wrap it in softgrad.no_grad() or use the out-of-place form")

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
        return self._inplace(o if alpha == 1 else self._operand(o) * alpha, np.add, "add_")

    def sub_(self, o: Any, alpha: float = 1) -> Any:
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
        self._check_inplace("fill_")
        self.data[...] = value.item() if hasattr(value, "item") else value
        self._version += 1
        return self

    def copy_(self, src: Any) -> Any:
        self._check_inplace("copy_")
        src = self._operand(src)
        self.data[...] = backend.to_device(src.data, self.device)
        self._version += 1
        return self

    def clamp_(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002
        self._check_inplace("clamp_")
        backend.xp_of(self.data).clip(self.data, min, max, out=self.data)
        self._version += 1
        return self

    # ------------------------------------------------------------------ random fill
    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator: Any = None) -> Any:
        """Fill with U(from_, to) draws from ``generator`` (default: the seeded global one)."""
        self._check_inplace("uniform_")
        g = _rng(generator)
        self.data[...] = backend.to_device(g.uniform(from_, to, self.shape), self.device)
        self._version += 1
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Any:
        """Fill with N(mean, std²) draws from ``generator`` (default: the seeded global one)."""
        self._check_inplace("normal_")
        g = _rng(generator)
        self.data[...] = backend.to_device(g.normal(mean, std, self.shape), self.device)
        self._version += 1
        return self


def _rng(generator: Any) -> Any:
    if generator is None:
        return backend.generator()
    return getattr(generator, "rng", generator)


def _unary_inplace(name: str) -> Any:
    def method(self: Any) -> Any:
        self._check_inplace(name + "_")
        from softgrad.autograd import grad_mode

        with grad_mode.no_grad():
            out = getattr(self, name)().data
        try:
            backend.xp_of(self.data).copyto(self.data, out, casting="same_kind")
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
