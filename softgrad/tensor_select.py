"""Sorting, selection and scatter methods of Tensor (a mixin): sort, topk, kthvalue, median,
nonzero, unique, take_along_dim, index_add, scatter, scatter_reduce, masked_select,
repeat_interleave, bincount, count_nonzero.

Values picked by sorting are gathered at the sorted indices, so their gradient flows back to
the picked positions.
"""
from __future__ import annotations

import builtins
from typing import Any, NamedTuple

from softgrad import backend
from softgrad.ops import select as Sel
from softgrad.tensor_math import norm_dim, norm_dims

np = backend.np


class ValuesIndices(NamedTuple):
    """``(values, indices)`` of sort, topk, kthvalue and median, as in PyTorch."""

    values: Any
    indices: Any


def _int_index(index: Any, name: str) -> Any:
    idx = index._data if hasattr(index, "_ctx") else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {idx.dtype}")
    return idx


def _stable_argsort(xp: Any, a: Any, axis: int, descending: bool) -> Any:
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


def _topk_indices(xp: Any, a: Any, k: int, axis: int, largest: bool) -> Any:
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


class SelectMixin:
    """Sorting, selection and scatter methods of Tensor."""

    __slots__ = ()

    # ------------------------------------------------------------------ sorting
    def _take_sorted(self, idx: Any, axis: int) -> Any:
        return type(self)._apply(Sel.GatherUnique, self, index=idx, axis=axis)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """``(values, indices)`` sorted along ``dim``; ties keep their order (always stable)."""
        if self.ndim == 0:
            return ValuesIndices(self.clone(), self._zeros_index(()))
        d = norm_dim(dim, self.ndim)
        idx = _stable_argsort(backend.xp_of(self._data), self._data, d, descending)
        return ValuesIndices(self._take_sorted(idx, d), type(self)._wrap(idx.astype(np.int64)))

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """Indices that sort ``dim`` (int64)."""
        if self.ndim == 0:
            return self._zeros_index(())
        d = norm_dim(dim, self.ndim)
        return type(self)._wrap(
            _stable_argsort(backend.xp_of(self._data), self._data, d, descending).astype(np.int64))

    def msort(self) -> Any:
        return self.sort(0).values

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
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

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """The k-th smallest element (1-based) along ``dim`` and its index."""
        d = norm_dim(dim, self.ndim)
        n = self.shape[d] if self.ndim else 1
        if not 1 <= k <= n:
            raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dimension "
                               f"{d} of size {n} (input shape {tuple(self.shape)})")
        return self._pick_sorted(d, lambda idx: k - 1, keepdim)

    def median(self, dim: Any = None, keepdim: bool = False) -> Any:
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

    def _pick_sorted(self, d: int, pos: Any, keepdim: bool, nan_first: bool = False) -> Any:
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

    def _zeros_index(self, shape: tuple) -> Any:
        return type(self)._wrap(backend.xp_of(self._data).zeros(shape, dtype=np.int64))

    # ------------------------------------------------------------------ nonzero / unique
    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """Indices of the nonzero elements: an (n, ndim) int64 tensor, or one per dim."""
        xp = backend.xp_of(self._data)
        data = self._data.reshape(1) if self.ndim == 0 else self._data
        found = xp.nonzero(data)
        if as_tuple:
            return tuple(type(self)._wrap(i.astype(np.int64)) for i in found)
        if self.ndim == 0:
            return type(self)._wrap(xp.zeros((len(found[0]), 0), dtype=np.int64))
        return type(self)._wrap(xp.stack(found, axis=1).astype(np.int64))

    def argwhere(self) -> Any:
        """``nonzero()``: an (n, ndim) int64 tensor of the nonzero positions."""
        return self.nonzero()

    def unique(self, sorted: bool = True, return_inverse: bool = False,
               return_counts: bool = False, dim: Any = None) -> Any:
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

    def bincount(self, weights: Any = None, minlength: int = 0) -> Any:
        """Count of each value of a 1-D non-negative int tensor (weighted sums with weights)."""
        if self.ndim != 1 or self._data.dtype.kind not in "iub":
            raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got "
                               f"shape {tuple(self.shape)} and dtype {self.dtype.name}")
        if self._data.size and self._data.min() < 0:
            raise RuntimeError("bincount(): input must be non-negative")
        xp = backend.xp_of(self._data)
        if weights is None:
            return type(self)._wrap(xp.bincount(self._data, minlength=minlength).astype(np.int64))
        w = weights._data if hasattr(weights, "_ctx") else np.asarray(weights)
        if w.shape != self._data.shape:
            raise RuntimeError(f"bincount(): weights {tuple(w.shape)} should have the same "
                               f"shape as input {tuple(self.shape)}")
        dt = w.dtype if w.dtype.kind == "f" else np.float64
        return type(self)._wrap(xp.bincount(self._data, w, minlength=minlength).astype(dt))

    def count_nonzero(self, dim: Any = None) -> Any:
        """Number of nonzero elements over ``dim`` (all when None), int64."""
        axis = norm_dims(dim, self.ndim)
        xp = backend.xp_of(self._data)
        return type(self)._wrap(xp.asarray(xp.count_nonzero(self._data, axis=axis),
                                           dtype=np.int64))

    # ------------------------------------------------------------------ gathers / scatters
    def take_along_dim(self, indices: Any, dim: Any = None) -> Any:
        """Values at ``indices`` along ``dim`` (of the flattened tensor when None)."""
        idx = _int_index(indices, "take_along_dim")
        if dim is None:
            return self.reshape(-1).gather(0, type(self)._wrap(idx.reshape(-1)))
        d = norm_dim(dim, self.ndim)
        if idx.ndim != self.ndim:
            raise RuntimeError(f"take_along_dim(): input and indices should have the same "
                               f"number of dimensions, but got {self.ndim} and {idx.ndim}")
        shape_x = list(self.shape)
        shape_i = list(idx.shape)
        shape_x[d] = shape_i[d] = 1
        try:
            common = np.broadcast_shapes(tuple(shape_x), tuple(shape_i))
        except ValueError:
            raise RuntimeError(f"take_along_dim(): shapes {tuple(self.shape)} and "
                               f"{tuple(idx.shape)} cannot be broadcast apart from dim {d}"
                               ) from None
        xs = common[:d] + (self.shape[d],) + common[d + 1:]
        is_ = common[:d] + (idx.shape[d],) + common[d + 1:]
        x = self if tuple(self.shape) == xs else self.expand(*xs)
        xpi = backend.xp_of(idx)
        return x.gather(d, type(self)._wrap(xpi.broadcast_to(idx, is_)))

    def index_add(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Any:
        """A copy of self with ``alpha * source`` added at ``index`` along ``dim``."""
        d = norm_dim(dim, self.ndim)
        idx = _int_index(index, "index_add").reshape(-1)
        src = self._operand(source)
        want = self.shape[:d] + (len(idx),) + self.shape[d + 1:]
        if tuple(src.shape) != tuple(want) and not (self.ndim == 0 and src.numel() == 1):
            raise RuntimeError(f"index_add(): source {tuple(src.shape)} should have shape "
                               f"{tuple(want)} (self {tuple(self.shape)}, {len(idx)} indices "
                               f"along dim {d})")
        n = self.shape[d] if self.ndim else 1
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"index_add(): index out of range for dimension {d} with size {n}")
        if self.ndim == 0:
            return self + alpha * src.reshape(()) * len(idx)
        return type(self)._apply(Sel.IndexAdd, self, src, index=idx % n, axis=d, alpha=alpha)

    def scatter(self, dim: int, index: Any, src: Any = None, value: Any = None, *,
                reduce: Any = None) -> Any:
        """A copy of self with ``src`` (or the scalar ``value``) written at ``index``."""
        if reduce is not None:
            name = {"add": "sum", "multiply": "prod"}.get(reduce)
            if name is None:
                raise RuntimeError(f"scatter(): reduce must be 'add' or 'multiply', got "
                                   f"{reduce!r}")
            s = self._scatter_src(index, src, value)
            return self.scatter_reduce(dim, index, s, name)
        d, idx = self._scatter_check(dim, index, "scatter")
        s = self._scatter_src(index, src, value)
        self._check_src(idx, s, d, "scatter")
        return type(self)._apply(Sel.Scatter, self, s, index=idx, axis=d)

    def scatter_reduce(self, dim: int, index: Any, src: Any, reduce: str, *,
                       include_self: bool = True) -> Any:
        """Reduce ``src`` into a copy of self at ``index``: sum, prod, mean, amax, amin."""
        if reduce not in ("sum", "prod", "mean", "amax", "amin"):
            raise RuntimeError(f"scatter_reduce(): reduce argument must be one of sum, prod, "
                               f"mean, amax, amin, got {reduce!r}")
        d, idx = self._scatter_check(dim, index, "scatter_reduce")
        s = self._operand(src)
        self._check_src(idx, s, d, "scatter_reduce")
        return type(self)._apply(Sel.ScatterReduce, self, s, index=idx, axis=d, reduce=reduce,
                                 include_self=builtins.bool(include_self))

    def _scatter_check(self, dim: int, index: Any, name: str) -> tuple:
        from softgrad.tensor_shape import _check_index, _index_on

        d = norm_dim(dim, self.ndim)
        idx = _int_index(index, name)
        _check_index(idx, self.shape[d] if self.ndim else 1, name, self.shape, d)
        n = self.shape[d] if self.ndim else 1
        return d, _index_on(idx % builtins.max(n, 1), self._data)

    def _scatter_src(self, index: Any, src: Any, value: Any) -> Any:
        if (src is None) == (value is None):
            raise TypeError("scatter(): give exactly one of src (a tensor) or value (a number)")
        if value is not None or not hasattr(src, "_ctx"):
            v = value if value is not None else src
            shape = index.shape if hasattr(index, "shape") else np.asarray(index).shape
            return self._operand(v).expand(*shape) if shape else self._operand(v)
        return src

    def _check_src(self, idx: Any, src: Any, d: int, name: str) -> None:
        if idx.ndim != self.ndim or src.ndim != self.ndim or builtins.any(
                n > s or (k != d and n > m)
                for k, (n, s, m) in enumerate(zip(idx.shape, src.shape, self.shape))):
            raise RuntimeError(f"{name}(): expected index {tuple(idx.shape)} to be no larger "
                               f"than src {tuple(src.shape)} in every dimension and than self "
                               f"{tuple(self.shape)} apart from dimension {d}")
        if src._data.dtype != self._data.dtype:
            raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype "
                               f"({self.dtype.name} vs {src.dtype.name})")

    def masked_select(self, mask: Any) -> Any:
        """The elements where the boolean ``mask`` (broadcast with self) is True, as 1-D."""
        m = mask._data if hasattr(mask, "_ctx") else np.asarray(mask)
        if m.dtype != np.bool_:
            raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {m.dtype}")
        try:
            shape = np.broadcast_shapes(tuple(self.shape), tuple(m.shape))
        except ValueError:
            raise RuntimeError(f"masked_select: the mask {tuple(m.shape)} and the input "
                               f"{tuple(self.shape)} cannot be broadcast together") from None
        x = self if tuple(self.shape) == shape else self.expand(*shape)
        xm = backend.xp_of(m).broadcast_to(m, shape)
        return type(self)._apply(Sel.GetitemUnique, x, index=xm)

    def repeat_interleave(self, repeats: Any, dim: Any = None, *,
                          output_size: Any = None) -> Any:
        """Each element repeated ``repeats`` times along ``dim`` (flattened when None)."""
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else norm_dim(dim, self.ndim)
        if x.ndim == 0:
            x = x.reshape(1)
        r = backend.to_numpy(repeats._data) if hasattr(repeats, "_ctx") else repeats
        if not isinstance(r, (builtins.int, np.integer)):
            r = np.asarray(r)
            if r.dtype.kind not in "iu" or r.ndim > 1:
                raise RuntimeError("repeat_interleave(): repeats must be an int or a 1-D "
                                   "integer tensor")
            if r.ndim == 0 or r.size == 1:
                r = builtins.int(r.reshape(()))
            elif r.size != x.shape[d]:
                raise RuntimeError(f"repeat_interleave(): repeats must have the same size as "
                                   f"input along dim {d}: {r.size} vs {x.shape[d]}")
        if (isinstance(r, (builtins.int, np.integer)) and r < 0) or (
                not isinstance(r, (builtins.int, np.integer)) and (r < 0).any()):
            raise RuntimeError("repeat_interleave(): repeats can not be negative")
        if isinstance(r, np.integer):
            r = builtins.int(r)
        if output_size is not None:
            total = x.shape[d] * r if isinstance(r, builtins.int) else builtins.int(r.sum())
            if total != output_size:
                raise RuntimeError(f"repeat_interleave(): output_size {output_size} does not "
                                   f"match the repeats' total {total}")
        return type(self)._apply(Sel.RepeatInterleave, x, repeats=r, axis=d)

