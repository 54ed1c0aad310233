"""Splitting a Tensor along a dim (a mixin): narrow, split, chunk, unbind, tensor_split;
and their inverse, ``cat`` and ``stack`` of tensors (``sg.cat`` converts other data first).
"""
from __future__ import annotations

import builtins
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from softgrad import dtypes
from softgrad.ops import shape as S
from softgrad.tensor.args import norm_dim
from softgrad.tensor.base import TensorBase

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor


class SplitMixin(TensorBase):
    """Splitting a Tensor along a dim (narrow, split, chunk, unbind, tensor_split); ``cat`` and
    ``stack`` below are the inverse."""

    __slots__ = ()

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        d = norm_dim(dim, self.ndim)
        if start < 0:
            start += self.shape[d]
        if not 0 <= start <= start + length <= self.shape[d]:
            raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds "
                               f"dimension size ({self.shape[d]}).")
        idx = [slice(None)] * self.ndim
        idx[d] = slice(start, start + length)
        return self[tuple(idx)]

    def split(self, split_size_or_sections: Any = None, dim: int = 0, *,
              split_size: Any = None) -> tuple[Tensor, ...]:
        """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given
        section sizes; ``split_size=`` is the method's keyword in PyTorch."""
        if split_size_or_sections is None:
            if split_size is None:
                raise TypeError("split() missing required argument 'split_size' (pos 1)")
            split_size_or_sections = split_size
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

    def split_with_sizes(self, split_sizes: Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces of the listed sizes along ``dim`` (they must sum to its size)."""
        return self.split(list(split_sizes), dim)

    def narrow_copy(self, dim: int, start: int, length: int) -> Tensor:
        """``narrow`` as a new tensor rather than a view."""
        return self.narrow(dim, start, length).clone()

    def unsafe_split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return self.split(split_size, dim)

    def unsafe_split_with_sizes(self, split_sizes: Sequence[int],
                                dim: int = 0) -> tuple[Tensor, ...]:
        return self.split_with_sizes(split_sizes, dim)

    def unsafe_chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return self.chunk(chunks, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        n = self.shape[norm_dim(dim, self.ndim)]
        return self.split(max(-(-n // chunks), 1), dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        d = norm_dim(dim, self.ndim)
        return tuple(self.select(d, i) for i in range(self.shape[d]))

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        """Split into n nearly equal parts (the first n % size get one more), or at the
        listed indices."""
        d = norm_dim(dim, self.ndim)
        size = self.shape[d]
        ios = indices_or_sections
        if isinstance(ios, TensorBase):
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
        return tuple(self.narrow(d, a, builtins.max(b - a, 0))
                     for a, b in itertools.pairwise(edges))

    def hsplit(self, sections: Any) -> tuple[Tensor, ...]:
        if self.ndim == 0:
            raise RuntimeError("torch.hsplit requires a tensor with at least 1 dimension, but "
                               "got a tensor with 0 dimensions!")
        return self._even_split(sections, 1 if self.ndim > 1 else 0, "hsplit")

    def vsplit(self, sections: Any) -> tuple[Tensor, ...]:
        if self.ndim < 2:
            raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but "
                               f"got a tensor with {self.ndim} dimensions!")
        return self._even_split(sections, 0, "vsplit")

    def dsplit(self, sections: Any) -> tuple[Tensor, ...]:
        if self.ndim < 3:
            raise RuntimeError(f"torch.dsplit requires a tensor with at least 3 dimension, but "
                               f"got a tensor with {self.ndim} dimensions!")
        return self._even_split(sections, 2, "dsplit")

    def _even_split(self, sections: Any, dim: int, name: str) -> tuple[Tensor, ...]:
        if isinstance(sections, builtins.int) and self.shape[dim] % sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but "
                               f"the size of the dimension {self.shape[dim]} is not divisible "
                               f"by the split_size {sections}!")
        return self.tensor_split(sections, dim)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate tensors along ``dim``. Shapes must agree except in ``dim``; the dtypes are
    promoted to a common one."""
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    tensors = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or list(tensors[:1])
    ref = tensors[0]
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    d = norm_dim(dim, ref.ndim)
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or builtins.any(
                a != b for k, (a, b) in enumerate(zip(t.shape, ref.shape)) if k != d):
            raise RuntimeError(
                f"cat(): Sizes of tensors must match except in dimension {d}. Expected shape "
                f"compatible with {tuple(ref.shape)} but got {tuple(t.shape)} for tensor {i} "
                "in the list.")
    dt = dtypes.promote(*[t._data.dtype for t in tensors])
    tensors = [t._cast(dt) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    return ref._apply(S.Cat, *tensors, axis=d)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack equally shaped tensors along a new dim."""
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{tuple(tensors[0].shape)} at entry 0 and {tuple(t.shape)} at "
                               f"entry {i}")
    d = norm_dim(dim, tensors[0].ndim + 1)
    return cat([t.unsqueeze(d) for t in tensors], d)
