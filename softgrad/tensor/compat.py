"""PyTorch's Tensor API around the values (a mixin): strides, storage and layout queries,
memory formats, in-place shape changes, resizing, legacy constructors, element-wise Python
callables, and the Python protocols (``in``, ``round``, ``reversed``, ``copy.deepcopy``)."""
from __future__ import annotations

import builtins
import copy as _copy
import math
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from softgrad import backend
from softgrad.engine import grad_mode
from softgrad.tensor.args import norm_dim, shape_arg
from softgrad.tensor.base import TensorBase

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np


class _Token:
    """A named constant (``sg.strided``, ``sg.channels_last``, ...) that prints its name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"softgrad.{self.name}"

    def __reduce__(self) -> str:
        return self.name


strided = _Token("strided")
contiguous_format = _Token("contiguous_format")
channels_last = _Token("channels_last")
channels_last_3d = _Token("channels_last_3d")
preserve_format = _Token("preserve_format")
MEMORY_FORMATS = (contiguous_format, channels_last, channels_last_3d, preserve_format)


def check_memory_format(fmt: Any) -> None:
    """Memory formats are accepted and have no effect on layout (arrays stay row-major)."""
    if fmt is not None and fmt not in MEMORY_FORMATS:
        raise TypeError(f"memory_format must be a softgrad memory format (e.g. "
                        f"softgrad.contiguous_format), got {fmt!r}")


def _base_array(a: Any) -> Any:
    while getattr(a, "base", None) is not None and hasattr(a.base, "shape"):
        a = a.base
    return a


def _address(a: Any) -> int:
    if hasattr(a, "__array_interface__"):
        return a.__array_interface__["data"][0]
    return builtins.int(a.data.ptr)  # a CuPy array


class CompatMixin(TensorBase):
    """Metadata, storage and protocol methods of Tensor."""

    __slots__ = ()

    # ------------------------------------------------------------------ storage and layout
    def stride(self, dim: Any = None) -> tuple[int, ...] | int:
        """Element strides per dim (a tuple), or the stride of ``dim``."""
        item = self._data.itemsize
        strides = tuple(s // item for s in self._data.strides)
        if dim is None:
            return strides
        return strides[norm_dim(dim, self.ndim)]

    def storage_offset(self) -> int:
        """Offset in elements of the first element from the start of the memory block."""
        base = _base_array(self._data)
        return (_address(self._data) - _address(base)) // self._data.itemsize

    def data_ptr(self) -> int:
        """Address of the first element."""
        return _address(self._data)

    const_data_ptr = data_ptr

    @property
    def nbytes(self) -> int:
        return builtins.int(self._data.nbytes)

    @property
    def itemsize(self) -> int:
        return builtins.int(self._data.itemsize)

    def ndimension(self) -> int:
        return self._data.ndim

    @property
    def layout(self) -> _Token:
        return strided

    @property
    def names(self) -> tuple:
        return (None,) * self._data.ndim

    is_sparse = is_sparse_csr = is_quantized = is_mkldnn = is_nested = property(
        lambda self: False)

    # softgrad stores sparse tensors dense (see softgrad/sparse.py): these are identities
    def to_sparse(self, *args: Any, **kwargs: Any) -> Tensor:
        """This tensor: softgrad keeps sparse tensors dense (``softgrad.sparse``)."""
        return cast("Tensor", self)

    def to_dense(self, dtype: Any = None, *, masked_grad: bool | None = None) -> Tensor:
        return cast("Tensor", self) if dtype is None else self.to(dtype)

    to_sparse_coo = to_sparse

    def coalesce(self) -> Tensor:
        return cast("Tensor", self)

    # a sparse tensor's COO view of its (dense) storage: the nonzero entries, in coalesced
    # (row-major) order; all dimensions are sparse ones
    def indices(self) -> Tensor:
        """The (ndim, nnz) int64 indices of the nonzero entries, row-major order."""
        return self.nonzero().T

    def values(self) -> Tensor:
        """The (nnz,) nonzero entries, in the order of ``indices()``; differentiable."""
        flat = self if self.ndim else self.reshape(1)
        return flat[flat.nonzero(as_tuple=True)]

    def _nnz(self) -> int:
        return builtins.int(backend.xp_of(self._data).count_nonzero(self._data))

    def sparse_dim(self) -> int:
        return self._data.ndim

    def dense_dim(self) -> int:
        return 0

    def is_nonzero(self) -> bool:
        """The truth of a one-element tensor."""
        n = self._data.size
        if n != 1:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous" if n == 0
                               else "Boolean value of Tensor with more than one value is "
                               "ambiguous")
        return builtins.bool(self._data.reshape(-1)[0])

    def is_coalesced(self) -> bool:
        return True

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def is_signed(self) -> bool:
        return self._data.dtype.kind in "fic"

    def is_inference(self) -> bool:
        return False

    def is_conj(self) -> bool:
        return False

    def is_neg(self) -> bool:
        return False

    def share_memory_(self) -> Tensor:
        """Self: tensors are not moved to shared memory (single-process data loading)."""
        return cast("Tensor", self)

    def is_shared(self) -> bool:
        return False

    def dim_order(self) -> tuple:
        return tuple(np.argsort([-s for s in self._data.strides], kind="stable").tolist())

    # ------------------------------------------------------------------ complex parts
    @property
    def real(self) -> Tensor:
        """Self (softgrad tensors are real)."""
        return cast("Tensor", self)

    @property
    def imag(self) -> Tensor:
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")

    def conj(self) -> Tensor:
        return cast("Tensor", self)

    conj_physical = resolve_conj = resolve_neg = conj

    @property
    def mH(self) -> Tensor:
        return self.mT

    @property
    def H(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                               f"{self.ndim}-D tensor.")
        return self.T if self.ndim == 2 else cast("Tensor", self)

    # ------------------------------------------------------------------ in-place shape changes
    def _view_inplace(self, name: str, view: Any) -> Tensor:
        """Make self the result of ``view(self)``, recorded when a gradient is needed."""
        if self._graph_inplace_needed(name):
            if self._used:
                raise RuntimeError(f"{name}: in-place change of the shape of a tensor that an "
                                   "operation already used; use the out-of-place form")
            old = self._wrap(self._data, self.requires_grad)
            old._ctx, old._vc = self._ctx, self._vc
            producer = self._ctx
            if producer is not None and producer._out is not None and producer._out() is self:
                producer._out = weakref.ref(old)
            res = view(old)
            self._data, self._ctx, self.requires_grad = res._data, res._ctx, res.requires_grad
            if res._ctx is not None:
                res._ctx._out = weakref.ref(self)
            return cast("Tensor", self)
        with grad_mode.no_grad():
            self._data = view(self)._data
        return cast("Tensor", self)

    def unsqueeze_(self, dim: int) -> Tensor:
        return self._view_inplace("unsqueeze_", lambda t: t.unsqueeze(dim))

    def squeeze_(self, dim: Any = None) -> Tensor:
        return self._view_inplace("squeeze_", lambda t: t.squeeze(dim))

    def t_(self) -> Tensor:
        return self._view_inplace("t_", lambda t: t.t())

    def transpose_(self, dim0: int, dim1: int) -> Tensor:
        return self._view_inplace("transpose_", lambda t: t.transpose(dim0, dim1))

    swapdims_ = swapaxes_ = transpose_

    def as_strided_(self, size: Sequence[int], stride: Sequence[int],
                    storage_offset: int | None = None) -> Tensor:
        return self._view_inplace("as_strided_",
                                  lambda t: t.as_strided(size, stride, storage_offset))

    def set_(self, source: Any = None, storage_offset: int = 0, size: Any = None,
             stride: Any = None) -> Tensor:
        """Use ``source``'s memory (a tensor), or become empty when no source is given."""
        if self.requires_grad and self._is_recording():
            self._check_inplace("set_")
        if source is None:
            self._data = backend.xp_of(self._data).empty((0,), dtype=self._data.dtype)
        else:
            arr = source._data if isinstance(source, TensorBase) else source
            if size is not None:
                arr = self._wrap(arr).as_strided(size, stride or _row_major(size),
                                                 storage_offset)._data
            self._data = arr
        self._version += 1
        return cast("Tensor", self)

    def resize_(self, *sizes: Any, memory_format: Any = None) -> Tensor:
        """Give self ``sizes``, keeping the leading values (new ones are uninitialised)."""
        check_memory_format(memory_format)
        if self.requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        shape = shape_arg(sizes)
        n = math.prod(shape)
        flat = self._data.reshape(-1)
        if n == flat.size:
            self._data = flat.reshape(shape)
        else:
            xp = backend.xp_of(self._data)
            new = xp.zeros(n, dtype=self._data.dtype)
            k = builtins.min(n, flat.size)
            new[:k] = flat[:k]
            self._data = new.reshape(shape)
        self._version += 1
        return cast("Tensor", self)

    def resize_as_(self, tensor: Any, memory_format: Any = None) -> Tensor:
        return self.resize_(tuple(tensor.shape), memory_format=memory_format)

    # ------------------------------------------------------------------ element-wise Python
    def apply_(self, callable: Any) -> Tensor:
        """Replace each element x by ``callable(x)`` (CPU tensors, no autograd)."""
        if self.requires_grad and self._is_recording():
            self._check_inplace("apply_")
        if self.device != "cpu":
            raise TypeError("apply_ is only implemented on CPU tensors")
        flat = self._data.reshape(-1)
        for i, v in enumerate(flat.tolist()):
            flat[i] = callable(v)
        self._version += 1
        return cast("Tensor", self)

    def map_(self, tensor: Any, callable: Any) -> Tensor:
        """Replace each element x by ``callable(x, y)`` with y from ``tensor`` (broadcast)."""
        if self.requires_grad and self._is_recording():
            self._check_inplace("map_")
        other = np.broadcast_to(backend.to_numpy(self._operand(tensor)._data), self.shape)
        flat = self._data.reshape(-1)
        for i, (v, w) in enumerate(zip(flat.tolist(), other.reshape(-1).tolist())):
            flat[i] = callable(v, w)
        self._version += 1
        return cast("Tensor", self)

    # ------------------------------------------------------------------ constructors
    def new(self, *args: Any, **kwargs: Any) -> Tensor:
        """Legacy constructor with self's dtype: ``new(2, 3)`` (uninitialised), ``new(data)``
        or ``new()`` (empty)."""
        if not args:
            return self.new_empty((0,), **kwargs)
        if all(isinstance(a, builtins.int) for a in args) or (
                len(args) == 1 and type(args[0]).__name__ == "Size"):
            return self.new_empty(shape_arg(args), **kwargs)
        return self.new_tensor(args[0], **kwargs)

    def new_empty_strided(self, size: Sequence[int], stride: Sequence[int], dtype: Any = None,
                          device: Any = None, requires_grad: bool = False) -> Tensor:
        return self.new_empty(tuple(size), dtype=dtype, device=device,
                              requires_grad=requires_grad)

    # ------------------------------------------------------------------ Python protocols
    def __contains__(self, element: Any) -> bool:
        if not isinstance(element, (builtins.int, builtins.float, builtins.bool, TensorBase)):
            raise RuntimeError(
                f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                f"{type(element)}.")
        return builtins.bool((cast("Tensor", self) == element).any())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __reversed__(self) -> Tensor:
        return cast("Tensor", self) if self.ndim == 0 else self.flip(0)

    def __round__(self, ndigits: int | None = None) -> Tensor:
        return self.round() if ndigits is None else self.round(decimals=ndigits)

    def __deepcopy__(self, memo: dict) -> Tensor:
        """A copy with its own memory, the same ``requires_grad`` and class (Parameter
        stays Parameter) and a copied ``.grad``; only for leaves, as in PyTorch."""
        if self._ctx is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment")
        if id(self) in memo:
            return memo[id(self)]
        cls = type(self)
        new = cast("Tensor", cls.__new__(cls))
        memo[id(self)] = new
        new._data = self._data.copy()
        new.grad = None if self.grad is None else _copy.deepcopy(self.grad, memo)
        new.requires_grad = self.requires_grad
        new._ctx, new._vc, new._used, new._retains_grad = None, None, False, False
        new._grad_hooks = new._post_acc_hooks = None
        for klass in cls.__mro__:  # subclass slots (Buffer.persistent, ...)
            for slot in getattr(klass, "__slots__", ()):
                if slot.startswith("_") or slot in ("grad", "requires_grad"):
                    continue
                if hasattr(self, slot) and not hasattr(new, slot):
                    setattr(new, slot, _copy.deepcopy(getattr(self, slot), memo))
        return new


def _row_major(size: Sequence[int]) -> tuple:
    out, acc = [], 1
    for n in reversed(tuple(size)):
        out.append(acc)
        acc *= n
    return tuple(reversed(out))
