"""Argument helpers of the Tensor methods: dims, shapes and indices normalised with
PyTorch's errors. They depend only on the backend (and see tensors as ``TensorBase``)."""
from __future__ import annotations

import builtins
import math
import operator
import warnings
from typing import Any

from softgrad import backend
from softgrad.tensor.base import TensorBase

np = backend.np


# ---------------------------------------------------------------------- dims
def norm_dim(d: Any, ndim: int) -> int:
    """``d`` as a dim in [0, ndim) (negative dims count from the end; a 0-d tensor takes 0
    and -1)."""
    d = builtins.int(d)
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return d % n if ndim else 0


def norm_dims(dim: Any, ndim: int, name: str = "dim") -> Any:
    """Normalise a dim argument (None, int or sequence) to None, int or sorted tuple.

    A 0-d tensor accepts dim 0 or -1, which reduces nothing (returned as None).
    """
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        if len(dim) == 0:
            return None
        dims = tuple(sorted(norm_dim(d, ndim) for d in dim))
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"dim {tuple(dim)} appears multiple times in the list of dims")
        return dims if ndim else None
    d = norm_dim(dim, ndim)
    return d if ndim else None


def reduce_args(dim: Any, keepdim: bool, kwargs: dict) -> tuple:
    """Accept PyTorch's dim/keepdim and NumPy's axis/keepdims spellings."""
    if "axis" in kwargs:
        dim = kwargs.pop("axis")
    if "keepdims" in kwargs:
        keepdim = kwargs.pop("keepdims")
    if kwargs.pop("out", None) is not None:  # np.sum(tensor) passes out=None
        raise TypeError("softgrad reductions do not take out=; use the returned tensor")
    if kwargs:
        raise TypeError(f"unexpected keyword arguments {sorted(kwargs)}")
    return dim, builtins.bool(keepdim)


def axes_size(shape: tuple, axis: Any) -> int:
    """Number of elements folded into one output element by reducing ``axis``."""
    if axis is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in ((axis,) if isinstance(axis, builtins.int) else axis))


# ---------------------------------------------------------------------- shapes
def shape_arg(shape: tuple) -> tuple:
    """Accept f(2, 3) and f((2, 3))."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(builtins.int(s) for s in shape)


def vararg(args: tuple, kwargs: dict, name: str, method: str) -> tuple:
    """The ``*args`` of ``method(*name)``, which PyTorch also takes as the keyword ``name=``
    (``x.permute(dims=(1, 0))``)."""
    if not kwargs:
        return args
    extra = [k for k in kwargs if k != name]
    if extra:
        raise TypeError(f"{method}() got an unexpected keyword argument '{extra[0]}'")
    if args:
        raise TypeError(f"{method}() got '{name}' both as positional arguments and as a keyword")
    return (kwargs[name],)


def size_arg(size: tuple) -> tuple:
    """The size of a new tensor, given as f(2, 3) or f((2, 3)): ints >= 0, else a clear
    error."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    out = []
    for s in shape:
        try:
            if isinstance(s, (builtins.bool, builtins.float)):
                raise TypeError
            out.append(operator.index(s))
        except TypeError:
            raise TypeError(f"size must be a tuple of ints, but got {type(s).__name__} "
                            f"{s!r} in size {tuple(shape)}") from None
    if any(s < 0 for s in out):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(out)}: {list(out)}")
    return tuple(out)


def broadcasts_to(shape: tuple, target: tuple) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def broadcast_error(*shapes: tuple) -> RuntimeError:
    """PyTorch's message for shapes that do not broadcast, naming every shape."""
    nd = builtins.max(len(s) for s in shapes)
    padded = [(1,) * (nd - len(s)) + tuple(s) for s in shapes]
    names = "abcdefgh"
    for i in range(nd - 1, -1, -1):
        sizes = [(k, p[i]) for k, p in enumerate(padded) if p[i] != 1]
        for k, size in sizes[1:]:
            if size != sizes[0][1]:
                listed = " and ".join(str(tuple(s)) for s in shapes)
                return RuntimeError(
                    f"The size of tensor {names[sizes[0][0]]} ({sizes[0][1]}) must match the "
                    f"size of tensor {names[k]} ({size}) at non-singleton dimension {i}: shapes "
                    f"{listed} cannot be broadcast together")
    return RuntimeError(f"shapes {shapes} cannot be broadcast together")


# ---------------------------------------------------------------------- indices
def index_arg(index: Any) -> Any:
    """Convert Tensors inside an index to arrays."""
    if isinstance(index, tuple):
        return tuple(index_arg(i) for i in index)
    if isinstance(index, TensorBase):
        return index._data
    if isinstance(index, list):
        return np.asarray([i.item() if isinstance(i, TensorBase) else i for i in index])
    return index


def index_on(index: Any, data: Any) -> Any:
    """Index arrays moved to ``data``'s device: host indices may index a GPU tensor (as in
    PyTorch); GPU indices into a CPU tensor are an error."""
    if backend._cupy is None:
        return index
    if isinstance(index, tuple):
        return tuple(index_on(i, data) for i in index)
    if hasattr(index, "shape") and not isinstance(index, np.generic):
        dev, idev = backend.device_of(data), backend.device_of(index)
        if idev != dev:
            if dev == "cpu":
                raise RuntimeError(f"indices should be either on cpu or on the same device as "
                                   f"the indexed tensor (cpu), got indices on {idev}")
            return backend.to_device(index, dev)
    return index


def int_index(index: Any, name: str) -> Any:
    """An integer index (a Tensor or array-like) as an array."""
    idx = index._data if isinstance(index, TensorBase) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {idx.dtype}")
    return idx


def check_index(idx: Any, size: int, name: str, shape: tuple, dim: int) -> None:
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {idx.dtype}")
    if idx.size and (idx.min() < -size or idx.max() >= size):
        raise IndexError(f"{name}(): index {int(idx.max() if idx.max() >= size else idx.min())} "
                         f"is out of bounds for dimension {dim} with size {size} "
                         f"(input shape {tuple(shape)})")


def legacy_alpha(name: str, other: Any, alpha: Any) -> tuple:
    """PyTorch's deprecated ``add(Number alpha, Tensor other)`` order: swapped, with its
    warning; otherwise ``(other, alpha)`` unchanged."""
    if isinstance(other, (int, float)) and isinstance(alpha, TensorBase):
        warnings.warn(f"This overload of {name} is deprecated:\n\t{name}(Number alpha, Tensor "
                      f"other)\nConsider using one of the following signatures instead:\n\t"
                      f"{name}(Tensor other, *, Number alpha = 1)", UserWarning, stacklevel=3)
        return alpha, other
    return other, alpha
