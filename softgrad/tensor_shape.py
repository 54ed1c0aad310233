"""Tensor shape, view and indexing methods (a mixin)."""
from __future__ import annotations

import builtins
import math
from typing import Any, Sequence

from softgrad import backend
from softgrad.ops import shape as S
from softgrad.tensor_math import norm_dim

np = backend.np


def _shape_arg(shape: tuple) -> tuple:
    """Accept f(2, 3) and f((2, 3))."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(builtins.int(s) for s in shape)


def _index_arg(index: Any) -> Any:
    """Convert Tensors inside an index to arrays."""
    if isinstance(index, tuple):
        return tuple(_index_arg(i) for i in index)
    if hasattr(index, "_ctx"):
        return index._data
    if isinstance(index, list):
        return np.asarray([i.item() if hasattr(i, "_ctx") else i for i in index])
    return index


def _index_put(old: Any, index: Any, value: Any) -> Any:
    """``old`` with ``value`` written at ``index``, as a differentiable expression: gradient
    flows to ``old`` outside the indexed region and to ``value`` inside it."""
    from softgrad.ops.elementwise import Where

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


def _index_on(index: Any, data: Any) -> Any:
    """Index arrays moved to ``data``'s device: host indices may index a GPU tensor (as in
    PyTorch); GPU indices into a CPU tensor are an error."""
    if backend._cupy is None:
        return index
    if isinstance(index, tuple):
        return tuple(_index_on(i, data) for i in index)
    if hasattr(index, "shape") and not isinstance(index, np.generic):
        dev, idev = backend.device_of(data), backend.device_of(index)
        if idev != dev:
            if dev == "cpu":
                raise RuntimeError(f"indices should be either on cpu or on the same device as "
                                   f"the indexed tensor (cpu), got indices on {idev}")
            return backend.to_device(index, dev)
    return index


class ShapeMixin:
    """Shape manipulation and indexing for Tensor."""

    __slots__ = ()

    # ------------------------------------------------------------------ reshaping
    def reshape(self, *shape: Any) -> Any:
        shape = _shape_arg(shape)
        known = [s for s in shape if s != -1]
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        total = math.prod(known)
        if (shape.count(-1) and (total == 0 or self.numel() % total)) or (
                not shape.count(-1) and total != self.numel()):
            raise RuntimeError(
                f"shape '{list(shape)}' is invalid for input of size {self.numel()} "
                f"(input shape {tuple(self.shape)})")
        if shape == self.shape:
            return self
        return type(self)._apply(S.Reshape, self, shape=shape)

    view = reshape

    def view_as(self, other: Any) -> Any:
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Any:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = norm_dim(start_dim, self.ndim), norm_dim(end_dim, self.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shp = self.shape
        return self.reshape(shp[:s] + (math.prod(shp[s:e + 1]),) + shp[e + 1:])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Any:
        d = norm_dim(dim, self.ndim)
        sizes = tuple(sizes)
        if -1 in sizes:
            known = math.prod(s for s in sizes if s != -1)
            sizes = tuple(self.shape[d] // known if s == -1 else s for s in sizes)
        if math.prod(sizes) != self.shape[d]:
            raise RuntimeError(f"unflatten: sizes {list(sizes)} don't multiply up to the size "
                               f"of dim {dim} ({self.shape[d]}) in the input")
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])

    def squeeze(self, dim: Any = None) -> Any:
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = {norm_dim(d, self.ndim) for d in dims}
        return self.reshape(tuple(s for i, s in enumerate(self.shape)
                                  if not (i in dims and s == 1)))

    def unsqueeze(self, dim: int) -> Any:
        d = norm_dim(dim, self.ndim + 1)
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    # ------------------------------------------------------------------ permuting
    def permute(self, *dims: Any) -> Any:
        dims = tuple(norm_dim(d, self.ndim) for d in _shape_arg(dims))
        if sorted(dims) != list(range(self.ndim)):
            raise RuntimeError(f"permute(): dims {dims} are not a permutation of the "
                               f"{self.ndim} dims of a tensor of shape {tuple(self.shape)}")
        if dims == tuple(range(self.ndim)):
            return self
        return type(self)._apply(S.Permute, self, axes=dims)

    def transpose(self, dim0: int, dim1: int) -> Any:
        if self.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
            return self
        d0, d1 = norm_dim(dim0, self.ndim), norm_dim(dim1, self.ndim)
        axes = list(range(self.ndim))
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return self.permute(*axes)

    swapaxes = swapdims = transpose

    def t(self) -> Any:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self) -> Any:  # noqa: N802
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Any:  # noqa: N802
        return self.transpose(-2, -1)

    def movedim(self, source: Any, destination: Any) -> Any:
        """Move dim(s) ``source`` to position(s) ``destination``; the others keep their order."""
        src = source if isinstance(source, (tuple, list)) else (source,)
        dst = destination if isinstance(destination, (tuple, list)) else (destination,)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)}"
                               f" dims) should contain the same number of dims as destination "
                               f"({list(dst)} dims)")
        src = [norm_dim(s, self.ndim) for s in src]
        dst = [norm_dim(d, self.ndim) for d in dst]
        if len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise RuntimeError(f"movedim: repeated dim in source {list(src)} or destination "
                               f"{list(dst)}")
        order = [None] * self.ndim
        for s, d in zip(src, dst):
            order[d] = s
        rest = iter(i for i in range(self.ndim) if i not in src)
        order = [next(rest) if o is None else o for o in order]
        return self.permute(*order)

    moveaxis = movedim

    # ------------------------------------------------------------------ broadcasting
    def expand(self, *sizes: Any) -> Any:
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be "
                               f"greater or equal to the number of dimensions ({self.ndim})")
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        for i, s in enumerate(self.shape):
            if s != 1 and s != shape[i + lead]:
                raise RuntimeError(
                    f"The expanded size of the tensor ({shape[i + lead]}) must match the "
                    f"existing size ({s}) at non-singleton dimension {i + lead}. Target sizes: "
                    f"{list(sizes)}. Tensor sizes: {list(self.shape)}")
        if shape == self.shape:
            return self
        return type(self)._apply(S.Expand, self, shape=shape)

    def expand_as(self, other: Any) -> Any:
        return self.expand(other.shape)

    broadcast_to = expand

    def repeat(self, *sizes: Any) -> Any:
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               "number of dimensions of tensor")
        x = self.reshape((1,) * (len(sizes) - self.ndim) + self.shape)
        inter = []
        for r, s in zip(sizes, x.shape):
            inter += [r, s]
        y = x.reshape(tuple(v for s in x.shape for v in (1, s))).expand(tuple(inter))
        out = y.reshape(tuple(r * s for r, s in zip(sizes, x.shape)))
        return out.clone() if out._data.base is not None else out  # always fresh memory

    def tile(self, *dims: Any) -> Any:
        dims = _shape_arg(dims)
        dims = (1,) * (self.ndim - len(dims)) + dims
        return self.repeat(*dims)

    # ------------------------------------------------------------------ reorder
    def flip(self, *dims: Any) -> Any:
        dims = tuple(norm_dim(d, self.ndim) for d in _shape_arg(dims))
        return type(self)._apply(S.Flip, self, axes=dims)

    def roll(self, shifts: Any, dims: Any = None) -> Any:
        if isinstance(shifts, list):
            shifts = tuple(shifts)
        if isinstance(dims, list):
            dims = tuple(dims)
        n_shifts = len(shifts) if isinstance(shifts, tuple) else 1
        n_dims = 0 if dims is None else len(dims) if isinstance(dims, tuple) else 1
        if (dims is None and n_shifts != 1) or (dims is not None and n_shifts != n_dims):
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {n_shifts}, "
                               f"dims: {n_dims}")
        return type(self)._apply(S.Roll, self, shifts=shifts, axes=dims)

    # ------------------------------------------------------------------ slicing
    def narrow(self, dim: int, start: int, length: int) -> Any:
        d = norm_dim(dim, self.ndim)
        if start < 0:
            start += self.shape[d]
        if not 0 <= start <= start + length <= self.shape[d]:
            raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds "
                               f"dimension size ({self.shape[d]}).")
        idx = [slice(None)] * self.ndim
        idx[d] = slice(start, start + length)
        return self[tuple(idx)]

    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple:
        d = norm_dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, builtins.int):
            step = split_size_or_sections
            if step <= 0 and n:
                raise RuntimeError(f"split(): split_size can only be 0 if dimension size is 0, "
                                   f"but got split_size={step} for dimension {dim} of size {n}")
            step = builtins.max(step, 1)
            sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                                   f"{n} (input tensor's size at dimension {dim}), but got "
                                   f"split_sizes={sizes}")
        out, start = [], 0
        for s in sizes:
            out.append(self.narrow(d, start, s))
            start += s
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        n = self.shape[norm_dim(dim, self.ndim)]
        return self.split(max(-(-n // chunks), 1), dim)

    def unbind(self, dim: int = 0) -> tuple:
        d = norm_dim(dim, self.ndim)
        return tuple(self.select(d, i) for i in range(self.shape[d]))

    def select(self, dim: int, index: int) -> Any:
        idx = [slice(None)] * self.ndim
        idx[norm_dim(dim, self.ndim)] = index
        return self[tuple(idx)]

    def __getitem__(self, index: Any) -> Any:
        index = _index_on(_index_arg(index), self._data)
        try:
            return type(self)._apply(S.Getitem, self, index=index)
        except IndexError as exc:
            raise IndexError(f"{exc} (indexing a tensor of shape {tuple(self.shape)})") from None

    def __setitem__(self, index: Any, value: Any) -> None:
        idx = _index_on(_index_arg(index), self._data)
        if self._graph_inplace_needed("__setitem__", value):  # recorded, as PyTorch's index_put_
            self._rebase("__setitem__", lambda old: _index_put(old, idx, old._operand(value)))
            return
        v = value._data if hasattr(value, "_ctx") else value
        self._data[idx] = v
        self._version += 1

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    # ------------------------------------------------------------------ gather/scatter
    def gather(self, dim: int, index: Any) -> Any:
        d = norm_dim(dim, self.ndim)
        idx = index._data if hasattr(index, "_ctx") else np.asarray(index)
        _check_index(idx, self.shape[d], "gather", self.shape, d)
        if idx.ndim != self.ndim:
            raise RuntimeError(f"gather(): Index tensor must have the same number of dimensions "
                               f"as input tensor ({idx.ndim} vs {self.ndim})")
        return type(self)._apply(S.Gather, self, index=_index_on(idx, self._data), axis=d)

    def scatter_add(self, dim: int, index: Any, src: Any) -> Any:
        d = norm_dim(dim, self.ndim)
        idx = index._data if hasattr(index, "_ctx") else np.asarray(index)
        _check_index(idx, self.shape[d], "scatter_add", self.shape, d)
        src = self._operand(src)
        if idx.ndim != self.ndim or src.ndim != self.ndim or any(
                n > s or (k != d and n > m)
                for k, (n, s, m) in enumerate(zip(idx.shape, src.shape, self.shape))):
            raise RuntimeError(f"scatter_add(): expected index {tuple(idx.shape)} to be no larger "
                               f"than src {tuple(src.shape)} in every dimension and than self "
                               f"{tuple(self.shape)} apart from dimension {d}")
        return type(self)._apply(S.ScatterAdd, self, src, index=_index_on(idx, self._data), axis=d)

    def index_select(self, dim: int, index: Any) -> Any:
        d = norm_dim(dim, self.ndim)
        idx = index._data if hasattr(index, "_ctx") else np.asarray(index)
        if idx.ndim > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        _check_index(idx, self.shape[d], "index_select", self.shape, d)
        full = (slice(None),) * d + (idx.reshape(-1),)
        return self[full]

    def masked_fill(self, mask: Any, value: Any) -> Any:
        from softgrad.functions import where

        m = mask if hasattr(mask, "_ctx") else type(self)._wrap(np.asarray(mask))
        if m._data.dtype != np.bool_:
            raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with "
                               f"dtype {m.dtype}")
        if not _broadcasts_to(m.shape, self.shape):
            raise RuntimeError(f"masked_fill: the mask of shape {tuple(m.shape)} must be "
                               f"broadcastable to the input of shape {tuple(self.shape)}")
        if hasattr(value, "_ctx") and value.ndim:
            raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s)")
        return where(m, value, self)

    def masked_fill_(self, mask: Any, value: Any) -> Any:
        if self._graph_inplace_needed("masked_fill_", value):
            return self._rebase("masked_fill_", lambda old: old.masked_fill(mask, value))
        m = mask._data if hasattr(mask, "_ctx") else np.asarray(mask)
        self._data[...] = np.where(m, value.item() if hasattr(value, "_ctx") else value,
                                  self._data)
        self._version += 1
        return self


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _check_index(idx: Any, size: int, name: str, shape: tuple, dim: int) -> None:
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {idx.dtype}")
    if idx.size and (idx.min() < -size or idx.max() >= size):
        raise IndexError(f"{name}(): index {int(idx.max() if idx.max() >= size else idx.min())} "
                         f"is out of bounds for dimension {dim} with size {size} "
                         f"(input shape {tuple(shape)})")
