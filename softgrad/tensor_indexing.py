"""Indexing-style Tensor methods (a mixin): sliding windows (``unfold``), ``as_strided``,
``sum_to_size``, index writes (``index_fill``, ``index_copy``, ``index_put``,
``masked_scatter``, ``put``, ``fill_diagonal_``), ``take``, splits and rotations. All are
differentiable compositions of gathers, ``where`` and index-adds."""
from __future__ import annotations

import builtins
from typing import Any, Sequence

from softgrad import backend
from softgrad.tensor_linalg import _inplace_form
from softgrad.tensor_math import norm_dim
from softgrad.tensor_shape import _index_arg, _index_on, _index_put, _shape_arg

np = backend.np


class IndexingMixin:
    """Windows, index writes, splits and rotations of Tensor."""

    __slots__ = ()

    # ------------------------------------------------------------------ views that copy
    def sum_to_size(self, *size: Any) -> Any:
        """Sum the broadcast dims away so that the result has ``size``."""
        shape = _shape_arg(size)
        lead = self.ndim - len(shape)
        if lead < 0 or any(s not in (1, n) for s, n in zip(shape, self.shape[lead:])):
            raise RuntimeError(f"size {{{', '.join(map(str, shape))}}} is not expandable to "
                               f"size {{{', '.join(map(str, self.shape))}}}.")
        out = self.sum(tuple(range(lead))) if lead else self
        dims = tuple(i for i, (s, n) in enumerate(zip(shape, out.shape)) if s == 1 and n != 1)
        return out.sum(dims, keepdim=True) if dims else out

    def unfold(self, dimension: int, size: int, step: int) -> Any:
        """Windows of ``size`` every ``step`` along ``dimension``: that dim becomes the
        window count and a last dim of ``size`` is added."""
        d = norm_dim(dimension, self.ndim)
        n = self.shape[d] if self.ndim else 1
        if size > n:
            raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is "
                               f"{size}")
        if step <= 0:
            raise RuntimeError(f"step is {step} but must be > 0")
        if self.ndim == 0:
            return self.reshape(1)
        count = (n - size) // step + 1
        idx = (np.arange(count)[:, None] * step + np.arange(size)).reshape(-1)
        picked = self.index_select(d, type(self)._wrap(idx))
        shape = self.shape[:d] + (count, size) + self.shape[d + 1:]
        return picked.reshape(shape).movedim(d + 1, -1)

    def as_strided(self, size: Sequence[int], stride: Sequence[int],
                   storage_offset: int | None = None) -> Any:
        """The elements at ``storage_offset + sum(i_k * stride_k)`` of self's memory, in a
        tensor of ``size`` (a gathered copy; self must be contiguous)."""
        size, stride = tuple(size), tuple(stride)
        if len(size) != len(stride):
            raise RuntimeError(f"mismatch in length of strides and shape ({len(stride)} vs "
                               f"{len(size)})")
        if not self._data.flags.c_contiguous:
            raise RuntimeError("as_strided: softgrad supports it on contiguous tensors only; "
                               "call .contiguous() first")
        offset = 0 if storage_offset is None else storage_offset
        idx = np.full(size, offset, dtype=np.int64)
        for k, (n, s) in enumerate(zip(size, stride)):
            shape = [1] * len(size)
            shape[k] = n
            idx = idx + np.arange(n).reshape(shape) * s
        if idx.size and (idx.min() < 0 or idx.max() >= self.numel()):
            raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, "
                               f"storage offset {offset} are out of bounds for storage of "
                               f"size {self.numel()}")
        return self.reshape(-1)[type(self)._wrap(idx)]

    # ------------------------------------------------------------------ index writes
    def _dim_index(self, dim: int, index: Any, name: str) -> tuple:
        d = norm_dim(dim, self.ndim)
        idx = index._data if hasattr(index, "_ctx") else np.asarray(index)
        if idx.dtype.kind not in "iu" or idx.ndim > 1:
            raise IndexError(f"{name}(): Index is supposed to be a vector of integers, got "
                             f"dtype {idx.dtype} with {idx.ndim} dims")
        n = self.shape[d] if self.ndim else 1
        idx = idx.reshape(-1)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"{name}(): index out of range for dimension {d} with size {n}")
        return d, idx % builtins.max(n, 1)

    def index_fill(self, dim: int, index: Any, value: Any) -> Any:
        """A copy with ``value`` written at ``index`` along ``dim``."""
        from softgrad.functions import where

        d, idx = self._dim_index(dim, index, "index_fill")
        xp = backend.xp_of(self._data)
        mask = xp.zeros(self.shape[d] if self.ndim else 1, dtype=bool)
        mask[backend.to_device(idx, self.device)] = True
        shape = [1] * self.ndim
        if self.ndim:
            shape[d] = self.shape[d]
        m = type(self)._wrap(mask.reshape(shape))
        return where(m, self._operand(value).to(self.dtype), self)

    def index_copy(self, dim: int, index: Any, source: Any) -> Any:
        """A copy with the slices of ``source`` written at ``index`` along ``dim``."""
        d, idx = self._dim_index(dim, index, "index_copy")
        src = self._operand(source)
        key = [slice(None)] * self.ndim
        key[d] = backend.to_device(idx, self.device)
        return _index_put(self, tuple(key), src.movedim(d, 0).movedim(0, d))

    def index_put(self, indices: Sequence[Any], values: Any, accumulate: bool = False) -> Any:
        """A copy with ``values`` written (or added, with ``accumulate``) at the advanced
        index ``indices`` (a tuple of index tensors)."""
        from softgrad.ops import shape as S

        key = _index_on(_index_arg(tuple(indices)), self._data)
        vals = self._operand(values).to(self.dtype)
        if not accumulate:
            return _index_put(self, key, vals)
        region = backend.xp_of(self._data).zeros(self.shape, dtype=bool)[key].shape
        if tuple(vals.shape) != tuple(region):
            vals = vals.expand(region)
        return self + type(self)._apply(S.IndexAddZeros, vals, shape=self.shape, index=key)

    def masked_scatter(self, mask: Any, source: Any) -> Any:
        """A copy where the positions of ``mask`` (broadcast) take the first elements of
        ``source`` in row-major order."""
        from softgrad.functions import where

        m = mask._data if hasattr(mask, "_ctx") else np.asarray(mask)
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

    def put(self, index: Any, source: Any, accumulate: bool = False) -> Any:
        """A copy with ``source`` written (or added) at flat ``index`` positions."""
        idx = index._data if hasattr(index, "_ctx") else np.asarray(index)
        n = self.numel()
        idx = idx.reshape(-1)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"put(): index out of range for a tensor of {n} elements")
        flat = self.reshape(-1)
        out = flat.index_put((type(self)._wrap(idx % builtins.max(n, 1)),),
                             self._operand(source).reshape(-1), accumulate)
        return out.reshape(self.shape)

    def take(self, index: Any) -> Any:
        """The elements at flat positions ``index`` (any shape) of self."""
        idx = index._data if hasattr(index, "_ctx") else np.asarray(index)
        n = self.numel()
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"take(): index out of range for a tensor of {n} elements")
        return self.reshape(-1)[type(self)._wrap(idx % builtins.max(n, 1))]

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Any:
        """Write ``fill_value`` on the main diagonal (all dims equal, or a tall matrix)."""
        if self.ndim < 2:
            raise RuntimeError("dimensions must larger than 1")
        if self.ndim > 2 and len(set(self.shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        if self._graph_inplace_needed("fill_diagonal_", fill_value):
            n = builtins.min(self.shape)
            key = (np.arange(n),) * self.ndim
            return self._rebase("fill_diagonal_",
                                lambda old: _index_put(old, key, old._operand(fill_value)))
        backend.xp_of(self._data).fill_diagonal(self._data, fill_value, wrap=wrap)
        self._version += 1
        return self

    # ------------------------------------------------------------------ splits and rotations
    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple:
        """Split into n nearly equal parts (the first n % size get one more), or at the
        listed indices."""
        d = norm_dim(dim, self.ndim)
        size = self.shape[d]
        ios = indices_or_sections
        if hasattr(ios, "_ctx"):
            ios = ios.tolist()
        if isinstance(ios, builtins.int):
            if ios <= 0:
                raise RuntimeError(f"number of sections must be larger than 0, got {ios}")
            q, r = divmod(size, ios)
            bounds, start = [], 0
            for i in range(ios - 1):
                start += q + (1 if i < r else 0)
                bounds.append(start)
        else:
            bounds = list(ios)
        edges = [0] + [builtins.min(builtins.max(b if b >= 0 else b + size, 0), size)
                       for b in bounds] + [size]
        return tuple(self.narrow(d, a, builtins.max(b - a, 0)) for a, b in zip(edges, edges[1:]))

    def hsplit(self, sections: Any) -> tuple:
        if self.ndim == 0:
            raise RuntimeError("torch.hsplit requires a tensor with at least 1 dimension, but "
                               "got a tensor with 0 dimensions!")
        return self._even_split(sections, 1 if self.ndim > 1 else 0, "hsplit")

    def vsplit(self, sections: Any) -> tuple:
        if self.ndim < 2:
            raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but "
                               f"got a tensor with {self.ndim} dimensions!")
        return self._even_split(sections, 0, "vsplit")

    def dsplit(self, sections: Any) -> tuple:
        if self.ndim < 3:
            raise RuntimeError(f"torch.dsplit requires a tensor with at least 3 dimension, but "
                               f"got a tensor with {self.ndim} dimensions!")
        return self._even_split(sections, 2, "dsplit")

    def _even_split(self, sections: Any, dim: int, name: str) -> tuple:
        if isinstance(sections, builtins.int) and self.shape[dim] % sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but "
                               f"the size of the dimension {self.shape[dim]} is not divisible "
                               f"by the split_size {sections}!")
        return self.tensor_split(sections, dim)

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Any:
        """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards
        the second)."""
        if len(dims) != 2:
            raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
        a, b = (norm_dim(x, self.ndim) for x in dims)
        if a == b:
            raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {a} "
                               f"and dim1 = {b}")
        k %= 4
        if k == 1:
            return self.flip(b).transpose(a, b)
        if k == 2:
            return self.flip(a, b)
        if k == 3:
            return self.flip(a).transpose(a, b)
        return self.clone()

    def fliplr(self) -> Any:
        if self.ndim < 2:
            raise RuntimeError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self) -> Any:
        if self.ndim < 1:
            raise RuntimeError("Input must be >= 1-d.")
        return self.flip(0)


for _m in ("index_fill", "index_copy", "index_put", "masked_scatter", "put", "scatter_add"):
    setattr(IndexingMixin, _m + "_", _inplace_form(_m))
