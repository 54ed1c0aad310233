"""Matrix helpers and small element-wise extras of Tensor (a mixin): mm, bmm, mv, addmm,
outer, diag, diagonal, triu/tril, trace, cumprod, logcumsumexp, lerp, nan_to_num,
clamp_min/clamp_max, isclose, type_as, is_contiguous.
"""
from __future__ import annotations

import builtins
from typing import Any

from softgrad import backend
from softgrad.ops import select as Sel
from softgrad.tensor_math import norm_dim

np = backend.np


def _where(cond: Any, a: Any, b: Any) -> Any:
    from softgrad.functions import where

    return where(cond, a, b)


class LinalgMixin:
    """Matrix products, diagonals, triangles and element-wise extras."""

    __slots__ = ()

    # ------------------------------------------------------------------ products
    def mm(self, mat2: Any) -> Any:
        """(n, m) @ (m, p) -> (n, p)."""
        mat2 = self._operand(mat2)
        if self.ndim != 2 or mat2.ndim != 2:
            raise RuntimeError(f"mm(): both arguments must be 2-D, got {tuple(self.shape)} and "
                               f"{tuple(mat2.shape)}")
        return self @ mat2

    def bmm(self, mat2: Any) -> Any:
        """(b, n, m) @ (b, m, p) -> (b, n, p)."""
        mat2 = self._operand(mat2)
        if self.ndim != 3 or mat2.ndim != 3 or self.shape[0] != mat2.shape[0]:
            raise RuntimeError(f"bmm(): expected two 3-D tensors with the same batch size, got "
                               f"{tuple(self.shape)} and {tuple(mat2.shape)}")
        return self @ mat2

    def mv(self, vec: Any) -> Any:
        """(n, m) @ (m,) -> (n,)."""
        vec = self._operand(vec)
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"mv(): expected a 2-D matrix and a 1-D vector, got "
                               f"{tuple(self.shape)} and {tuple(vec.shape)}")
        return self @ vec

    def dot(self, tensor: Any) -> Any:
        """Inner product of two 1-D tensors."""
        tensor = self._operand(tensor)
        if self.ndim != 1 or tensor.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and "
                               f"{tensor.ndim}D tensors")
        return self @ tensor

    def outer(self, vec2: Any) -> Any:
        """(n,) x (m,) -> (n, m)."""
        vec2 = self._operand(vec2)
        if self.ndim != 1 or vec2.ndim != 1:
            raise RuntimeError(f"outer(): expected two 1-D tensors, got {tuple(self.shape)} and "
                               f"{tuple(vec2.shape)}")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    def addmm(self, mat1: Any, mat2: Any, *, beta: Any = 1, alpha: Any = 1) -> Any:
        """``beta * self + alpha * (mat1 @ mat2)``; self broadcasts to (n, p)."""
        prod = self._operand(mat1).mm(self._operand(mat2))
        if alpha != 1:
            prod = prod * alpha
        if beta == 0:  # as PyTorch: self is ignored (NaN in it does not propagate)
            return prod
        return prod + (self if beta == 1 else self * beta)

    # ------------------------------------------------------------------ diagonals, triangles
    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Any:
        """The diagonal of dims (dim1, dim2), moved to the last dim."""
        if self.ndim < 2:
            raise RuntimeError(f"diagonal(): expected a tensor with at least 2 dims, got shape "
                               f"{tuple(self.shape)}")
        a, b = norm_dim(dim1, self.ndim), norm_dim(dim2, self.ndim)
        if a == b:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        rest = [i for i in range(self.ndim) if i not in (a, b)]
        x = self.permute(*rest, a, b)
        n, m = x.shape[-2], x.shape[-1]
        length = builtins.max(0, builtins.min(n + builtins.min(offset, 0),
                                              m - builtins.max(offset, 0)))
        xp = backend.xp_of(self._data)
        rows = xp.arange(length) + builtins.max(-offset, 0)
        cols = xp.arange(length) + builtins.max(offset, 0)
        return type(self)._apply(Sel.GetitemUnique, x, index=(Ellipsis, rows, cols))

    def diag(self, diagonal: int = 0) -> Any:
        """1-D -> a square matrix with it on the ``diagonal``; 2-D -> that diagonal (1-D)."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise RuntimeError(f"diag(): supports 1D or 2D tensors, got shape "
                               f"{tuple(self.shape)}")
        from softgrad.functions import index_add_zeros

        n = self.shape[0] + builtins.abs(diagonal)
        xp = backend.xp_of(self._data)
        k = xp.arange(self.shape[0])
        index = (k + builtins.max(-diagonal, 0), k + builtins.max(diagonal, 0))
        return index_add_zeros(self, (n, n), index)

    def _triangle(self, diagonal: int, upper: bool, name: str) -> Any:
        if self.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions, got "
                               f"shape {tuple(self.shape)}")
        n, m = self.shape[-2:]
        xp = backend.xp_of(self._data)
        ones = xp.ones((n, m), dtype=bool)
        mask = xp.triu(ones, diagonal) if upper else xp.tril(ones, diagonal)
        return _where(type(self)._wrap(mask), self, 0)

    def triu(self, diagonal: int = 0) -> Any:
        """Upper triangle of the last two dims (elements below ``diagonal`` set to 0)."""
        return self._triangle(diagonal, True, "triu")

    def tril(self, diagonal: int = 0) -> Any:
        """Lower triangle of the last two dims (elements above ``diagonal`` set to 0)."""
        return self._triangle(diagonal, False, "tril")

    def trace(self) -> Any:
        """Sum of the main diagonal of a 2-D tensor."""
        if self.ndim != 2:
            raise RuntimeError(f"trace(): expected a matrix, got shape {tuple(self.shape)}")
        return self.diagonal().sum()

    # ------------------------------------------------------------------ cumulative
    def cumprod(self, dim: int, *, dtype: Any = None) -> Any:
        """Cumulative product along ``dim``; integer and bool inputs give int64."""
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind not in "fc" and dtype is None:
            x = x.long()
        if x.ndim == 0:
            return x.clone()
        return type(self)._apply(Sel.Cumprod, x, axis=norm_dim(dim, self.ndim))

    def logcumsumexp(self, dim: int) -> Any:
        """log(cumsum(exp(x))) along ``dim``, shifted by the (detached) maximum."""
        x = self._float_input()
        if x.ndim == 0:
            return x.clone()
        d = norm_dim(dim, x.ndim)
        m = x.detach().amax(d, keepdim=True)
        m = _where(m.isfinite(), m, 0)
        return (x - m).exp().cumsum(d).log() + m

    # ------------------------------------------------------------------ element-wise extras
    def lerp(self, end: Any, weight: Any) -> Any:
        """``self + weight * (end - self)``."""
        end = self._operand(end)
        return self + self._operand(weight) * (end - self)

    def clamp_min(self, min: Any) -> Any:  # noqa: A002
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> Any:  # noqa: A002
        return self.clamp(max=max)

    def nan_to_num(self, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Any:
        """NaN -> ``nan``, +inf -> ``posinf`` (dtype max), -inf -> ``neginf`` (dtype min).

        The gradient passes where the input was finite and is 0 where it was replaced.
        """
        if self._data.dtype.kind != "f":
            return self.clone()
        info = np.finfo(self._data.dtype)
        hi = info.max if posinf is None else posinf
        lo = info.min if neginf is None else neginf
        xp = backend.xp_of(self._data)
        d = self._data
        if xp.isfinite(d).all():
            return self.clone()
        inf = xp.isinf(d)
        out = _where(type(self)._wrap(xp.isnan(d)), nan, self)
        out = _where(type(self)._wrap(inf & (d > 0)), hi, out)
        return _where(type(self)._wrap(inf & (d < 0)), lo, out)

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> Any:
        """Element-wise ``|self - other| <= atol + rtol * |other|`` (a bool tensor)."""
        o = self._operand(other)
        xp = backend.xp_of(self._data)
        return type(self)._wrap(xp.asarray(xp.isclose(self._data, o._data, rtol=rtol, atol=atol,
                                                      equal_nan=equal_nan)))

    def type_as(self, tensor: Any) -> Any:
        """This tensor cast to ``tensor``'s dtype."""
        return self.to(tensor.dtype)

    def is_contiguous(self, memory_format: Any = None) -> bool:
        """Whether the data is laid out row-major without gaps."""
        return builtins.bool(self._data.flags.c_contiguous)

    def contiguous(self, memory_format: Any = None) -> Any:
        """Self if row-major already, else a row-major copy that stays in the graph."""
        if self._data.flags.c_contiguous:
            return self
        return type(self)._apply(Sel.Contiguous, self)


def _inplace_form(method: str) -> Any:
    """``Tensor.<method>_``: the out-of-place result written back into self (recorded in the
    graph where needed, like the other in-place methods)."""
    name = method + "_"

    def inplace(self: Any, *args: Any, **kwargs: Any) -> Any:
        operands = list(args) + list(kwargs.values())
        if self._graph_inplace_needed(name, *operands):
            return self._rebase(name, lambda old: getattr(old, method)(*args, **kwargs))
        res = getattr(self, method)(*args, **kwargs)
        if tuple(res.shape) != tuple(self.shape):
            raise RuntimeError(f"{name}: output with shape {tuple(self.shape)} doesn't match "
                               f"the result shape {tuple(res.shape)}")
        if res._data.dtype != self._data.dtype and not np.can_cast(
                res._data.dtype, self._data.dtype, casting="same_kind"):
            raise RuntimeError(f"{name}: result type {res.dtype.name} can't be cast to the "
                               f"desired output type {self.dtype.name}")
        self._data[...] = res._data
        self._version += 1
        return self

    inplace.__name__ = inplace.__qualname__ = name
    inplace.__doc__ = f"In-place form of ``Tensor.{method}``."
    return inplace


for _m in ("scatter", "scatter_reduce", "index_add", "clamp_min", "clamp_max", "tril", "triu",
           "lerp", "nan_to_num", "cumprod"):
    setattr(LinalgMixin, _m + "_", _inplace_form(_m))
