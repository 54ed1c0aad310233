"""The ``sg.*`` functions that are not Tensor methods: joining tensors (``cat``, ``stack``),
``where``, ``einsum``, ``meshgrid``, ``searchsorted``, and the few with a signature of their
own (``split``, ``broadcast_to``). They take any data (converted to Tensors) and hand the work
to the Tensor layer. The function forms of the methods (``sg.exp``) are in
``function_forms.py``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

from softgrad import backend
from softgrad.tensor import indexing as _indexing
from softgrad.tensor import matmul as _matmul
from softgrad.tensor import split as _split
from softgrad.tensor.arrays import array_from
from softgrad.tensor.core import Tensor

np = backend.np


def _t(x: Any, like: Tensor | None = None) -> Tensor:
    """``x`` as a Tensor: itself, a number in ``like``'s dtype, or data converted."""
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return like._operand(x)
    return Tensor._wrap(array_from(x, None))


def write_out(out: Any, result: Any) -> Any:
    """PyTorch's ``out=``: store ``result`` in the given tensor(s), resizing them if needed."""
    if isinstance(out, (tuple, list)):
        if not isinstance(result, tuple) or len(out) != len(result):
            raise TypeError(f"out= expects {len(result) if isinstance(result, tuple) else 1} "
                            f"tensors for this function, got {len(out)}")
        for o, r in zip(out, result):
            write_out(o, r)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    if not isinstance(out, Tensor):
        raise TypeError(f"out= must be a Tensor, got {type(out).__name__}")
    if result.requires_grad and out.requires_grad:
        raise RuntimeError("functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if tuple(out.shape) == tuple(result.shape):
        out._check_writable()
        out._data[...] = backend.to_device(result._data, out.device)
    else:
        out._data = result._data.astype(out._data.dtype, copy=True)
    out._version += 1
    return out


def cat(tensors: Sequence[Any], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Concatenate along ``dim``. Shapes must agree except in ``dim``."""
    result = _split.cat([_t(t) for t in tensors], dim)
    return result if out is None else write_out(out, result)


concat = concatenate = cat


def stack(tensors: Sequence[Any], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Stack equally shaped tensors along a new dim."""
    result = _split.stack([_t(t) for t in tensors], dim)
    return result if out is None else write_out(out, result)


@overload
def where(condition: Any) -> tuple[Tensor, ...]: ...


@overload
def where(condition: Any, input: Any, other: Any) -> Tensor: ...


def where(condition: Any, input: Any = None, other: Any = None
          ) -> Tensor | tuple[Tensor, ...]:
    """Elements of ``input`` where ``condition`` else ``other`` (all broadcast together);
    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in backend.xp_of(cond).nonzero(cond))
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        condition = Tensor._wrap(cond)
    return _indexing.where(condition, input, other)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation over the operands' subscripts, as ``torch.einsum``.

    Supports implicit output (letters used once, sorted), explicit ``->`` output, ``...``
    with broadcasting, and repeated subscripts within one operand (diagonals). Operands
    may also be given as one list.

    Example:
        >>> sg.einsum("bij,bjk->bik", a, b)      # batched matmul
        >>> sg.einsum("ii", m)                    # trace
    """
    if not isinstance(equation, str):
        raise NotImplementedError("einsum(): only the string equation form is supported, not "
                                  "the sublist form einsum(op1, sublist1, ...)")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _matmul.einsum(equation, *[_t(o) for o in operands])


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D tensors; ``indexing`` 'ij' (default) or 'xy'."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ts = [_t(t) for t in tensors]
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for i, t in enumerate(ts):
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expected 0-D or 1-D tensors, got shape "
                               f"{tuple(t.shape)} for tensor {i}")
    ts = [t.reshape(-1) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    order = [ts[1], ts[0]] + ts[2:] if swap else ts
    shape = tuple(t.shape[0] for t in order)
    grids = []
    for k, t in enumerate(order):
        view = [1] * len(order)
        view[k] = t.shape[0]
        grids.append(t.reshape(*view).expand(*shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def searchsorted(sorted_sequence: Any, input: Any, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter: Any = None) -> Tensor:
    """Insertion points of ``input`` into the innermost dim of ``sorted_sequence``."""
    seq = _t(sorted_sequence)._data
    vals = input._data if isinstance(input, Tensor) else np.asarray(input)
    if side is not None:
        if side not in ("left", "right") or (right and side == "left"):
            raise RuntimeError(f"searchsorted(): side must be 'left' or 'right' and agree "
                               f"with right={right}, got {side!r}")
        right = side == "right"
    srt = None if sorter is None else (sorter._data if isinstance(sorter, Tensor)
                                       else np.asarray(sorter))
    xp = backend.xp_of(seq)
    how = "right" if right else "left"
    if seq.ndim == 1:
        if srt is not None:
            seq = seq[srt]
        out = xp.searchsorted(seq, vals, side=how)
    else:
        if seq.shape[:-1] != vals.shape[:-1]:
            raise RuntimeError(f"searchsorted(): boundaries {tuple(seq.shape)} and input "
                               f"{tuple(vals.shape)} must agree in all but the last dim")
        if srt is not None:
            seq = xp.take_along_axis(seq, srt, axis=-1)
        out = _searchsorted_rows(xp, seq.reshape(-1, seq.shape[-1]),
                                 vals.reshape(-1, vals.shape[-1]), right).reshape(vals.shape)
    return Tensor._wrap(xp.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def _searchsorted_rows(xp: Any, seq: Any, vals: Any, right: bool) -> Any:
    """Row-wise searchsorted of (r, m) ``vals`` into (r, n) sorted ``seq`` by one stable sort
    of both: each value's answer is the number of sequence elements sorted before it."""
    r, n = seq.shape
    m = vals.shape[1]
    dt = np.result_type(seq.dtype, vals.dtype)
    # ties: for "left" the values go first (equal boundaries count after them), else last
    both = xp.concatenate([vals, seq] if not right else [seq, vals], axis=1).astype(dt)
    order = xp.argsort(both, axis=1, kind="stable")
    is_val = order < m if not right else order >= n
    vals_before = xp.cumsum(is_val, axis=1) - is_val
    seq_before = xp.arange(n + m) - vals_before
    which = (order if not right else order - n)[is_val].reshape(r, m)
    out = xp.empty((r, m), dtype=np.int64)
    xp.put_along_axis(out, which, seq_before[is_val].reshape(r, m), axis=1)
    return out


def split(tensor: Any, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Split ``tensor`` into chunks of a size, or of the listed sizes, along ``dim``."""
    return _t(tensor).split(split_size_or_sections, dim)


def numel(input: Tensor) -> int:
    return input.numel()


def broadcast_to(input: Any, shape: Sequence[int]) -> Tensor:
    return _t(input).expand(tuple(shape))


def is_tensor(obj: Any, /) -> bool:
    return isinstance(obj, Tensor)
