"""Shape changes of Tensor (a mixin): reshapes, permutations, broadcasting, reordering and
sliding windows. Reshapes, permutations and expands are views of the input's memory."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from softgrad import backend
from softgrad.ops import shape as S
from softgrad.tensor.args import norm_dim, shape_arg, vararg
from softgrad.tensor.base import TensorBase

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np


class ShapeMixin(TensorBase):
    """Shape changes of Tensor: reshapes, permutations, broadcasting, reordering, windows."""

    __slots__ = ()

    # ------------------------------------------------------------------ reshaping
    def reshape(self, *shape: Any, **shape_kw: Any) -> Tensor:
        shape = shape_arg(vararg(shape, shape_kw, "shape", "reshape") if shape_kw else shape)
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
            return self  # type: ignore[return-value]  # hot path: no cast() call
        return type(self)._apply(S.Reshape, self, shape=shape)

    def view(self, *size: Any, **size_kw: Any) -> Tensor:
        return self.reshape(*vararg(size, size_kw, "size", "view"))

    def view_as(self, other: Any) -> Tensor:
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = norm_dim(start_dim, self.ndim), norm_dim(end_dim, self.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shp = self.shape
        return self.reshape(shp[:s] + (math.prod(shp[s:e + 1]),) + shp[e + 1:])

    def ravel(self) -> Tensor:
        """The elements as one dimension (a view where possible): (N,)."""
        return self.reshape(-1)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        d = norm_dim(dim, self.ndim)
        sizes = tuple(sizes)
        if -1 in sizes:
            known = math.prod(s for s in sizes if s != -1)
            sizes = tuple(self.shape[d] // known if s == -1 else s for s in sizes)
        if math.prod(sizes) != self.shape[d]:
            raise RuntimeError(f"unflatten: sizes {list(sizes)} don't multiply up to the size "
                               f"of dim {dim} ({self.shape[d]}) in the input")
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])

    def squeeze(self, dim: Any = None) -> Tensor:
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = {norm_dim(d, self.ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        return self.reshape(tuple(s for i, s in enumerate(self.shape)
                                  if not (i in dims and s == 1)))

    def unsqueeze(self, dim: int) -> Tensor:
        d = norm_dim(dim, self.ndim + 1)
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    # ------------------------------------------------------------------ permuting
    def permute(self, *dims: Any, **dims_kw: Any) -> Tensor:
        dims = vararg(dims, dims_kw, "dims", "permute")
        dims = tuple(norm_dim(d, self.ndim) for d in shape_arg(dims))
        if sorted(dims) != list(range(self.ndim)):
            raise RuntimeError(f"permute(): dims {dims} are not a permutation of the "
                               f"{self.ndim} dims of a tensor of shape {tuple(self.shape)}")
        if dims == tuple(range(self.ndim)):
            return self  # type: ignore[return-value]  # hot path: no cast() call
        return type(self)._apply(S.Permute, self, axes=dims)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        if self.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
            return self  # type: ignore[return-value]  # hot path: no cast() call
        d0, d1 = norm_dim(dim0, self.ndim), norm_dim(dim1, self.ndim)
        axes = list(range(self.ndim))
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return self.permute(*axes)

    swapdims = transpose

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose(axis0, axis1)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else cast("Tensor", self)

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def movedim(self, source: Any, destination: Any) -> Tensor:
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
        order: list[int | None] = [None] * self.ndim
        for s, d in zip(src, dst):
            order[d] = s
        rest = iter(i for i in range(self.ndim) if i not in src)
        return self.permute(*[next(rest) if o is None else o for o in order])

    moveaxis = movedim

    # ------------------------------------------------------------------ broadcasting
    def expand(self, *sizes: Any, **size_kw: Any) -> Tensor:
        sizes = shape_arg(vararg(sizes, size_kw, "size", "expand"))
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
            return self  # type: ignore[return-value]  # hot path: no cast() call
        return type(self)._apply(S.Expand, self, shape=shape)

    def expand_as(self, other: Any) -> Tensor:
        return self.expand(other.shape)

    broadcast_to = expand

    def repeat(self, *sizes: Any, **repeats_kw: Any) -> Tensor:
        sizes = shape_arg(vararg(sizes, repeats_kw, "repeats", "repeat"))
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

    def tile(self, *dims: Any, **dims_kw: Any) -> Tensor:
        dims = shape_arg(vararg(dims, dims_kw, "dims", "tile"))
        dims = (1,) * (self.ndim - len(dims)) + dims
        return self.repeat(*dims)

    def sum_to_size(self, *size: Any) -> Tensor:
        """Sum the broadcast dims away so that the result has ``size``."""
        shape = shape_arg(size)
        lead = self.ndim - len(shape)
        if lead < 0 or any(s not in (1, n) for s, n in zip(shape, self.shape[lead:])):
            raise RuntimeError(f"size {{{', '.join(map(str, shape))}}} is not expandable to "
                               f"size {{{', '.join(map(str, self.shape))}}}.")
        out = self.sum(tuple(range(lead))) if lead else cast("Tensor", self)
        dims = tuple(i for i, (s, n) in enumerate(zip(shape, out.shape)) if s == 1 and n != 1)
        return out.sum(dims, keepdim=True) if dims else out

    # ------------------------------------------------------------------ reordering
    def flip(self, *dims: Any, **dims_kw: Any) -> Tensor:
        dims = vararg(dims, dims_kw, "dims", "flip")
        dims = tuple(norm_dim(d, self.ndim) for d in shape_arg(dims))
        return type(self)._apply(S.Flip, self, axes=dims)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
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

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
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

    def fliplr(self) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError("Input must be >= 2-d.")
        return self.flip(1)

    def flipud(self) -> Tensor:
        if self.ndim < 1:
            raise RuntimeError("Input must be >= 1-d.")
        return self.flip(0)

    # ------------------------------------------------------------------ windows
    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
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
                   storage_offset: int | None = None) -> Tensor:
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
