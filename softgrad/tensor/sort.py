"""Sorting, and what is read from sorted order (a mixin): sort, topk, kthvalue, median,
mode, quantiles, unique values and counts.

Values picked by sorting are gathered at the sorted indices, so their gradient flows back to
the picked positions.
"""
from __future__ import annotations

import builtins
import math
from typing import TYPE_CHECKING, Any, NamedTuple

from softgrad import backend
from softgrad.ops import select as Sel
from softgrad.tensor.args import norm_dim
from softgrad.tensor.base import TensorBase
from softgrad.tensor.indexing import where

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np
_MODES = ("linear", "lower", "higher", "midpoint", "nearest")


class ValuesIndices(NamedTuple):
    """``(values, indices)`` of sort, topk, kthvalue and median, as in PyTorch."""

    values: Tensor
    indices: Tensor


def _stable_argsort(xp: Any, a: Any, axis: int, descending: bool) -> Tensor:
    """Stable argsort along ``axis``; NaN counts as the largest value (PyTorch's order)."""
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    # ascending-stable on the reversed line, then reversed: ties keep their original order
    n = a.shape[axis]
    rev = xp.flip(a, axis)
    order = xp.flip(xp.argsort(rev, axis=axis, kind="stable"), axis)
    return (n - 1) - order


def _topk_indices(xp: Any, a: Any, k: int, axis: int, largest: bool) -> Tensor:
    """Indices of the k largest/smallest along ``axis``, in sorted order (NaN is largest).

    A partition first when k is small against the line, so only k elements get sorted.
    """
    n = a.shape[axis]
    if 0 < k <= Sel.TOPK_ARGMAX_MAX_K and n >= 64:
        idx = Sel.topk_by_argmax(xp, a, k, axis, largest)
        if idx is not None:
            return idx
    if k * 8 > n or n < 64 or a.dtype == np.bool_:
        order = _stable_argsort(xp, a, axis, largest)
        return order[(slice(None),) * axis + (slice(0, k),)]
    part = xp.argpartition(a, n - k if largest else k - 1, axis=axis)
    part = part[(slice(None),) * axis + (slice(n - k, n) if largest else slice(0, k),)]
    picked = xp.take_along_axis(a, part, axis=axis)
    return xp.take_along_axis(part, _stable_argsort(xp, picked, axis, largest), axis=axis)


class SortMixin(TensorBase):
    """Sorting and what is read from sorted order: sort, topk, kthvalue, median, mode, quantiles,
    unique values and counts."""

    __slots__ = ()

    # ------------------------------------------------------------------ sorting
    def _take_sorted(self, idx: Any, axis: int) -> Tensor:
        return type(self)._apply(Sel.GatherUnique, self, index=idx, axis=axis)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
        """``(values, indices)`` sorted along ``dim``; ties keep their order (always stable)."""
        if self.ndim == 0:
            return ValuesIndices(self.clone(), self._zeros_index(()))
        d = norm_dim(dim, self.ndim)
        idx = _stable_argsort(backend.xp_of(self._data), self._data, d, descending)
        return ValuesIndices(self._take_sorted(idx, d), type(self)._wrap(idx.astype(np.int64)))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        """Indices that sort ``dim`` (int64)."""
        if self.ndim == 0:
            return self._zeros_index(())
        d = norm_dim(dim, self.ndim)
        return type(self)._wrap(
            _stable_argsort(backend.xp_of(self._data), self._data, d, descending).astype(np.int64))

    def msort(self) -> Tensor:
        return self.sort(0).values

    def topk(self, k: int, dim: int = -1, largest: bool = True,
             sorted: bool = True) -> ValuesIndices:
        """The ``k`` largest (or smallest) elements along ``dim`` and their indices."""
        d = norm_dim(dim, self.ndim)
        n = self.shape[d] if self.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError(f"topk(): selected index k={k} is out of range for dimension "
                               f"{d} of size {n} (input shape {tuple(self.shape)})")
        if self.ndim == 0:
            return ValuesIndices(self.clone(), self._zeros_index(()))
        idx = _topk_indices(backend.xp_of(self._data), self._data, k, d, largest)
        return ValuesIndices(self._take_sorted(idx, d), type(self)._wrap(idx.astype(np.int64)))

    # ------------------------------------------------------------------ order statistics
    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
        """The k-th smallest element (1-based) along ``dim`` and its index."""
        d = norm_dim(dim, self.ndim)
        n = self.shape[d] if self.ndim else 1
        if not 1 <= k <= n:
            raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension "
                               f"{d} of size {n} (input shape {tuple(self.shape)})")
        return self._pick_sorted(d, lambda idx: k - 1, keepdim)

    def median(self, dim: Any = None, keepdim: bool = False) -> Tensor | ValuesIndices:
        """Lower median of all elements, or ``(values, indices)`` along ``dim``; NaN wins."""
        if dim is None:
            if self._data.size == 0:
                return type(self)._wrap(np.asarray(np.nan, dtype=self._data.dtype))
            return self.reshape(-1).median(0).values
        d = norm_dim(dim, self.ndim)
        n = self.shape[d] if self.ndim else 1
        if n == 0:
            raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size "
                             f"(input shape {tuple(self.shape)})")
        return self._pick_sorted(d, lambda idx: (n - 1) // 2, keepdim, nan_first=True)

    def nanmedian(self, dim: Any = None, keepdim: bool = False) -> Tensor | ValuesIndices:
        """``median`` ignoring NaN: the lower median of the non-NaN elements (NaN where all
        are NaN), or ``(values, indices)`` along ``dim``."""
        if dim is None:
            if self._data.size == 0:
                return type(self)._wrap(np.asarray(np.nan, dtype=self._data.dtype))
            return self.reshape(-1).nanmedian(0).values
        if self.ndim == 0:
            return ValuesIndices(self.clone(), self._zeros_index(()))
        d = norm_dim(dim, self.ndim)
        if self.shape[d] == 0:
            raise IndexError(f"nanmedian(): Expected reduction dim {d} to have non-zero size "
                             f"(input shape {tuple(self.shape)})")
        if self._data.dtype.kind != "f":
            return self.median(d, keepdim)
        values, order = self.sort(d, stable=True)  # NaN sorts last
        xp = backend.xp_of(self._data)
        count = (~xp.isnan(self._data)).sum(axis=d, keepdims=True)
        n = self.shape[d]  # a line of NaN only: the middle one, as in PyTorch
        pos = type(self)._wrap(xp.where(count > 0, count - 1, n - 1) // 2)
        picked, index = values.gather(d, pos), order.gather(d, pos)
        if not keepdim:
            picked, index = picked.squeeze(d), index.squeeze(d)
        return ValuesIndices(picked, index)

    def _pick_sorted(self, d: int, pos: Any, keepdim: bool,
                     nan_first: bool = False) -> ValuesIndices:
        if self.ndim == 0:
            return ValuesIndices(self.clone(), self._zeros_index(()))
        xp = backend.xp_of(self._data)
        kth = pos(None)
        data = self._data.view(np.uint8) if self._data.dtype == np.bool_ else self._data
        idx = xp.take(xp.argpartition(data, kth, axis=d), [kth], axis=d)
        if nan_first and self._data.dtype.kind == "f":  # a NaN in the line is the median
            nan = xp.isnan(self._data)
            has = nan.any(axis=d, keepdims=True)
            if has.any():
                idx = xp.where(has, xp.expand_dims(xp.argmax(nan, axis=d), d), idx)
        values = self._take_sorted(idx, d)
        if not keepdim:
            idx = xp.squeeze(idx, d)
            values = values.squeeze(d)
        return ValuesIndices(values, type(self)._wrap(idx.astype(np.int64)))

    def _zeros_index(self, shape: tuple) -> Tensor:
        return type(self)._wrap(backend.xp_of(self._data).zeros(shape, dtype=np.int64))

    def mode(self, dim: int = -1, keepdim: bool = False) -> ValuesIndices:
        """The most frequent value along ``dim`` (the smallest on ties) and the index of its
        last occurrence."""
        if self.ndim == 0:
            return ValuesIndices(self.clone(), self._zeros_index(()))
        d = norm_dim(dim, self.ndim)
        data = np.moveaxis(backend.to_numpy(self._data), d, -1)
        rows = data.reshape(-1, data.shape[-1])
        idx: Any = np.empty(rows.shape[0], dtype=np.int64)
        for i, row in enumerate(rows):
            values, counts = np.unique(row, return_counts=True)
            best = values[np.argmax(counts)]  # unique sorts: the first maximum is the smallest
            idx[i] = np.nonzero(row == best)[0][-1] if not np.isnan(best) else \
                np.nonzero(np.isnan(row))[0][-1]
        idx = idx.reshape(data.shape[:-1])
        idx_dev = backend.to_device(np.expand_dims(idx, d), self.device)
        values = self.gather(d, type(self)._wrap(idx_dev))
        if not keepdim:
            values, idx_dev = values.squeeze(d), backend.xp_of(idx_dev).squeeze(idx_dev, d)
        return ValuesIndices(values, type(self)._wrap(idx_dev))

    def quantile(self, q: Any, dim: Any = None, keepdim: bool = False, *,
                 interpolation: str = "linear") -> Tensor:
        """The ``q``-quantiles (a float or 1-D tensor in [0, 1]) along ``dim`` (all elements
        when None); nan if a slice holds nan. A 1-D ``q`` adds a leading dim."""
        return self._quantile("quantile", q, dim, keepdim, interpolation, False)

    def nanquantile(self, q: Any, dim: Any = None, keepdim: bool = False, *,
                    interpolation: str = "linear") -> Tensor:
        """``quantile`` ignoring nan (nan only for all-nan slices)."""
        return self._quantile("nanquantile", q, dim, keepdim, interpolation, True)

    def _quantile(self, name: str, q: Any, dim: Any, keepdim: bool, interpolation: str,
                  skip_nan: bool) -> Tensor:
        if interpolation not in _MODES:
            raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                               f"midpoint or nearest. Got {interpolation}")
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
        scalar_q = not hasattr(q, "shape") and not isinstance(q, (list, tuple))
        qs = np.asarray(backend.to_numpy(q._data) if hasattr(q, "_data") else q,
                        dtype=np.float64).reshape(-1)
        if qs.ndim > 1 or (hasattr(q, "ndim") and q.ndim > 1):
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if ((qs < 0) | (qs > 1)).any():
            raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
        if hasattr(q, "ndim") and q.ndim == 0:
            scalar_q = True
        x = self.reshape(-1) if dim is None else self
        d = -1 if dim is None else norm_dim(dim, self.ndim)
        x = x.movedim(d, -1) if x.ndim else x.reshape(1)
        n = x.shape[-1]
        if n == 0:
            raise IndexError(f"{name}() input tensor must be non-empty")
        xp = backend.xp_of(x._data)
        srt = x.sort(-1).values  # nan sorts last
        nan = xp.isnan(x._data)
        valid = (n - nan.sum(axis=-1, keepdims=True)) if skip_nan else \
            xp.full(x.shape[:-1] + (1,), n)
        qa = backend.to_device(qs.astype(x._data.dtype), x.device)
        rank = qa * (xp.maximum(valid, 1) - 1)  # (..., k)
        if interpolation == "nearest":
            rank = xp.round(rank)
        lo = xp.floor(rank).astype(np.int64)
        hi = xp.minimum(xp.ceil(rank), xp.maximum(valid - 1, 0)).astype(np.int64)
        t_cls = type(self)
        v_lo = srt.gather(-1, t_cls._wrap(lo))
        v_hi = srt.gather(-1, t_cls._wrap(hi))
        if interpolation in ("lower", "nearest"):
            out = v_lo
        elif interpolation == "higher":
            out = v_hi
        elif interpolation == "midpoint":
            out = (v_lo + v_hi) * 0.5
        else:
            out = v_lo.lerp(v_hi, t_cls._wrap((rank - lo).astype(x._data.dtype)))
        bad = (valid == 0) if skip_nan else nan.any(axis=-1, keepdims=True)
        if bad.any():
            out = where(t_cls._wrap(xp.broadcast_to(bad, out.shape)), math.nan, out)
        out = out.movedim(-1, 0)  # (k, ...)
        if keepdim:
            if dim is None:
                out = out.reshape((out.shape[0],) + (1,) * self.ndim)
            else:
                out = out.unsqueeze(d + 1)
        return out.squeeze(0) if scalar_q else out

    # ------------------------------------------------------------------ distinct values and counts
    def unique(self, sorted: bool = True, return_inverse: bool = False,
               return_counts: bool = False, dim: Any = None) -> Tensor | tuple[Tensor, ...]:
        """Distinct elements (sorted), optionally with inverse indices and counts."""
        data = backend.to_numpy(self._data)
        axis = None if dim is None else norm_dim(dim, self.ndim)
        vals, inv, counts = np.unique(data, return_inverse=True, return_counts=True, axis=axis)
        if axis is None:
            inv = inv.reshape(self.shape)
        else:
            inv = inv.reshape(-1)
        dev = self.device
        out = [type(self)._wrap(backend.to_device(vals, dev))]
        if return_inverse:
            out.append(type(self)._wrap(backend.to_device(inv.astype(np.int64), dev)))
        if return_counts:
            out.append(type(self)._wrap(backend.to_device(counts.astype(np.int64), dev)))
        return out[0] if len(out) == 1 else tuple(out)

    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False,
                           dim: Any = None) -> Tensor | tuple[Tensor, ...]:
        """Each run of equal consecutive elements (or slices along ``dim``) kept once,
        optionally with inverse indices (the run of each element) and run lengths."""
        data = backend.to_numpy(self._data)
        if dim is None:
            lines = data.reshape(-1, 1)
        else:
            axis = norm_dim(dim, self.ndim)
            lines = np.moveaxis(data, axis, 0).reshape(data.shape[axis], -1)
        n = lines.shape[0]
        starts = np.ones(n, dtype=bool)
        if n > 1:
            starts[1:] = (lines[1:] != lines[:-1]).any(axis=1)
        first = np.flatnonzero(starts)
        inv = np.cumsum(starts) - 1
        counts = np.diff(np.append(first, n))
        if dim is None:
            vals = data.reshape(-1)[first]
            inv = inv.reshape(self.shape)
        else:
            vals = np.take(data, first, axis=axis)
        dev = self.device
        out = [type(self)._wrap(backend.to_device(np.ascontiguousarray(vals), dev))]
        if return_inverse:
            out.append(type(self)._wrap(backend.to_device(inv.astype(np.int64), dev)))
        if return_counts:
            out.append(type(self)._wrap(backend.to_device(counts.astype(np.int64), dev)))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights: Any = None, minlength: int = 0) -> Tensor:
        """Count of each value of a 1-D non-negative int tensor (weighted sums with weights)."""
        if self.ndim != 1 or self._data.dtype.kind not in "iub":
            raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got "
                               f"shape {tuple(self.shape)} and dtype {self.dtype.name}")
        if self._data.size and self._data.min() < 0:
            raise RuntimeError("bincount(): input must be non-negative")
        xp = backend.xp_of(self._data)
        if weights is None:
            return type(self)._wrap(xp.bincount(self._data, minlength=minlength).astype(np.int64))
        w = weights._data if isinstance(weights, TensorBase) else np.asarray(weights)
        if w.shape != self._data.shape:
            raise RuntimeError(f"bincount(): weights {tuple(w.shape)} should have the same "
                               f"shape as input {tuple(self.shape)}")
        dt = w.dtype if w.dtype.kind == "f" else np.float64
        return type(self)._wrap(xp.bincount(self._data, w, minlength=minlength).astype(dt))

    def histc(self, bins: int = 100, min: Any = 0, max: Any = 0) -> Tensor:
        """Counts of the elements in ``bins`` equal bins over [min, max] (the data's range
        when min == max); elements outside are ignored. Same dtype as the input."""
        if self._data.dtype.kind != "f":
            raise RuntimeError(f"\"histogram_cpu\" not implemented for "
                               f"'{self.dtype.name.capitalize()}'")
        if bins <= 0:
            raise RuntimeError("torch.histc(): bins must be > 0")
        data = backend.to_numpy(self._data).reshape(-1)
        lo, hi = builtins.float(min), builtins.float(max)
        if lo == hi and data.size:
            lo, hi = builtins.float(data.min()), builtins.float(data.max())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        if lo > hi:
            raise RuntimeError("torch.histc(): max must be larger than min")
        counts, _ = np.histogram(data, bins=bins, range=(lo, hi))
        out = counts.astype(self._data.dtype)
        return type(self)._wrap(backend.to_device(out, self.device))
