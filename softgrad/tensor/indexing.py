"""Indexing of Tensor (a mixin): ``t[index]``, reading at indices or a mask, writing at
them (as differentiable copies, or in place), and ``where``."""
from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from softgrad import backend, dtypes
from softgrad.ops import select as Sel
from softgrad.ops import shape as S
from softgrad.ops.elementwise import Where
from softgrad.tensor.args import (
    broadcast_error,
    broadcasts_to,
    index_arg,
    index_on,
    norm_dim,
)
from softgrad.tensor.arrays import array_from
from softgrad.tensor.base import TensorBase

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """Elements of ``input`` where ``condition`` else ``other``, broadcast together; a number
    takes the dtype of the tensor beside it. One of the three must be a Tensor
    (``sg.where`` takes any data)."""
    ref = next((x for x in (input, other, condition) if isinstance(x, TensorBase)), None)
    if ref is None:
        raise TypeError("where(): expected a Tensor among condition, input and other")
    cond = condition._data if isinstance(condition, TensorBase) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {cond.dtype}")
    like = input if isinstance(input, TensorBase) else other if isinstance(
        other, TensorBase) else None
    a, b = (x if isinstance(x, TensorBase) else like._operand(x) if like is not None
            else ref._wrap(array_from(x, None)) for x in (input, other))
    if a._data.dtype != b._data.dtype:
        dt = dtypes.promote(a._data.dtype, b._data.dtype)
        a, b = a._cast(dt), b._cast(dt)
    try:
        return ref._apply(Where, ref._wrap(cond), a, b)
    except ValueError:
        raise broadcast_error(cond.shape, a.shape, b.shape) from None


def write_at(old: Tensor, index: Any, value: Tensor) -> Tensor:
    """``old`` with ``value`` written at ``index``, as a differentiable expression: gradient
    flows to ``old`` outside the indexed region and to ``value`` inside it."""
    xp = backend.xp_of(old._data)
    outside = xp.ones(old.shape, dtype=bool)
    outside[index] = False
    region = outside[index].shape
    if value.dtype != old.dtype:
        value = value.to(old.dtype)
    if tuple(value.shape) != region:
        value = value.expand(region)
    placed = type(old)._apply(S.IndexAddZeros, value, shape=old.shape, index=index)
    return type(old)._apply(Where, old._wrap(outside), old, placed)


class IndexingMixin(TensorBase):
    """Indexing of Tensor: ``t[index]``, writes at an index or a mask, and ``where``."""

    __slots__ = ()

    # ------------------------------------------------------------------ reading
    def __getitem__(self, index: Any) -> Tensor:
        index = index_on(index_arg(index), self._data)
        try:
            return type(self)._apply(S.Getitem, self, index=index)
        except IndexError as exc:
            raise IndexError(f"{exc} (indexing a tensor of shape {tuple(self.shape)})") from None

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def select(self, dim: int, index: int) -> Tensor:
        idx: list[Any] = [slice(None)] * self.ndim
        idx[norm_dim(dim, self.ndim)] = index
        return self[tuple(idx)]

    def take(self, index: Any) -> Tensor:
        """The elements at flat positions ``index`` (any shape) of self."""
        idx = index._data if isinstance(index, TensorBase) else np.asarray(index)
        n = self.numel()
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"take(): index out of range for a tensor of {n} elements")
        return self.reshape(-1)[type(self)._wrap(idx % builtins.max(n, 1))]

    def masked_select(self, mask: Any) -> Tensor:
        """The elements where the boolean ``mask`` (broadcast with self) is True, as 1-D."""
        m = mask._data if isinstance(mask, TensorBase) else np.asarray(mask)
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

    @overload
    def nonzero(self, *, as_tuple: Literal[False] = False) -> Tensor: ...

    @overload
    def nonzero(self, *, as_tuple: Literal[True]) -> tuple[Tensor, ...]: ...

    @overload
    def nonzero(self, *, as_tuple: bool) -> Tensor | tuple[Tensor, ...]: ...

    def nonzero(self, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
        """Indices of the nonzero elements: an (n, ndim) int64 tensor, or one per dim."""
        xp = backend.xp_of(self._data)
        data = self._data.reshape(1) if self.ndim == 0 else self._data
        found = xp.nonzero(data)
        if as_tuple:
            return tuple(type(self)._wrap(i.astype(np.int64)) for i in found)
        if self.ndim == 0:
            return type(self)._wrap(xp.zeros((len(found[0]), 0), dtype=np.int64))
        return type(self)._wrap(xp.stack(found, axis=1).astype(np.int64))

    def argwhere(self) -> Tensor:
        """``nonzero()``: an (n, ndim) int64 tensor of the nonzero positions."""
        return self.nonzero()

    # ------------------------------------------------------------------ writing into a copy
    def where(self, condition: Any, other: Any) -> Tensor:
        return where(condition, self, other)

    def nonzero_static(self, *, size: int, fill_value: int = -1) -> Tensor:
        """``nonzero()`` cut or padded (with ``fill_value``) to exactly ``size`` rows."""
        found = self.nonzero()
        n = found.shape[0]
        if n >= size:
            return found[:size]
        xp = backend.xp_of(found._data)
        pad = xp.full((size - n, found.shape[1]), fill_value, dtype=found._data.dtype)
        return self._wrap(xp.concatenate([found._data, pad]))

    # ------------------------------------------------------------------ copies, a region written
    def _scatter_at(self, key: tuple, src: Any) -> Tensor:
        s = self._operand(src)
        region = backend.xp_of(self._data).zeros(self.shape, dtype=bool)[key].shape
        if tuple(s.shape) != tuple(region):
            raise RuntimeError(f"expected src to have a size equal to the slice of self. src "
                               f"size = {list(s.shape)}, slice size = {list(region)}")
        return write_at(cast("Tensor", self), key, s)

    def select_scatter(self, src: Any, dim: int, index: int) -> Tensor:
        """A copy of self with ``src`` written at ``index`` of ``dim``."""
        key: list[Any] = [slice(None)] * self.ndim
        key[dim] = index
        return self._scatter_at(tuple(key), src)

    def slice_scatter(self, src: Any, dim: int = 0, start: int | None = None,
                      end: int | None = None, step: int = 1) -> Tensor:
        """A copy of self with ``src`` written at ``start:end:step`` of ``dim``."""
        key: list[Any] = [slice(None)] * self.ndim
        key[dim] = slice(start, end, step)
        return self._scatter_at(tuple(key), src)

    def diagonal_scatter(self, src: Any, offset: int = 0, dim1: int = 0,
                         dim2: int = 1) -> Tensor:
        """A copy of self with ``src`` written on its diagonal (dims dim1, dim2)."""
        xp = backend.xp_of(self._data)
        n = self._wrap(xp.zeros(self.shape, dtype=bool)).diagonal(offset, dim1, dim2).shape[-1]
        a, b = dim1 % self.ndim, dim2 % self.ndim
        key: list[Any] = [slice(None)] * self.ndim
        key[a] = np.arange(n) + builtins.max(-offset, 0)
        key[b] = np.arange(n) + builtins.max(offset, 0)
        s = self._operand(src).movedim(-1, builtins.min(a, b))  # advanced indices: min(a, b)
        return self._scatter_at(tuple(key), s)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        m = mask if isinstance(mask, TensorBase) else type(self)._wrap(np.asarray(mask))
        if m._data.dtype != np.bool_:
            raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with "
                               f"dtype {m.dtype}")
        if not broadcasts_to(m.shape, self.shape):
            raise RuntimeError(f"masked_fill: the mask of shape {tuple(m.shape)} must be "
                               f"broadcastable to the input of shape {tuple(self.shape)}")
        if isinstance(value, TensorBase) and value.ndim:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s)")
        return where(m, value, self)

    def _dim_index(self, dim: int, index: Any, name: str) -> tuple[int, Any]:
        d = norm_dim(dim, self.ndim)
        idx = index._data if isinstance(index, TensorBase) else np.asarray(index)
        if idx.dtype.kind not in "iu" or idx.ndim > 1:
            raise IndexError(f"{name}(): Index is supposed to be a vector of integers, got "
                             f"dtype {idx.dtype} with {idx.ndim} dims")
        n = self.shape[d] if self.ndim else 1
        idx = idx.reshape(-1)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"{name}(): index out of range for dimension {d} with size {n}")
        return d, idx % builtins.max(n, 1)

    def index_fill(self, dim: int, index: Any, value: Any) -> Tensor:
        """A copy with ``value`` written at ``index`` along ``dim``."""
        d, idx = self._dim_index(dim, index, "index_fill")
        xp = backend.xp_of(self._data)
        mask = xp.zeros(self.shape[d] if self.ndim else 1, dtype=bool)
        mask[backend.to_device(idx, self.device)] = True
        shape = [1] * self.ndim
        if self.ndim:
            shape[d] = self.shape[d]
        m = type(self)._wrap(mask.reshape(shape))
        return where(m, self._operand(value).to(self.dtype), self)

    def index_copy(self, dim: int, index: Any, source: Any) -> Tensor:
        """A copy with the slices of ``source`` written at ``index`` along ``dim``."""
        d, idx = self._dim_index(dim, index, "index_copy")
        src = self._operand(source)
        key = [slice(None)] * self.ndim
        key[d] = backend.to_device(idx, self.device)
        return write_at(cast("Tensor", self), tuple(key), src.movedim(d, 0).movedim(0, d))

    def index_put(self, indices: Sequence[Any], values: Any,
                  accumulate: bool = False) -> Tensor:
        """A copy with ``values`` written (or added, with ``accumulate``) at the advanced
        index ``indices`` (a tuple of index tensors)."""
        key = index_on(index_arg(tuple(indices)), self._data)
        vals = self._operand(values).to(self.dtype)
        if not accumulate:
            return write_at(cast("Tensor", self), key, vals)
        region = backend.xp_of(self._data).zeros(self.shape, dtype=bool)[key].shape
        if tuple(vals.shape) != tuple(region):
            vals = vals.expand(region)
        return self + type(self)._apply(S.IndexAddZeros, vals, shape=self.shape, index=key)

    def masked_scatter(self, mask: Any, source: Any) -> Tensor:
        """A copy where the positions of ``mask`` (broadcast) take the first elements of
        ``source`` in row-major order."""
        m = mask._data if isinstance(mask, TensorBase) else np.asarray(mask)
        if m.dtype != np.bool_:
            raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask "
                               f"with dtype {m.dtype}")
        xp = backend.xp_of(self._data)
        m = xp.broadcast_to(backend.to_device(m, self.device), self.shape)
        count = builtins.int(m.sum())
        src = self._operand(source)
        if src.numel() < count:
            raise RuntimeError(f"masked_scatter: expected source to have at least {count} "
                               f"elements, got {src.numel()}")
        pos = xp.maximum(xp.cumsum(m.reshape(-1)) - 1, 0).reshape(self.shape)
        spread = src.reshape(-1)[type(self)._wrap(pos)]
        return where(type(self)._wrap(m), spread.to(self.dtype), self)

    def put(self, index: Any, source: Any, accumulate: bool = False) -> Tensor:
        """A copy with ``source`` written (or added) at flat ``index`` positions."""
        idx = index._data if isinstance(index, TensorBase) else np.asarray(index)
        n = self.numel()
        idx = idx.reshape(-1)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"put(): index out of range for a tensor of {n} elements")
        flat = self.reshape(-1)
        out = flat.index_put((type(self)._wrap(idx % builtins.max(n, 1)),),
                             self._operand(source).reshape(-1), accumulate)
        return out.reshape(self.shape)

    # ------------------------------------------------------------------ writing in place
    def __setitem__(self, index: Any, value: Any) -> None:
        idx = index_on(index_arg(index), self._data)
        if self._graph_inplace_needed("__setitem__", value):  # recorded, as PyTorch's index_put_
            self._rebase("__setitem__", lambda old: write_at(old, idx, old._operand(value)))
            return
        v = value._data if isinstance(value, TensorBase) else value
        self._data[idx] = v
        self._version += 1

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        if self._graph_inplace_needed("masked_fill_", value):
            return self._rebase("masked_fill_", lambda old: old.masked_fill(mask, value))
        m = mask._data if isinstance(mask, TensorBase) else np.asarray(mask)
        self._data[...] = np.where(m, value.item() if isinstance(value, TensorBase) else value,
                                  self._data)
        self._version += 1
        return cast("Tensor", self)

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Tensor:
        """Write ``fill_value`` on the main diagonal (all dims equal, or a tall matrix)."""
        if self.ndim < 2:
            raise RuntimeError("dimensions must larger than 1")
        if self.ndim > 2 and len(set(self.shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        if self._graph_inplace_needed("fill_diagonal_", fill_value):
            n = builtins.min(self.shape)
            key = (np.arange(n),) * self.ndim
            return self._rebase("fill_diagonal_",
                                lambda old: write_at(old, key, old._operand(fill_value)))
        backend.xp_of(self._data).fill_diagonal(self._data, fill_value, wrap=wrap)
        self._version += 1
        return cast("Tensor", self)
