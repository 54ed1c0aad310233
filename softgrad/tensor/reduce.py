"""Reductions of Tensor (a mixin): sums and means (also nan-aware), variance, norms,
extremes and their indices, logsumexp and softmax, all/any."""
from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from softgrad import backend, dtypes
from softgrad.ops import reduce as R
from softgrad.ops.softmax import LogSoftmax, Softmax
from softgrad.tensor.args import axes_size, norm_dim, norm_dims, reduce_args
from softgrad.tensor.base import TensorBase
from softgrad.tensor.indexing import where

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np
_INF = builtins.float("inf")


class MinMaxResult(NamedTuple):
    """``(values, indices)`` returned by ``max``/``min`` with a dim, as in PyTorch."""

    values: Tensor
    indices: Tensor


class MinMax(NamedTuple):
    """``(min, max)`` returned by ``aminmax``."""

    min: Tensor
    max: Tensor


def _nan_to_zero(t: Tensor) -> Tensor:
    return where(t.isnan(), 0.0, t) if t._data.dtype.kind == "f" else t


class ReduceMixin(TensorBase):
    """Reductions of Tensor. ``dim`` is None (all), an int, or a tuple of ints."""

    __slots__ = ()

    # ------------------------------------------------------------------ sums and means
    def _reduce(self, fn: type, dim: Any, keepdim: bool, kwargs: dict, dtype: Any = None) -> Tensor:
        dim, keepdim = reduce_args(dim, keepdim, kwargs)
        x = self if dtype is None else self.to(dtype)
        return type(self)._apply(fn, x, axis=norm_dims(dim, self._data.ndim), keepdims=keepdim)

    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None, **kw: Any) -> Tensor:
        """Sum over ``dim`` (all dims when None); integer and bool inputs sum to int64."""
        x = self if dtypes.is_differentiable(self._data.dtype) or dtype is not None else self.long()
        return x._reduce(R.Sum, dim, keepdim, kw, dtype)

    def mean(self, dim: Any = None, keepdim: bool = False, dtype: Any = None, **kw: Any) -> Tensor:
        """Arithmetic mean over ``dim`` (floating inputs only, as in PyTorch)."""
        if not dtypes.is_differentiable(self._data.dtype) and dtype is None:
            raise RuntimeError(
                f"mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {self.dtype.name.capitalize()}")
        return self._reduce(R.Mean, dim, keepdim, kw, dtype)

    def prod(self, dim: Any = None, keepdim: bool = False, dtype: Any = None, **kw: Any) -> Tensor:
        """Product over ``dim``; the gradient is exact also where inputs are zero."""
        x = self if dtypes.is_differentiable(self._data.dtype) or dtype is not None else self.long()
        return x._reduce(R.Prod, dim, keepdim, kw, dtype)

    def nansum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The sum, treating nan as zero."""
        x = cast("Tensor", self) if dtype is None else self.to(dtype)
        return _nan_to_zero(x).sum(dim, keepdim)

    def nanmean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The mean of the non-nan elements (nan where all are nan)."""
        x = cast("Tensor", self) if dtype is None else self.to(dtype)
        if x._data.dtype.kind != "f":
            raise RuntimeError(f"nanmean(): expected input to have floating point or complex "
                               f"dtype but got {x.dtype.name.capitalize()}")
        count = (~x.isnan()).sum(dim, keepdim)
        return _nan_to_zero(x).sum(dim, keepdim) / count

    def var(self, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
            correction: Any = None, **kw: Any) -> Tensor:
        """Variance over ``dim`` with Bessel's correction by default (``correction=1``)."""
        dim, keepdim = reduce_args(dim, keepdim, kw)
        if not dtypes.is_differentiable(self._data.dtype):
            raise RuntimeError(f"std and var only support floating point and complex dtypes, "
                               f"got {self.dtype.name}")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        axis = norm_dims(dim, self.ndim)
        n = axes_size(self.shape, axis)
        centered = self - self.mean(dim=axis, keepdim=True)
        return (centered * centered).sum(dim=axis, keepdim=keepdim) / builtins.max(
            n - correction, 0)

    def std(self, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
            correction: Any = None, **kw: Any) -> Tensor:
        """Standard deviation: ``sqrt(var(...))`` with the same arguments.

        Where the deviation is 0 its gradient is 0 (as PyTorch), not the inf * 0 of sqrt.
        """
        v = self.var(dim, unbiased, keepdim, correction=correction, **kw)
        if not (v._data == 0).any():
            return v.sqrt()
        positive = v > 0
        return where(positive, where(positive, v, 1).sqrt(), 0)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
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

    def dist(self, other: Any, p: float = 2) -> Tensor:
        """The p-norm of self - other (broadcast): 0-d."""
        return (self - other).norm(p)

    def cov(self, *, correction: int = 1, fweights: Any = None, aweights: Any = None) -> Tensor:
        """The covariance matrix of the variables in the rows of self (observations in the
        columns): (V, N) -> (V, V), or (N,) -> 0-d; optional integer frequency weights and
        float observation weights (N,), as in PyTorch and NumPy."""
        if self.ndim > 2:
            raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but "
                               f"got an input with {self.ndim} dimensions")
        x = self._float_input()
        x = x.reshape(1, -1) if x.ndim < 2 else x
        n = x.shape[1]
        w = None
        if fweights is not None:
            f = self._operand(fweights)
            if f._data.dtype.kind not in "iu":
                raise RuntimeError("cov(): expected fweights to have integral dtype")
            if f.ndim > 1 or f.numel() != n:
                raise RuntimeError(f"cov(): expected fweights to have one dimension with "
                                   f"{n} elements")
            if f.numel() and builtins.bool((f._data < 0).any()):
                raise RuntimeError("cov(): fweights cannot be negative")
            w = f.to(x.dtype)
        if aweights is not None:
            a = self._operand(aweights)
            if a._data.dtype.kind != "f":
                raise RuntimeError("cov(): expected aweights to have floating point dtype")
            if a.ndim > 1 or a.numel() != n:
                raise RuntimeError(f"cov(): expected aweights to have one dimension with "
                                   f"{n} elements")
            if a.numel() and builtins.bool((a._data < 0).any()):
                raise RuntimeError("cov(): aweights cannot be negative")
            a = a.to(x.dtype)
            w = a if w is None else w * a
        if w is None:
            mean = x.mean(1, keepdim=True)
            norm_factor = x.new_tensor(n - correction)
            centered = x - mean
            out = (centered @ centered.T) / norm_factor.clamp_min(0)
        else:
            total = w.sum()
            mean = (x * w).sum(1, keepdim=True) / total
            if correction == 0:
                norm_factor = total
            elif aweights is None:
                norm_factor = total - correction
            else:
                norm_factor = total - correction * (w * self._operand(aweights).to(x.dtype)
                                                    ).sum() / total
            centered = x - mean
            out = ((centered * w) @ centered.T) / norm_factor.clamp_min(0)
        return out.squeeze() if self.ndim < 2 else out

    def corrcoef(self) -> Tensor:
        """Pearson correlation coefficients of the variables in the rows: (V, N) -> (V, V),
        clipped to [-1, 1]."""
        c = self.cov()
        if c.ndim == 0:
            return c / c
        d = c.diagonal()
        sd = d.sqrt()
        return (c / sd.unsqueeze(1) / sd.unsqueeze(0)).clamp(-1, 1)

    def renorm(self, p: float, dim: int, maxnorm: float) -> Tensor:
        """Scale each slice along ``dim`` whose p-norm exceeds ``maxnorm`` down to it."""
        if p <= 0:
            raise RuntimeError(f"renorm: non-positive-norm not supported, got p={p}")
        d = norm_dim(dim, self.ndim)
        others = tuple(i for i in range(self.ndim) if i != d)
        norms = self.norm(p, others, keepdim=True) if others else self.abs()
        scale = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
        return self * scale

    # ------------------------------------------------------------------ extremes
    def amax(self, dim: Any = (), keepdim: bool = False, **kw: Any) -> Tensor:
        """Maximum over ``dim`` (all when empty); ties share the gradient evenly."""
        return self._amax(dim, keepdim, kw, "max")

    def amin(self, dim: Any = (), keepdim: bool = False, **kw: Any) -> Tensor:
        """Minimum over ``dim`` (all when empty); ties share the gradient evenly."""
        return self._amax(dim, keepdim, kw, "min")

    def _amax(self, dim: Any, keepdim: bool, kw: dict, mode: str) -> Tensor:
        dim, keepdim = reduce_args(dim, keepdim, kw)
        axis = norm_dims(dim, self.ndim)
        if self._data.size == 0 and axes_size(self.shape, axis) == 0:
            raise RuntimeError(f"a{mode}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0 (input shape {tuple(self.shape)})")
        return type(self)._apply(R.Amax, self, axis=axis, keepdims=keepdim, mode=mode)

    def _max_min(self, dim: Any, keepdim: bool, kw: dict, mode: str) -> Tensor | MinMaxResult:
        dim, keepdim = reduce_args(dim, keepdim, kw)
        if isinstance(dim, TensorBase):  # torch.max(a, b) form
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
            return MinMaxResult(cast("Tensor", self), type(self)._wrap(index))
        index = xp.expand_dims(arg(self._data, axis=axis), axis)
        values = type(self)._apply(R.MaxDim, self, index=index, axis=axis, keepdims=keepdim)
        if not keepdim:
            index = xp.squeeze(index, axis)
        return MinMaxResult(values, type(self)._wrap(index.astype(np.int64, copy=False)))

    def max(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor | MinMaxResult:
        """Maximum of all elements, or ``(values, indices)`` along ``dim``."""
        return self._max_min(dim, keepdim, kw, "max")

    def min(self, dim: Any = None, keepdim: bool = False, **kw: Any) -> Tensor | MinMaxResult:
        """Minimum of all elements, or ``(values, indices)`` along ``dim``."""
        return self._max_min(dim, keepdim, kw, "min")

    def aminmax(self, *, dim: Any = None, keepdim: bool = False) -> MinMax:
        """(min, max) over ``dim`` (all elements when None)."""
        if dim is None:
            return MinMax(self.amin(), self.amax()) if not keepdim else \
                MinMax(self.amin(tuple(range(self.ndim)), True),
                       self.amax(tuple(range(self.ndim)), True))
        return MinMax(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def argmax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Index of the maximum (of the flattened tensor when ``dim`` is None), int64."""
        return self._arg(dim, keepdim, "argmax")

    def argmin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Index of the minimum (of the flattened tensor when ``dim`` is None), int64."""
        return self._arg(dim, keepdim, "argmin")

    def _arg(self, dim: Any, keepdim: bool, name: str) -> Tensor:
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

    # ------------------------------------------------------------------ normalisations along a dim
    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        """log(sum(exp(x))) over ``dim``, computed stably (max subtracted)."""
        return type(self)._apply(R.LogSumExp, self._float_input(),
                                 axis=norm_dims(dim, self.ndim), keepdims=keepdim)

    def softmax(self, dim: int, dtype: Any = None) -> Tensor:
        """exp(x) / exp(x).sum(dim), shifted by the max along ``dim``."""
        return self._softmax(Softmax, dim, dtype)

    def log_softmax(self, dim: int, dtype: Any = None) -> Tensor:
        """x - logsumexp(x, dim), computed without forming softmax."""
        return self._softmax(LogSoftmax, dim, dtype)

    def _softmax(self, fn: type, dim: int, dtype: Any) -> Tensor:
        x = self._float_input() if dtype is None else self.to(dtype)
        if x.ndim == 0:
            return x.reshape(1)._softmax(fn, 0, None).reshape(())
        return type(self)._apply(fn, x, axis=norm_dim(dim, x.ndim))

    # ------------------------------------------------------------------ truth
    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """True where every element over ``dim`` is nonzero (a bool tensor)."""
        return type(self)._wrap(backend.xp_of(self._data).asarray(
            self._data.all(axis=norm_dims(dim, self.ndim), keepdims=keepdim)))

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """True where some element over ``dim`` is nonzero (a bool tensor)."""
        return type(self)._wrap(backend.xp_of(self._data).asarray(
            self._data.any(axis=norm_dims(dim, self.ndim), keepdims=keepdim)))

    def count_nonzero(self, dim: Any = None) -> Tensor:
        """Number of nonzero elements over ``dim`` (all when None), int64."""
        axis = norm_dims(dim, self.ndim)
        xp = backend.xp_of(self._data)
        return type(self)._wrap(xp.asarray(xp.count_nonzero(self._data, axis=axis),
                                           dtype=np.int64))
