"""Tensor reductions: sum, mean, var, prod, max/min, arg-reductions, logsumexp, norm (a mixin)."""
from __future__ import annotations

import builtins
import math
from typing import Any, NamedTuple

from softgrad import backend, dtypes
from softgrad.ops import reduce as R
from softgrad.ops.softmax import LogSoftmax, Softmax
from softgrad.tensor_math import _reduce_args, norm_dim, norm_dims

np = backend.np
_INF = builtins.float("inf")


class MinMaxResult(NamedTuple):
    """``(values, indices)`` returned by ``max``/``min`` with a dim, as in PyTorch."""

    values: Any
    indices: Any


def _axes_size(shape: tuple, axis: Any) -> int:
    """Number of elements folded into one output element by reducing ``axis``."""
    if axis is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in ((axis,) if isinstance(axis, builtins.int) else axis))


class ReduceMixin:
    """Reductions of Tensor. ``dim`` is None (all), an int, or a tuple of ints."""

    __slots__ = ()

    def _reduce(self, fn: type, dim: Any, keepdim: bool, kwargs: dict, dtype: Any = None) -> Any:
        dim, keepdim = _reduce_args(dim, keepdim, kwargs)
        x = self if dtype is None else self.to(dtype)
        return type(self)._apply(fn, x, axis=norm_dims(dim, self.ndim), keepdims=keepdim)

    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None, **kw: Any) -> Any:
        """Sum over ``dim`` (all dims when None); integer and bool inputs sum to int64."""
        x = self if dtypes.is_differentiable(self._data.dtype) or dtype is not None else self.long()
        return x._reduce(R.Sum, dim, keepdim, kw, dtype)

    def mean(self, dim: Any = None, keepdim: bool = False, dtype: Any = None, **kw: Any) -> Any:
        """Arithmetic mean over ``dim`` (floating inputs only, as in PyTorch)."""
        if not dtypes.is_differentiable(self._data.dtype) and dtype is None:
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {self.dtype.name.capitalize()}")
        return self._reduce(R.Mean, dim, keepdim, kw, dtype)

    def prod(self, dim: Any = None, keepdim: bool = False, dtype: Any = None, **kw: Any) -> Any:
        """Product over ``dim``; the gradient is exact also where inputs are zero."""
        x = self if dtypes.is_differentiable(self._data.dtype) or dtype is not None else self.long()
        return x._reduce(R.Prod, dim, keepdim, kw, dtype)

    def amax(self, dim: Any = (), keepdim: bool = False, **kw: Any) -> Any:
        """Maximum over ``dim`` (all when empty); ties share the gradient evenly."""
        return self._amax(dim, keepdim, kw, "max")

    def amin(self, dim: Any = (), keepdim: bool = False, **kw: Any) -> Any:
        """Minimum over ``dim`` (all when empty); ties share the gradient evenly."""
        return self._amax(dim, keepdim, kw, "min")

    def _amax(self, dim: Any, keepdim: bool, kw: dict, mode: str) -> Any:
        dim, keepdim = _reduce_args(dim, keepdim, kw)
        axis = norm_dims(dim, self.ndim)
        if self._data.size == 0 and _axes_size(self.shape, axis) == 0:
            raise RuntimeError(f"a{mode}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0 (input shape {tuple(self.shape)})")
        return type(self)._apply(R.Amax, self, axis=axis, keepdims=keepdim, mode=mode)

    def _max_min(self, dim: Any, keepdim: bool, kw: dict, mode: str) -> Any:
        dim, keepdim = _reduce_args(dim, keepdim, kw)
        if isinstance(dim, ReduceMixin):  # torch.max(a, b) form
            return self.maximum(dim) if mode == "max" else self.minimum(dim)
        if dim is None:
            if self._data.size == 0:
                raise RuntimeError(f"{mode}(): Expected reduction dim to be specified for "
                                   "input.numel() == 0.")
            return type(self)._apply(R.Amax, self, axis=None, keepdims=False, mode=mode)
        axis = norm_dim(dim, self.ndim)
        if self.ndim and self.shape[axis] == 0:
            raise IndexError(f"{mode}(): Expected reduction dim {axis} to have non-zero size "
                             f"(input shape {tuple(self.shape)})")
        xp = backend.xp_of(self._data)
        arg = xp.argmax if mode == "max" else xp.argmin
        if self.ndim == 0:
            index = xp.zeros((), dtype=np.int64)
            return MinMaxResult(self, type(self)._wrap(index))
        index = xp.expand_dims(arg(self._data, axis=axis), axis)
        values = type(self)._apply(R.MaxDim, self, index=index, axis=axis, keepdims=keepdim)
        if not keepdim:
            index = xp.squeeze(index, axis)
        return MinMaxResult(values, type(self)._wrap(index.astype(np.int64, copy=False)))

    def max(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:
        """Maximum of all elements, or ``(values, indices)`` along ``dim``."""
        return self._max_min(dim, keepdim, kw, "max")

    def min(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:
        """Minimum of all elements, or ``(values, indices)`` along ``dim``."""
        return self._max_min(dim, keepdim, kw, "min")

    def argmax(self, dim: Any = None, keepdim: bool = False) -> Any:
        """Index of the maximum (of the flattened tensor when ``dim`` is None), int64."""
        return self._arg(dim, keepdim, "argmax")

    def argmin(self, dim: Any = None, keepdim: bool = False) -> Any:
        """Index of the minimum (of the flattened tensor when ``dim`` is None), int64."""
        return self._arg(dim, keepdim, "argmin")

    def _arg(self, dim: Any, keepdim: bool, name: str) -> Any:
        xp = backend.xp_of(self._data)
        if self._data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0.")
        if dim is None:
            out = xp.asarray(getattr(xp, name)(self._data), dtype=np.int64)
            return type(self)._wrap(out.reshape((1,) * self.ndim) if keepdim else out)
        axis = norm_dim(dim, self.ndim)
        if self.ndim == 0:
            return type(self)._wrap(xp.zeros((), dtype=np.int64))
        out = getattr(xp, name)(self._data, axis=axis)
        if keepdim:
            out = xp.expand_dims(out, axis)
        return type(self)._wrap(xp.asarray(out, dtype=np.int64))

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Any:
        """log(sum(exp(x))) over ``dim``, computed stably (max subtracted)."""
        return type(self)._apply(R.LogSumExp, self._float_input(),
                                 axis=norm_dims(dim, self.ndim), keepdims=keepdim)

    def softmax(self, dim: int, dtype: Any = None) -> Any:
        """exp(x) / exp(x).sum(dim), shifted by the max along ``dim``."""
        return self._softmax(Softmax, dim, dtype)

    def log_softmax(self, dim: int, dtype: Any = None) -> Any:
        """x - logsumexp(x, dim), computed without forming softmax."""
        return self._softmax(LogSoftmax, dim, dtype)

    def _softmax(self, fn: type, dim: int, dtype: Any) -> Any:
        x = self._float_input() if dtype is None else self.to(dtype)
        if x.ndim == 0:
            return x.reshape(1)._softmax(fn, 0, None).reshape(())
        return type(self)._apply(fn, x, axis=norm_dim(dim, x.ndim))

    def var(self, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
            correction: Any = None, **kw: Any) -> Any:
        """Variance over ``dim`` with Bessel's correction by default (``correction=1``)."""
        dim, keepdim = _reduce_args(dim, keepdim, kw)
        if not dtypes.is_differentiable(self._data.dtype):
            raise RuntimeError(f"std and var only support floating point and complex dtypes, "
                               f"got {self.dtype.name}")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        axis = norm_dims(dim, self.ndim)
        n = _axes_size(self.shape, axis)
        centered = self - self.mean(dim=axis, keepdim=True)
        return (centered * centered).sum(dim=axis, keepdim=keepdim) / builtins.max(
            n - correction, 0)

    def std(self, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
            correction: Any = None, **kw: Any) -> Any:
        """Standard deviation: ``sqrt(var(...))`` with the same arguments.

        Where the deviation is 0 its gradient is 0 (as PyTorch), not the inf * 0 of sqrt.
        """
        v = self.var(dim, unbiased, keepdim, correction=correction, **kw)
        if not (v._data == 0).any():
            return v.sqrt()
        from softgrad.functions import where

        positive = v > 0
        return where(positive, where(positive, v, 1).sqrt(), 0)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Any:
        """Vector p-norm over ``dim`` (all elements when None): 'fro'/2, 1, inf, -inf, 0, p."""
        axis = norm_dims(dim, self.ndim)
        x = self._float_input()
        if p in ("fro", 2, 2.0):
            return type(self)._apply(R.Norm2, x, axis=axis, keepdims=keepdim)
        if p in (_INF, "inf"):
            return x.abs().amax(dim=axis if axis is not None else (), keepdim=keepdim)
        if p in (-_INF, "-inf"):
            return x.abs().amin(dim=axis if axis is not None else (), keepdim=keepdim)
        if p == 0:
            return x.abs().sign().sum(dim=axis, keepdim=keepdim)  # count of nonzeros, grad 0
        if p == 1:
            return x.abs().sum(dim=axis, keepdim=keepdim)
        return (x.abs() ** p).sum(dim=axis, keepdim=keepdim) ** (1.0 / p)

    def cumsum(self, dim: int, dtype: Any = None) -> Any:
        """Cumulative sum along ``dim``; integer and bool inputs give int64."""
        x = self if dtype is None else self.to(dtype)
        if not dtypes.is_differentiable(x._data.dtype) and dtype is None:
            x = x.long()
        return type(self)._apply(R.Cumsum, x, axis=norm_dim(dim, self.ndim))

    def all(self, dim: Any = None, keepdim: bool = False) -> Any:
        """True where every element over ``dim`` is nonzero (a bool tensor)."""
        return type(self)._wrap(backend.xp_of(self._data).asarray(
            self._data.all(axis=norm_dims(dim, self.ndim), keepdims=keepdim)))

    def any(self, dim: Any = None, keepdim: bool = False) -> Any:
        """True where some element over ``dim`` is nonzero (a bool tensor)."""
        return type(self)._wrap(backend.xp_of(self._data).asarray(
            self._data.any(axis=norm_dims(dim, self.ndim), keepdims=keepdim)))
