"""Gathers and scatters along a dim with an index tensor (a mixin): gather, index_select,
take_along_dim, scatter, scatter_add, scatter_reduce, index_add, repeat_interleave."""
from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, cast

from softgrad import backend
from softgrad.ops import select as Sel
from softgrad.ops import shape as S
from softgrad.tensor.args import check_index, index_on, int_index, norm_dim
from softgrad.tensor.base import TensorBase

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np


class GatherMixin(TensorBase):
    """Gathers and scatters along a dim with an index tensor: gather, index_select,
    take_along_dim, scatter, scatter_add, scatter_reduce, index_add, repeat_interleave."""

    __slots__ = ()

    def gather(self, dim: int, index: Any, sparse_grad: bool = False) -> Tensor:
        """out[i][j] = self[index[i][j]][j] (dim 0). ``sparse_grad`` is accepted; the gradient
        is dense."""
        d = norm_dim(dim, self.ndim)
        idx = index._data if isinstance(index, TensorBase) else np.asarray(index)
        check_index(idx, self.shape[d], "gather", self.shape, d)
        if idx.ndim != self.ndim:
            raise RuntimeError(f"gather(): Index tensor must have the same number of dimensions "
                               f"as input tensor ({idx.ndim} vs {self.ndim})")
        return type(self)._apply(S.Gather, self, index=index_on(idx, self._data), axis=d)

    def index_select(self, dim: int, index: Any) -> Tensor:
        d = norm_dim(dim, self.ndim)
        idx = index._data if isinstance(index, TensorBase) else np.asarray(index)
        if idx.ndim > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        check_index(idx, self.shape[d], "index_select", self.shape, d)
        full = (slice(None),) * d + (idx.reshape(-1),)
        return self[full]

    def take_along_dim(self, indices: Any, dim: Any = None) -> Tensor:
        """Values at ``indices`` along ``dim`` (of the flattened tensor when None)."""
        idx = int_index(indices, "take_along_dim")
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

    def scatter_add(self, dim: int, index: Any, src: Any) -> Tensor:
        d = norm_dim(dim, self.ndim)
        idx = index._data if isinstance(index, TensorBase) else np.asarray(index)
        check_index(idx, self.shape[d], "scatter_add", self.shape, d)
        src = self._operand(src)
        if idx.ndim != self.ndim or src.ndim != self.ndim or any(
                n > s or (k != d and n > m)
                for k, (n, s, m) in enumerate(zip(idx.shape, src.shape, self.shape))):
            raise RuntimeError(f"scatter_add(): expected index {tuple(idx.shape)} to be no larger "
                               f"than src {tuple(src.shape)} in every dimension and than self "
                               f"{tuple(self.shape)} apart from dimension {d}")
        return type(self)._apply(S.ScatterAdd, self, src, index=index_on(idx, self._data), axis=d)

    def scatter(self, dim: int, index: Any, src: Any = None, value: Any = None, *,
                reduce: Any = None) -> Tensor:
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
                       include_self: bool = True) -> Tensor:
        """Reduce ``src`` into a copy of self at ``index``: sum, prod, mean, amax, amin."""
        if reduce not in ("sum", "prod", "mean", "amax", "amin"):
            raise RuntimeError(f"scatter_reduce(): reduce argument must be one of sum, prod, "
                               f"mean, amax, amin, got {reduce!r}")
        d, idx = self._scatter_check(dim, index, "scatter_reduce")
        s = self._operand(src)
        self._check_src(idx, s, d, "scatter_reduce")
        return type(self)._apply(Sel.ScatterReduce, self, s, index=idx, axis=d, reduce=reduce,
                                 include_self=builtins.bool(include_self))

    def _scatter_check(self, dim: int, index: Any, name: str) -> tuple[int, Any]:
        d = norm_dim(dim, self.ndim)
        idx = int_index(index, name)
        check_index(idx, self.shape[d] if self.ndim else 1, name, self.shape, d)
        n = self.shape[d] if self.ndim else 1
        return d, index_on(idx % builtins.max(n, 1), self._data)

    def _scatter_src(self, index: Any, src: Any, value: Any) -> Tensor:
        if (src is None) == (value is None):
            raise TypeError("scatter(): give exactly one of src (a tensor) or value (a number)")
        if value is not None or not isinstance(src, TensorBase):
            v = value if value is not None else src
            shape = index.shape if hasattr(index, "shape") else np.asarray(index).shape
            return self._operand(v).expand(*shape) if shape else self._operand(v)
        return cast("Tensor", src)

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

    def index_add(self, dim: int, index: Any, source: Any, *, alpha: Any = 1) -> Tensor:
        """A copy of self with ``alpha * source`` added at ``index`` along ``dim``."""
        d = norm_dim(dim, self.ndim)
        idx = int_index(index, "index_add").reshape(-1)
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

    def repeat_interleave(self, repeats: Any, dim: Any = None, *,
                          output_size: Any = None) -> Tensor:
        """Each element repeated ``repeats`` times along ``dim`` (flattened when None)."""
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else norm_dim(dim, self.ndim)
        if x.ndim == 0:
            x = x.reshape(1)
        r = backend.to_numpy(repeats._data) if isinstance(repeats, TensorBase) else repeats
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
