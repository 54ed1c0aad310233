"""Selection and scatter primitives: picks at unique positions, index_add, scatter,
scatter_reduce, repeat_interleave and cumprod.

"Unique" picks (sort/topk values, diagonals, masked_select) never hit a position twice, so
their backward assigns into zeros instead of accumulating.
"""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function
from softgrad.ops.shape import Gather, Getitem, IndexAddZeros, _full_index, scatter_into_zeros
from softgrad.backend import device_of, np, to_device, xp_of


class GetitemUnique(Getitem):
    """x[index] where no element is picked twice: grad = zeros with g assigned at index."""

    def backward(self, g: Any) -> Any:
        return scatter_into_zeros(self.xp, g, self.shape, self.dtype, self.index, False)


class GatherUnique(Gather):
    """take_along_axis(x, index, axis) with distinct indices per line (sort, topk, kthvalue)."""

    def backward(self, g: Any) -> Any:
        return scatter_into_zeros(self.xp, g, self.shape, self.dtype, self.full_index, False)


class Contiguous(Function):
    """A row-major copy: grad = g."""

    def forward(self, a: Any) -> Any:
        return self.xp.ascontiguousarray(a)

    def backward(self, g: Any) -> Any:
        return g


def _along(axis: int, index: Any) -> tuple:
    return (slice(None),) * axis + (index,)


class IndexAdd(Function):
    """x.index_add(dim, index, src, alpha): grad_x = g, grad_src = alpha * g[..., index, ...].

    Repeated indices are added in rounds: round r adds the r-th occurrence of every index,
    so each round is a plain fancy-indexed add over distinct positions (in index order per
    position, as a sequential loop would).
    """

    def forward(self, a: Any, src: Any, index: Any = None, axis: int = 0,
                alpha: Any = 1) -> Any:
        self.key, self.alpha = _along(axis, index), alpha
        out = a.copy()
        s = src if alpha == 1 else src * alpha
        for rows, idx in distinct_rounds(xp_of(index), index):
            if rows is None:
                out[self.key] += s  # distinct indices: one strided add
            else:
                out[_along(axis, idx)] += self.xp.take(s, rows, axis=axis)
        return out

    def backward(self, g: Any) -> tuple:
        gs = None
        if self.needs_input_grad[1]:
            gs = g[self.key]
            if self.alpha != 1:
                gs = gs * self.alpha
        return g, gs


def distinct_rounds(ix: Any, index: Any) -> list:
    """Split a 1-D ``index`` into rounds of distinct values: ``[(positions, values), ...]``;
    ``[(None, index)]`` when its values are already distinct. Round r holds the r-th
    occurrence (in order) of each repeated value."""
    n = len(index)
    if n == 0:
        return []
    order = ix.argsort(index, kind="stable")
    si = index[order]
    new = ix.concatenate([ix.ones(1, dtype=bool), si[1:] != si[:-1]])
    if bool(new.all()):
        return [(None, index)]
    pos = ix.arange(n)
    rank = pos - ix.maximum.accumulate(ix.where(new, pos, 0))
    rounds = []
    for r in range(int(rank.max()) + 1):
        rows = ix.sort(order[rank == r])  # keep index order inside a round
        rounds.append((rows, index[rows]))
    return rounds


class Scatter(Function):
    """x.scatter(dim, index, src): grad_x = g zeroed where written, grad_src = g gathered."""

    def forward(self, a: Any, src: Any, index: Any = None, axis: int = 0) -> Any:
        self.full = _full_index(xp_of(index), index, axis)
        self.src_shape = src.shape
        out = a.copy()
        out[self.full] = src[tuple(slice(0, n) for n in index.shape)]
        return out

    def backward(self, g: Any) -> tuple:
        ga = gs = None
        if self.needs_input_grad[0]:
            keep = xp_of(self.full[0]).ones(g.shape, dtype=bool)
            keep[self.full] = False
            ga = self.xp.where(keep, g, 0)
        if self.needs_input_grad[1]:
            gs = _pad(self, g[self.full], self.src_shape)
        return ga, gs


def _pad(fn: Function, picked: Any, shape: tuple) -> Any:
    """``picked`` placed in the leading corner of zeros(shape)."""
    if tuple(picked.shape) == tuple(shape):
        return picked
    key = tuple(slice(0, n) for n in picked.shape)
    return fn.call(IndexAddZeros, picked, shape=shape, index=key, accumulate=False)


class ScatterReduce(Function):
    """x.scatter_reduce(dim, index, src, reduce, include_self).

    Gradients: sum -> g (x, if included) and gathered g (src); mean -> the same over the
    count; amax/amin -> g shared evenly among the elements equal to the result; prod ->
    g * result / element (exact where the element is nonzero). Targets are flat indices
    into x; on NumPy the reduction is one unbuffered ``ufunc.at`` pass.
    """

    def forward(self, a: Any, src: Any, index: Any = None, axis: int = 0, reduce: str = "sum",
                include_self: bool = True) -> Any:
        xp = self.xp
        s = src[tuple(slice(0, n) for n in index.shape)]
        self.axis, self.index = axis, index
        self.reduce, self.include_self = reduce, include_self
        self.src_shape, self.ishape = src.shape, index.shape
        self.a_shape, self.a_dtype = a.shape, a.dtype
        lin = _flat_targets(xp_of(index), index, axis, a.shape)
        vals = s.reshape(-1)
        out = a.copy()
        flat = out.reshape(-1)
        self.lin, self._touched, self._count = lin, None, None
        if reduce in ("sum", "mean") and a.dtype.kind == "f":
            total = xp.bincount(lin, weights=vals, minlength=a.size).reshape(a.shape)
            out = (out + total if include_self else xp.where(self.touched, total, out)).astype(
                a.dtype, copy=False)
        else:
            ufunc = {"sum": xp.add, "mean": xp.add, "prod": xp.multiply,
                     "amax": xp.maximum, "amin": xp.minimum}[reduce]
            if xp is np:
                if not include_self and reduce in ("amax", "amin"):
                    flat[lin] = vals  # any one value of a target starts its reduction
                elif not include_self:
                    flat[self.touched.reshape(-1)] = 1 if reduce == "prod" else 0
                ufunc.at(flat, lin, vals)
            else:
                uniq, red = _segment_reduce(xp, ufunc, vals, lin)
                flat[uniq] = ufunc(flat[uniq], red) if include_self else red
        if reduce == "mean":
            div = xp.where(self.touched, self.count, 1)
            out = out // div if a.dtype.kind in "iu" else out / div
        self.save_for_backward(a, src, out)
        return out

    @property
    def touched(self) -> Any:
        """Bool mask (x's shape) of the positions some src element is reduced into."""
        if self._touched is None:
            self._touched = self.hits > 0
        return self._touched

    @property
    def hits(self) -> Any:
        if self._count is None:
            shape = self.a_shape
            self._count = self.xp.bincount(self.lin, minlength=_size(shape)).reshape(shape)
        return self._count

    @property
    def count(self) -> Any:
        """Number of values reduced into each position (x itself included or not)."""
        hits = self.hits + self.touched if self.include_self else self.hits
        return hits.astype(self.a_dtype)

    @property
    def full(self) -> tuple:
        return _full_index(xp_of(self.index), self.index, self.axis)

    double_backward_error = "double backward through scatter_reduce is not supported"

    def backward(self, g: Any) -> tuple:
        a, src, out = self.saved
        xp, red, lin = self.xp, self.reduce, self.lin
        s = src[tuple(slice(0, n) for n in self.ishape)]
        if red in ("sum", "mean"):
            gg = g / xp.where(self.touched, self.count, 1) if red == "mean" else g
            ga = gg if self.include_self else xp.where(self.touched, 0, gg)
            gs = _pick(xp, gg, lin, s.shape)
        elif red == "prod":
            keep_self = self.include_self | ~self.touched
            ga = xp.where(keep_self, g * out / xp.where(a == 0, 1, a), 0)
            ga = xp.where(keep_self & (a == 0), g * _prod_without_self(self, a, s), ga)
            gs = _prod_src_grad(self, g, s, out)
        else:
            hit_a = a == out
            if not self.include_self:
                hit_a &= ~self.touched
            hit_s = s == _pick(xp, out, lin, s.shape)
            n = hit_a.astype(g.dtype)
            if xp is np:
                np.add.at(n.reshape(-1), lin[hit_s.reshape(-1)], n.dtype.type(1))
            else:
                n += xp.bincount(lin, weights=hit_s.reshape(-1),
                                 minlength=g.size).reshape(g.shape).astype(g.dtype)
            share = g / xp.maximum(n, 1)  # masks multiply, as in PyTorch (branch-free)
            ga = share * hit_a
            gs = _pick(xp, share, lin, s.shape) * hit_s
        return ga, _pad(self, gs, self.src_shape)


def _size(shape: tuple) -> int:
    n = 1
    for v in shape:
        n *= v
    return n


def _flat_targets(ix: Any, index: Any, axis: int, shape: tuple) -> Any:
    """Flat indices into an array of ``shape`` where ``index`` (values along ``axis``, its
    other coordinates its own positions) points: a 1-D int64 array of index.size."""
    if not shape:
        return ix.zeros(index.size, dtype=ix.int64)
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    base = ix.zeros(index.shape, dtype=ix.int64)
    for d, n in enumerate(index.shape):
        if d != axis and strides[d] and n > 1:
            base += (ix.arange(n, dtype=ix.int64) * strides[d]).reshape(
                (1,) * d + (n,) + (1,) * (len(shape) - d - 1))
    base += index.astype(ix.int64, copy=False) * strides[axis]
    return base.reshape(-1)


def _pick(xp: Any, a: Any, lin: Any, shape: tuple) -> Any:
    """The elements of ``a`` at flat indices ``lin``, shaped ``shape`` (a 1-D take)."""
    return xp.take(xp.ascontiguousarray(a).reshape(-1), lin).reshape(shape)


def _segment_reduce(xp: Any, ufunc: Any, vals: Any, lin: Any) -> tuple:
    """``ufunc``-reduce the values that share a flat target index: (targets, reductions)."""
    if lin.size == 0:
        return lin, vals
    order = xp.argsort(lin, kind="stable")
    ls = lin[order]
    starts = xp.flatnonzero(xp.concatenate([xp.ones(1, dtype=bool), ls[1:] != ls[:-1]]))
    return ls[starts], ufunc.reduceat(vals[order], starts)


def _prod_without_self(fn: ScatterReduce, a: Any, s: Any) -> Any:
    """Product of the src values scattered into each position (self left out)."""
    p = fn.xp.ones(a.shape, dtype=a.dtype)
    fn.xp.multiply.at(p, fn.full, s)
    return p


def _prod_src_grad(fn: ScatterReduce, g: Any, s: Any, out: Any) -> Any:
    """d out / d src_j = product of the other factors, computed without dividing by zero."""
    xp, full = fn.xp, fn.full
    base = fn.saved[0] if fn.include_self else xp.ones_like(fn.saved[0])
    base = xp.where(fn.include_self | ~fn.touched, base, 1)
    zeros = xp.zeros(out.shape, dtype=s.dtype)
    xp.add.at(zeros, full, (s == 0).astype(s.dtype))
    zeros += base == 0
    nz_prod = xp.where(base == 0, 1, base).astype(s.dtype)
    xp.multiply.at(nz_prod, full, xp.where(s == 0, 1, s))
    # others = product of all factors but this one
    z_here = zeros[full] - (s == 0)
    others = xp.where(s == 0, nz_prod[full], nz_prod[full] / xp.where(s == 0, 1, s))
    others = xp.where(z_here > 0, 0, others)
    return g[full] * others


class RepeatInterleave(Function):
    """np.repeat along an axis: grad = the sum of each element's repeated copies.

    ``repeats`` is an int or a host integer array (one count per element along ``axis``).
    """

    def forward(self, a: Any, repeats: Any = 1, axis: int = 0) -> Any:
        self.repeats, self.axis, self.n = repeats, axis, a.shape[axis]
        if isinstance(repeats, int):
            return self.xp.repeat(a, repeats, axis=axis)
        owner = np.repeat(np.arange(self.n), repeats)  # which input element each copy is
        self.owner = to_device(owner, device_of(a))
        return self.xp.take(a, self.owner, axis=axis)

    def backward(self, g: Any) -> Any:
        r, ax, n = self.repeats, self.axis, self.n
        shape = tuple(g.shape)
        if isinstance(r, int):  # equal repeats: a reshape and a sum
            return g.reshape(shape[:ax] + (n, r) + shape[ax + 1:]).sum(axis=ax + 1)
        out = self.xp.zeros(shape[:ax] + (n,) + shape[ax + 1:], dtype=g.dtype)
        uniq, sums = segment_sum(self.xp, g, self.owner, ax, sorted_index=True)
        out[_along(ax, uniq)] = sums
        return out

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: the copies added back onto their source by a differentiable scatter."""
        r, ax, n = self.repeats, self.axis, self.n
        if isinstance(r, int):
            return self.backward(g)
        shape = tuple(g.shape)
        return self.xp.index_add_zeros(g, shape[:ax] + (n,) + shape[ax + 1:],
                                       _along(ax, self.owner))


def segment_sum(xp: Any, values: Any, index: Any, axis: int, sorted_index: bool) -> tuple:
    """Sum the slices of ``values`` along ``axis`` that share an ``index``: returns the
    distinct indices and their sums (a sort and one ``add.reduceat``, not ``add.at``)."""
    if len(index) == 0:
        return index, values
    if not sorted_index:
        order = xp.argsort(index, kind="stable")
        index, values = index[order], xp.take(values, order, axis=axis)
    starts = xp.flatnonzero(xp.concatenate([xp.ones(1, dtype=bool), index[1:] != index[:-1]]))
    if not hasattr(xp.add, "reduceat"):  # an array module without reduceat
        out = xp.zeros(values.shape[:axis] + (len(starts),) + values.shape[axis + 1:],
                       dtype=values.dtype)
        seg = xp.cumsum(xp.concatenate([xp.zeros(1, dtype=starts.dtype),
                                        (index[1:] != index[:-1]).astype(starts.dtype)]))
        xp.add.at(out, _along(axis, seg), values)
        return index[starts], out
    return index[starts], xp.add.reduceat(values, starts, axis=axis)


class Cumprod(Function):
    """Cumulative product: grad_i = sum_{j>=i} g_j * prod_{k<=j, k!=i} x_k (exact with zeros)."""

    def forward(self, a: Any, axis: int = 0) -> Any:
        self.axis = axis
        out = self.xp.cumprod(a, axis=axis)
        self.save_for_backward(a, out)
        return out

    def backward(self, g: Any) -> Any:
        a, out = self.saved
        if (a == 0).any():
            return _cumprod_grad_zeros(self.xp, a, g, self.axis)
        return _reverse_cumsum(self.xp, g * out, self.axis) / a

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: the division form only (inputs with zeros are not supported)."""
        a, out = self.saved
        return _reverse_cumsum(self.xp, g * out, self.axis) / a


def _reverse_cumsum(xp: Any, a: Any, ax: int) -> Any:
    """sum_{j >= i} a_j along ``ax``."""
    return xp.flip(xp.cumsum(xp.flip(a, ax), axis=ax), ax)


def _cumprod_grad_zeros(xp: Any, a: Any, g: Any, ax: int) -> Any:
    """The exact cumprod gradient where inputs contain zeros: an (n, n) product table."""
    x = xp.moveaxis(a, ax, -1)
    gm = xp.moveaxis(g, ax, -1)
    n = x.shape[-1]
    eye = xp.eye(n, dtype=bool)
    # table[..., i, k] = x_k with x_i replaced by 1; products over k <= j give d out_j / d x_i
    table = xp.where(eye, 1, x[..., None, :])
    partial = xp.cumprod(table, axis=-1)  # [..., i, j] = prod_{k<=j, k!=i} x_k
    upper = xp.triu(xp.ones((n, n), dtype=bool))  # j >= i
    grad = (xp.where(upper, partial, 0) * gm[..., None, :]).sum(axis=-1)
    return xp.moveaxis(grad, -1, ax)


TOPK_ARGMAX_MAX_K = 16  # k up to this: k argmax passes beat a partition of each line


def topk_by_argmax(xp: Any, a: Any, k: int, axis: int, largest: bool) -> Any:
    """Indices (int64) of the k largest/smallest floats along ``axis`` in order, ties by
    position, from k vectorised argmax passes over order-preserving integer keys; None for
    NaN-holding or non-float input (the caller then sorts)."""
    if a.dtype.kind != "f" or a.dtype.itemsize not in (4, 8) or bool(xp.isnan(a).any()):
        return None
    ity = xp.int32 if a.dtype.itemsize == 4 else xp.int64
    bits = (a + a.dtype.type(0)).view(ity)  # -0.0 -> +0.0: equal floats, equal keys
    keys = bits ^ ((bits >> (8 * a.dtype.itemsize - 1)) & xp.iinfo(ity).max)
    if not largest:
        keys = ~keys
    lowest = ity(xp.iinfo(ity).min)  # below every key of a non-NaN float
    out = xp.empty(a.shape[:axis] + (k,) + a.shape[axis + 1:], dtype=xp.int64)
    for i in range(k):
        j = keys.argmax(axis=axis, keepdims=True)
        out[(slice(None),) * axis + (slice(i, i + 1),)] = j
        xp.put_along_axis(keys, j, lowest, axis=axis)
    return out
