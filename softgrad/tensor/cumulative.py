"""Scans of Tensor along a dim (a mixin): cumulative sums and products (also in log space),
running maxima and minima, and forward differences."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from softgrad import backend, dtypes
from softgrad.ops import reduce as R
from softgrad.ops import select as Sel
from softgrad.tensor.args import norm_dim
from softgrad.tensor.base import TensorBase
from softgrad.tensor.indexing import where
from softgrad.tensor.sort import ValuesIndices
from softgrad.tensor.split import cat

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np


class CumulativeMixin(TensorBase):
    """Scans of Tensor along a dim: cumulative sums, products, extremes, and differences."""

    __slots__ = ()

    def cumsum(self, dim: int, dtype: Any = None) -> Tensor:
        """Cumulative sum along ``dim``; integer and bool inputs give int64."""
        x = self if dtype is None else self.to(dtype)
        if not dtypes.is_differentiable(x._data.dtype) and dtype is None:
            x = x.long()
        return type(self)._apply(R.Cumsum, x, axis=norm_dim(dim, self.ndim))

    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        """Cumulative product along ``dim``; integer and bool inputs give int64."""
        x = self if dtype is None else self.to(dtype)
        if x._data.dtype.kind not in "fc" and dtype is None:
            x = x.long()
        if x.ndim == 0:
            return x.clone()
        return type(self)._apply(Sel.Cumprod, x, axis=norm_dim(dim, self.ndim))

    def logcumsumexp(self, dim: int) -> Tensor:
        """log(cumsum(exp(x))) along ``dim``, shifted by the (detached) maximum."""
        x = self._float_input()
        if x.ndim == 0:
            return x.clone()
        d = norm_dim(dim, x.ndim)
        m = x.detach().amax(d, keepdim=True)
        m = where(m.isfinite(), m, 0)
        return (x - m).exp().cumsum(d).log() + m

    def cummax(self, dim: int) -> ValuesIndices:
        """Running maximum along ``dim`` and the index where each was reached (the latest on
        ties; nan propagates)."""
        return self._cum_extreme(dim, True)

    def cummin(self, dim: int) -> ValuesIndices:
        """Running minimum along ``dim`` and the index where each was reached."""
        return self._cum_extreme(dim, False)

    def _cum_extreme(self, dim: int, largest: bool) -> ValuesIndices:
        if self.ndim == 0:
            return ValuesIndices(self.clone(), self._zeros_index(()))
        d = norm_dim(dim, self.ndim)
        xp = backend.xp_of(self._data)
        data = self._data
        ufunc = xp.maximum if largest else xp.minimum
        running = ufunc.accumulate(data, axis=d) if data.dtype != np.bool_ else \
            ufunc.accumulate(data.astype(np.uint8), axis=d)
        hit = (data >= running) if largest else (data <= running)
        if data.dtype.kind == "f":
            hit = hit | xp.isnan(data)
        shape = [1] * self.ndim
        shape[d] = self.shape[d]
        pos = xp.arange(self.shape[d]).reshape(shape)
        idx = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=d).astype(np.int64)
        if data.dtype.kind == "f":  # after a nan, keep pointing at the first nan
            seen = xp.logical_or.accumulate(xp.isnan(data), axis=d)
            first = xp.argmax(xp.isnan(data), axis=d)
            idx = xp.where(seen, xp.expand_dims(first, d), idx)
        values = self.gather(d, type(self)._wrap(idx))
        return ValuesIndices(values, type(self)._wrap(idx))

    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
        """The n-th forward difference along ``dim`` (xor for bool tensors), after
        concatenating ``prepend`` and ``append``."""
        if self.ndim == 0:
            raise RuntimeError("diff expects input to be at least one-dimensional")
        d = norm_dim(dim, self.ndim)
        parts = [t for t in (prepend, self, append) if t is not None]
        x = cat([self._operand(t) for t in parts], d) if len(parts) > 1 else cast("Tensor", self)
        for _ in range(n):
            length = x.shape[d]
            if length == 0:
                break
            a, b = x.narrow(d, 1, length - 1), x.narrow(d, 0, length - 1)
            x = a.logical_xor(b) if x._data.dtype == np.bool_ else a - b
        return x
