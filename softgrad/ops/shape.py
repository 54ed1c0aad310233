"""Shape and indexing primitives: reshape, permute, expand, getitem, cat, flip, roll, gather."""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function
from softgrad.backend import xp_of


class Reshape(Function):
    """grad = g reshaped to the input shape."""

    def forward(self, a: Any, shape: tuple = ()) -> Any:
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g: Any) -> Any:
        return g.reshape(self.shape)


class Permute(Function):
    """grad = g permuted by the inverse permutation."""

    def forward(self, a: Any, axes: tuple = ()) -> Any:
        self.inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
        return self.xp.transpose(a, axes)

    def backward(self, g: Any) -> Any:
        return self.xp.transpose(g, self.inverse)


class Expand(Function):
    """broadcast_to; the engine sums the gradient back to the input shape."""

    def forward(self, a: Any, shape: tuple = ()) -> Any:
        return self.xp.broadcast_to(a, shape)

    def backward(self, g: Any) -> Any:
        return g


class Getitem(Function):
    """x[index]: grad scattered back; repeated advanced indices accumulate."""

    def forward(self, a: Any, index: Any = None) -> Any:
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        self.advanced = _is_advanced(index)
        return a[index]

    def backward(self, g: Any) -> Any:
        return scatter_into_zeros(self.xp, g, self.shape, self.dtype, self.index, self.advanced)

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: the same scatter as the differentiable ``IndexAddZeros``."""
        return self.xp.index_add_zeros(g, self.shape, self.index)


class IndexAddZeros(Function):
    """zeros(shape)[index] += g; the backward of Getitem, itself differentiable: grad = gg[index].

    ``accumulate``: whether repeated positions add up (an advanced index may repeat one);
    False is a plain assignment, for indices known to be distinct. None: decide from the index.
    """

    def forward(self, g: Any, shape: tuple = (), index: Any = None,
                accumulate: bool | None = None) -> Any:
        self.index = index
        adv = _is_advanced(index) if accumulate is None else accumulate
        return scatter_into_zeros(self.xp, g, shape, g.dtype, index, adv)

    def backward(self, gg: Any) -> Any:
        return gg[self.index]


def scatter_into_zeros(xp: Any, g: Any, shape: tuple, dtype: Any, index: Any, adv: bool) -> Any:
    """A zero array of ``shape`` with ``g`` added at ``index`` (accumulating repeats)."""
    out = xp.zeros(shape, dtype=dtype)
    if adv:
        xp.add.at(out, index, g)
    else:
        out[index] = g
    return out


def _is_advanced(index: Any) -> bool:
    items = index if type(index) is tuple else (index,)
    for it in items:
        if it is None or it is Ellipsis or isinstance(it, (int, slice)):
            continue
        return True
    return False


class Cat(Function):
    """concatenate along an axis: grad = the matching slices of g."""

    def forward(self, *arrays: Any, axis: int = 0) -> Any:
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return self.xp.concatenate(arrays, axis=axis)

    def backward(self, g: Any) -> tuple:
        out, start = [], 0
        idx = [slice(None)] * g.ndim
        for need, n in zip(self.needs_input_grad, self.sizes):
            if need:
                idx[self.axis] = slice(start, start + n)
                out.append(g[tuple(idx)])
            else:
                out.append(None)
            start += n
        return tuple(out)


class Flip(Function):
    """grad = g flipped back."""

    def forward(self, a: Any, axes: tuple = ()) -> Any:
        self.axes = axes
        return self.xp.flip(a, axes)

    def backward(self, g: Any) -> Any:
        return self.xp.flip(g, self.axes)


class Roll(Function):
    """grad = g rolled back by the negated shifts."""

    def forward(self, a: Any, shifts: Any = 0, axes: Any = None) -> Any:
        self.shifts, self.axes = shifts, axes
        return self.xp.roll(a, shifts, axes)

    def backward(self, g: Any) -> Any:
        neg = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return self.xp.roll(g, neg, self.axes)


class Gather(Function):
    """torch.gather(x, dim, index): grad = zeros with g added at the gathered positions."""

    def forward(self, a: Any, index: Any = None, axis: int = 0) -> Any:
        self.shape, self.dtype, self.axis = a.shape, a.dtype, axis
        self.full_index = _full_index(xp_of(index), index, axis)
        return a[self.full_index]

    def backward(self, g: Any) -> Any:
        return scatter_into_zeros(self.xp, g, self.shape, self.dtype, self.full_index, True)

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: the same scatter as the differentiable ``IndexAddZeros``."""
        return self.xp.index_add_zeros(g, self.shape, self.full_index)


class ScatterAdd(Function):
    """x.scatter_add(dim, index, src): grad_x = g, grad_src = gather(g, dim, index)."""

    def forward(self, a: Any, src: Any, index: Any = None, axis: int = 0) -> Any:
        full = _full_index(xp_of(index), index, axis)
        self.full_index = full
        out = a.copy()
        sub = src[tuple(slice(0, n) for n in index.shape)]
        self.xp.add.at(out, full, sub)
        self.src_shape = src.shape
        return out

    def backward(self, g: Any) -> tuple:
        gsrc = None
        if self.needs_input_grad[1]:
            picked = g[self.full_index]
            if picked.shape == self.src_shape:
                gsrc = picked
            else:
                gsrc = self.call(IndexAddZeros, picked, shape=self.src_shape,
                                 index=tuple(slice(0, n) for n in picked.shape))
        return g, gsrc


def _full_index(xp: Any, index: Any, axis: int) -> tuple:
    """Advanced-index tuple that selects ``index`` along ``axis`` and aranges elsewhere."""
    nd = index.ndim
    parts = []
    for d in range(nd):
        if d == axis:
            parts.append(index)
        else:
            shape = [1] * nd
            shape[d] = index.shape[d]
            parts.append(xp.arange(index.shape[d]).reshape(shape))
    return tuple(parts)
