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
INTERNAL = frozenset({"index_add_zeros", "INTERNAL"})  # defined here but not part of sg.*


def _t(x: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return like._operand(x)
    return Tensor._wrap(_array_from(x, None))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along ``dim``. Shapes must agree except in ``dim``."""
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
    dt = dtypes.promote(*[t.data.dtype for t in tensors])
    tensors = [t._cast(dt) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    return Tensor._apply(S.Cat, *tensors, axis=d)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack equally shaped tensors along a new dim."""
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
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in backend.xp_of(cond).nonzero(cond))
    if cond.dtype != np.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {cond.dtype}")
    like = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else None
    a, b = _t(input, like), _t(other, like)
    if a.data.dtype != b.data.dtype:
        dt = dtypes.promote(a.data.dtype, b.data.dtype)
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
    dt = dtypes.promote(*[t.data.dtype for t in ts])
    return Tensor._apply(Einsum, *[t._cast(dt) for t in ts], subscripts=subs, output=output)


def index_add_zeros(g: Tensor, shape: tuple, index: Any) -> Tensor:
    """Differentiable zeros(shape)[index] += g (the backward of indexing)."""
    return Tensor._apply(S.IndexAddZeros, g, shape=shape, index=index)


def _method(name: str) -> Any:
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        return getattr(_t(input), name)(*args, **kwargs)

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
    "softmax log_softmax"
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


def mm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm(): both arguments must be 2-D, got {tuple(a.shape)} and "
                           f"{tuple(b.shape)}")
    return a @ b


def bmm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise RuntimeError(f"bmm(): expected two 3-D tensors with the same batch size, got "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    return a @ b


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError("1D tensors expected, but got "
                           f"{a.ndim}D and {b.ndim}D tensors")
    return a @ b


def outer(a: Tensor, b: Tensor) -> Tensor:
    return a.reshape(-1, 1) * b.reshape(1, -1)


def is_tensor(obj: Any, /) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:  # noqa: A002
    return input.numel()

