"""More ``sg.*`` functions with no method form: stacking (hstack, column_stack, ...),
``atleast_*d``, distances (cdist, dist), block and combinatorial constructions, index
helpers (tril_indices, unravel_index, bucketize), integration (trapezoid), histograms,
dtype queries (result_type, promote_types, can_cast)."""
from __future__ import annotations

import builtins
import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple, overload

from softgrad import backend, dtypes
from softgrad.creation import empty
from softgrad.functions import _t, cat, meshgrid, searchsorted, stack
from softgrad.linalg import multi_dot
from softgrad.tensor.core import Tensor

np = backend.np

__all__ = ["hstack", "vstack", "dstack", "column_stack", "row_stack", "atleast_1d",
           "atleast_2d", "atleast_3d", "cdist", "dist", "block_diag", "cartesian_prod",
           "combinations", "tril_indices", "triu_indices", "vander", "unravel_index",
           "bucketize", "histogram", "trapezoid", "trapz", "cumulative_trapezoid", "std_mean",
           "var_mean", "result_type",
           "is_nonzero", "empty_strided", "diag_embed", "diagflat", "chain_matmul",
           "select_scatter", "slice_scatter", "diagonal_scatter"]


# ---------------------------------------------------------------------- stacking
def _seq(tensors: Any, name: str) -> list:
    ts = [_t(t) for t in tensors]
    if not ts:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return ts


@overload
def atleast_1d(tensor: Tensor, /) -> Tensor: ...


@overload
def atleast_1d(tensors: list | tuple, /) -> tuple[Tensor, ...]: ...


@overload
def atleast_1d(t0: Any, t1: Any, /, *tensors: Any) -> tuple[Tensor, ...]: ...


def atleast_1d(*tensors: Any) -> Tensor | tuple[Tensor, ...]:
    """Each input as at least 1-D (0-d becomes (1,)); one tensor in, one out."""
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(t.reshape(1) if t.ndim == 0 else t for t in (_t(x) for x in ts))
    return out[0] if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)) else out


@overload
def atleast_2d(tensor: Tensor, /) -> Tensor: ...


@overload
def atleast_2d(tensors: list | tuple, /) -> tuple[Tensor, ...]: ...


@overload
def atleast_2d(t0: Any, t1: Any, /, *tensors: Any) -> tuple[Tensor, ...]: ...


def atleast_2d(*tensors: Any) -> Tensor | tuple[Tensor, ...]:
    """Each input as at least 2-D: (n,) becomes (1, n)."""
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(t.reshape(1, 1) if t.ndim == 0 else t.unsqueeze(0) if t.ndim == 1 else t
                for t in (_t(x) for x in ts))
    return out[0] if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)) else out


@overload
def atleast_3d(tensor: Tensor, /) -> Tensor: ...


@overload
def atleast_3d(tensors: list | tuple, /) -> tuple[Tensor, ...]: ...


@overload
def atleast_3d(t0: Any, t1: Any, /, *tensors: Any) -> tuple[Tensor, ...]: ...


def atleast_3d(*tensors: Any) -> Tensor | tuple[Tensor, ...]:
    """Each input as at least 3-D: (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    def up(t: Tensor) -> Tensor:
        if t.ndim == 0:
            return t.reshape(1, 1, 1)
        if t.ndim == 1:
            return t.reshape(1, -1, 1)
        return t.unsqueeze(-1) if t.ndim == 2 else t

    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(up(_t(x)) for x in ts)
    return out[0] if len(tensors) == 1 and not isinstance(tensors[0], (list, tuple)) else out


def hstack(tensors: Sequence[Any]) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-D inputs)."""
    ts = atleast_1d(tuple(_seq(tensors, "hstack")))
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Any]) -> Tensor:
    """Concatenate along dim 0 after making every input at least 2-D."""
    return cat(atleast_2d(tuple(_seq(tensors, "vstack"))), 0)


row_stack = vstack


def dstack(tensors: Sequence[Any]) -> Tensor:
    """Concatenate along dim 2 after making every input at least 3-D."""
    return cat(atleast_3d(tuple(_seq(tensors, "dstack"))), 2)


def column_stack(tensors: Sequence[Any]) -> Tensor:
    """Stack 0-d/1-D inputs as columns and concatenate 2-D ones along dim 1."""
    ts = [t.reshape(-1, 1) if t.ndim <= 1 else t for t in _seq(tensors, "column_stack")]
    return cat(ts, 1)


# ---------------------------------------------------------------------- distances
def dist(input: Tensor, other: Any, p: float = 2) -> Tensor:
    """The p-norm of input - other (broadcast)."""
    return _t(input).dist(other, p)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """p-norm distances between the rows of x1 (B, P, M) and x2 (B, R, M): (B, P, R).

    For p = 2 the matrix-product form sqrt(|a|^2 + |b|^2 - 2 a.b) is used when P or R
    exceeds 25 (or always with 'use_mm_for_euclid_dist'), as in PyTorch; zero distances
    get a zero gradient either way.
    """
    a, b = _t(x1)._float_input(), _t(x2)._float_input()
    if a.ndim < 2 or b.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D")
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{a.shape[-1]} X2: {b.shape[-1]}")
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
             "donot_use_mm_for_euclid_dist")
    if compute_mode not in modes:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == modes[0] and (a.shape[-2] > 25 or b.shape[-2] > 25)))
    if use_mm:
        sq = (a * a).sum(-1, keepdim=True) + (b * b).sum(-1).unsqueeze(-2) - 2 * (a @ b.mT)
        return sq.clamp_min(1e-30).sqrt()
    return (a.unsqueeze(-2) - b.unsqueeze(-3)).norm(p, -1)


# ---------------------------------------------------------------------- constructions
def block_diag(*tensors: Any) -> Tensor:
    """A block-diagonal matrix of the (at most 2-D) inputs."""
    ts = [_t(t) for t in tensors]
    ts = [t.reshape(1, 1) if t.ndim == 0 else t.reshape(1, -1) if t.ndim == 1 else t
          for t in ts]
    for i, t in enumerate(ts):
        if t.ndim != 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {t.ndim} dimensions")
    if not ts:
        return Tensor._wrap(np.zeros((1, 0), dtype=backend.DEFAULT_DTYPE))
    dt = dtypes.promote(*[t._data.dtype for t in ts])
    width = builtins.sum(t.shape[1] for t in ts)
    rows, left = [], 0
    xp = backend.xp_of(ts[0]._data)
    for t in ts:
        parts = []
        if left:
            parts.append(Tensor._wrap(xp.zeros((t.shape[0], left), dtype=dt)))
        parts.append(t._cast(dt))
        right = width - left - t.shape[1]
        if right:
            parts.append(Tensor._wrap(xp.zeros((t.shape[0], right), dtype=dt)))
        rows.append(cat(parts, 1) if len(parts) > 1 else parts[0])
        left += t.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors: Any) -> Tensor:
    """All combinations of the elements of the 1-D inputs: (prod n_i, k) (1-D for k = 1)."""
    ts = [_t(t) for t in tensors]
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of the 1-D input's elements: (count, r)."""
    x = _t(input)
    if x.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(x.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return Tensor._wrap(backend.xp_of(x._data).zeros((0,), dtype=x._data.dtype))
    gen = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    idx = np.asarray(list(gen(range(x.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    if idx.size == 0:
        return Tensor._wrap(backend.xp_of(x._data).zeros((0, r), dtype=x._data.dtype))
    return x[Tensor._wrap(idx)]


def _triangle_indices(row: int, col: int, offset: int, dtype: Any, device: Any,
                      upper: bool) -> Tensor:
    rows, cols = np.triu_indices(row, offset, col) if upper else \
        np.tril_indices(row, offset, col)
    out = np.stack([rows, cols]).astype(dtypes.to_np(dtype) or np.int64)
    dev = "cpu" if device is None else str(device)
    return Tensor._wrap(backend.to_device(out, dev) if dev != "cpu" else out)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None,
                 device: Any = None, layout: Any = None) -> Tensor:
    """(2, n) row and column indices of the lower triangle of a row x col matrix."""
    return _triangle_indices(row, col, offset, dtype, device, False)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None,
                 device: Any = None, layout: Any = None) -> Tensor:
    """(2, n) row and column indices of the upper triangle of a row x col matrix."""
    return _triangle_indices(row, col, offset, dtype, device, True)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """Columns of powers of the 1-D ``x`` (decreasing unless ``increasing``)."""
    t = _t(x)
    if t.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = t.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if n == 0:
        return Tensor._wrap(backend.xp_of(t._data).zeros((t.shape[0], 0), dtype=t._data.dtype))
    cols = [t * 0 + 1]
    for _ in range(1, n):
        cols.append(cols[-1] * t)
    out = stack(cols, 1)
    return out if increasing else out.flip(1)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices with the last dim of ``input`` on their ``offset`` diagonal, placed in
    dims (dim1, dim2) of the result."""
    return _t(input).diag_embed(offset, dim1, dim2)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A square matrix with the flattened input on its ``offset`` diagonal."""
    return _t(input).diagflat(offset)


def chain_matmul(*matrices: Any) -> Tensor:
    """The product of 2-D matrices (use ``linalg.multi_dot``)."""
    if len(matrices) == 1:
        return _t(matrices[0])
    return multi_dot(matrices)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``src`` written at ``index`` of ``dim``."""
    return _t(input).select_scatter(src, dim, index)


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None,
                  end: int | None = None, step: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written at ``start:end:step`` of ``dim``."""
    return _t(input).slice_scatter(src, dim, start, end, step)


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written on its diagonal (dims dim1, dim2)."""
    return _t(input).diagonal_scatter(src, offset, dim1, dim2)


# ---------------------------------------------------------------------- indices and counts
def unravel_index(indices: Any, shape: Sequence[int]) -> tuple:
    """The coordinates of flat ``indices`` in an array of ``shape`` (one tensor per dim)."""
    idx = _t(indices)
    if idx._data.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {idx.dtype}")
    shape = (shape,) if isinstance(shape, builtins.int) else tuple(shape)
    n = 1
    for s in shape:
        n *= s
    data = idx._data
    if data.size and (data.min() < -n or data.max() >= n):
        raise RuntimeError("'indices' must be in range [-" + str(n) + ", " + str(n - 1) + "]")
    xp = backend.xp_of(data)
    coords = xp.unravel_index(data % builtins.max(n, 1), shape)
    return tuple(Tensor._wrap(xp.asarray(c, dtype=np.int64)) for c in coords)


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each input value given 1-D sorted ``boundaries``: the index i with
    boundaries[i-1] < x <= boundaries[i] (``right``: boundaries[i-1] <= x < boundaries[i])."""
    b = _t(boundaries)
    if b.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({b.ndim})")
    x = input if isinstance(input, Tensor) else Tensor(np.asarray(input))
    return searchsorted(b, x, out_int32=out_int32, right=right)


class HistogramResult(NamedTuple):
    hist: Tensor
    bin_edges: Tensor


def histogram(input: Tensor, bins: Any, *, range: Any = None,
              weight: Tensor | None = None, density: bool = False) -> HistogramResult:
    """Counts of ``input`` in ``bins`` (a count or the edges); (hist, bin_edges)."""
    x = _t(input)
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the "
                           f"same dtype, but got input {x.dtype}")
    data = backend.to_numpy(x._data).reshape(-1)
    edges = backend.to_numpy(bins._data) if isinstance(bins, Tensor) else bins
    w = None if weight is None else backend.to_numpy(_t(weight)._data).reshape(-1)
    hist, bin_edges = np.histogram(data, bins=edges, range=range, weights=w, density=density)
    dt = x._data.dtype
    return HistogramResult(Tensor._wrap(hist.astype(dt)), Tensor._wrap(bin_edges.astype(dt)))


# ---------------------------------------------------------------------- integration
def _spacing(y: Tensor, x: Any, dx: Any, d: int) -> Any:
    if x is not None and dx is not None:
        raise RuntimeError("torch.trapezoid: cannot pass both x and dx")
    if x is None:
        return 1.0 if dx is None else dx
    xs = _t(x)
    if xs.ndim == 1:
        shape = [1] * y.ndim
        shape[d] = xs.shape[0]
        xs = xs.reshape(shape)
    length = xs.shape[d] if xs.ndim else 1
    return xs.narrow(d, 1, length - 1) - xs.narrow(d, 0, length - 1)


def trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim`` with sample points ``x`` or spacing ``dx``."""
    t = _t(y)
    d = dim % builtins.max(t.ndim, 1)
    n = t.shape[d]
    if n == 0:
        return t.sum(d)
    h = _spacing(t, x, dx, d)
    mid = (t.narrow(d, 1, n - 1) + t.narrow(d, 0, n - 1)) * 0.5
    return (mid * h).sum(d)


def trapz(y: Tensor, x: Any = None, *, dim: int = -1) -> Tensor:
    return trapezoid(y, x, dim=dim)


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral along ``dim`` (one element shorter)."""
    t = _t(y)
    d = dim % builtins.max(t.ndim, 1)
    n = t.shape[d]
    h = _spacing(t, x, dx, d)
    mid = (t.narrow(d, 1, builtins.max(n - 1, 0)) + t.narrow(d, 0, builtins.max(n - 1, 0))) * 0.5
    return (mid * h).cumsum(d)


# ---------------------------------------------------------------------- moments
def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None,
             keepdim: bool = False, *, correction: Any = None) -> tuple:
    """(std, mean) over ``dim``."""
    x = _t(input)
    return x.std(dim, unbiased, keepdim, correction=correction), x.mean(dim, keepdim)


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None,
             keepdim: bool = False, *, correction: Any = None) -> tuple:
    """(var, mean) over ``dim``."""
    x = _t(input)
    return x.var(dim, unbiased, keepdim, correction=correction), x.mean(dim, keepdim)


# ---------------------------------------------------------------------- dtypes and queries
def _np_dtype(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x._data.dtype
    if isinstance(x, builtins.bool):
        return np.dtype(np.bool_)
    if isinstance(x, builtins.int):
        return np.dtype(np.int64)
    if isinstance(x, builtins.float):
        return backend.DEFAULT_DTYPE
    return dtypes.to_np(x)


def result_type(tensor1: Any, tensor2: Any) -> Any:
    """The dtype an operation on the two operands gives (Python numbers are weak)."""
    a, b = _np_dtype(tensor1), _np_dtype(tensor2)
    weak_a = not isinstance(tensor1, Tensor) and not hasattr(tensor1, "itemsize")
    weak_b = not isinstance(tensor2, Tensor) and not hasattr(tensor2, "itemsize")
    if weak_a != weak_b:
        strong, weak = (b, a) if weak_a else (a, b)
        kinds = "biuf"
        if kinds.index(weak.kind if weak.kind != "u" else "i") <= kinds.index(
                strong.kind if strong.kind != "u" else "i"):
            return dtypes.from_np(strong)
        return dtypes.from_np(backend.DEFAULT_DTYPE if weak.kind == "f" else weak)
    return dtypes.from_np(dtypes.promote(a, b))










def is_nonzero(input: Tensor) -> bool:
    """The truth of a one-element tensor."""
    return _t(input).is_nonzero()


def empty_strided(size: Sequence[int], stride: Sequence[int], *, dtype: Any = None,
                  layout: Any = None, device: Any = None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` (laid out row-major; ``stride`` is not kept)."""
    return empty(tuple(size), dtype=dtype, device=device, requires_grad=requires_grad)
