"""The ``sg.*`` function forms of Tensor methods, and functions with no method form."""
from __future__ import annotations

import builtins
import inspect
from typing import Any, Sequence

from softgrad import backend, dtypes
from softgrad.ops import shape as S
from softgrad.ops.einsum import Einsum, parse_einsum
from softgrad.ops.elementwise import Where
from softgrad.tensor import Tensor, _array_from
from softgrad.tensor_math import broadcast_error, norm_dim
from softgrad.tensor_reduce import MinMaxResult  # noqa: F401  (re-exported as sg.MinMaxResult)

np = backend.np
# defined here but not part of sg.*
INTERNAL = frozenset({"index_add_zeros", "write_out", "INTERNAL"})


def _t(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return like._operand(x)
    return Tensor._wrap(_array_from(x, None))


def cat(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Concatenate along ``dim``. Shapes must agree except in ``dim``."""
    result = _cat(tensors, dim)
    return result if out is None else write_out(out, result)


def _cat(tensors: Sequence[Tensor], dim: int) -> Tensor:
    tensors = [_t(t) for t in tensors]
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    tensors = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
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
    return Tensor._apply(S.Cat, *tensors, axis=d)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Stack equally shaped tensors along a new dim."""
    result = _stack(tensors, dim)
    return result if out is None else write_out(out, result)


def _stack(tensors: Sequence[Tensor], dim: int) -> Tensor:
    tensors = [_t(t) for t in tensors]
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{tuple(tensors[0].shape)} at entry 0 and {tuple(t.shape)} at "
                               f"entry {i}")
    d = norm_dim(dim, tensors[0].ndim + 1)
    return cat([t.unsqueeze(d) for t in tensors], d)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:  # noqa: A002
    """Elements of ``input`` where ``condition`` else ``other`` (all broadcast together)."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in backend.xp_of(cond).nonzero(cond))
    if cond.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {cond.dtype}")
    like = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else None
    a, b = _t(input, like), _t(other, like)
    if a._data.dtype != b._data.dtype:
        dt = dtypes.promote(a._data.dtype, b._data.dtype)
        a, b = a._cast(dt), b._cast(dt)
    try:
        return Tensor._apply(Where, Tensor._wrap(cond), a, b)
    except ValueError:
        raise broadcast_error(cond.shape, a.shape, b.shape) from None


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
    ts = [_t(o) for o in operands]
    if not ts:
        raise RuntimeError("einsum(): must provide at least one operand")
    try:
        subs, output = parse_einsum(equation, tuple(tuple(t.shape) for t in ts))
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None
    dt = dtypes.promote(*[t._data.dtype for t in ts])
    return Tensor._apply(Einsum, *[t._cast(dt) for t in ts], subscripts=subs, output=output)


def index_add_zeros(g: Tensor, shape: tuple, index: Any) -> Tensor:
    """Differentiable zeros(shape)[index] += g (the backward of indexing)."""
    return Tensor._apply(S.IndexAddZeros, g, shape=shape, index=index)


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


def _method(name: str) -> Any:
    def fn(input: Tensor, *args: Any, out: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        result = getattr(_t(input), name)(*args, **kwargs)
        return result if out is None else write_out(out, result)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Function form of ``Tensor.{name}``."
    try:  # show the method's parameters, with ``input`` in place of ``self``
        sig = inspect.signature(getattr(Tensor, name))
        params = list(sig.parameters.values())
        fn.__signature__ = sig.replace(parameters=[
            params[0].replace(name="input", kind=inspect.Parameter.POSITIONAL_OR_KEYWORD)]
            + params[1:])
    except (AttributeError, ValueError, TypeError, IndexError):
        pass
    return fn


_METHODS = (
    "add sub mul div pow matmul neg exp log log1p expm1 sqrt rsqrt sin cos tanh sigmoid relu abs "
    "square reciprocal sign floor ceil round clamp clip maximum minimum sum mean prod amax amin "
    "max min argmax argmin logsumexp var std norm cumsum all any reshape flatten unflatten "
    "squeeze unsqueeze transpose swapaxes swapdims permute movedim moveaxis t flip roll narrow "
    "split chunk unbind select gather scatter_add index_select masked_fill isnan isfinite isinf "
    "equal allclose tile detach clone numel eq ne lt le gt ge remainder floor_divide trunc "
    "softmax log_softmax "
    "sort argsort msort topk kthvalue median nonzero argwhere unique bincount count_nonzero "
    "take_along_dim index_add scatter scatter_reduce masked_select repeat_interleave "
    "mm bmm mv dot outer ger addmm diagonal diag triu tril trace cumprod logcumsumexp lerp "
    "clamp_min clamp_max nan_to_num isclose"
).split()
for _name in _METHODS:
    globals()[_name] = _method(_name)



def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Split ``tensor`` into chunks of a size, or of the listed sizes, along ``dim``."""
    return _t(tensor).split(split_size_or_sections, dim)


true_divide = divide = globals()["div"]
multiply = globals()["mul"]
subtract = globals()["sub"]
negative = globals()["neg"]
absolute = globals()["abs"]


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:  # noqa: A002
    return _t(input).expand(tuple(shape))


def is_tensor(obj: Any, /) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:  # noqa: A002
    return input.numel()



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


def searchsorted(sorted_sequence: Any, input: Any, *, out_int32: bool = False,  # noqa: A002
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
