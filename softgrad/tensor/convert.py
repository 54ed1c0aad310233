"""Conversions and display of Tensor (a mixin): Python and NumPy values, DLPack, dtypes
and devices (``to``, ``float``, ``cuda``, ...), new tensors like this one, ``repr``."""
from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, cast

from softgrad import backend, dtypes
from softgrad.devices import DEVICE_TYPES
from softgrad.ops.device import ToDevice
from softgrad.ops.elementwise import Cast
from softgrad.ops.select import Contiguous
from softgrad.tensor import printing
from softgrad.tensor.args import size_arg, vararg
from softgrad.tensor.arrays import tensor_array
from softgrad.tensor.base import TensorBase
from softgrad.tensor.compat import check_memory_format

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np

_REFLECTED = {"add": "__radd__", "subtract": "__rsub__", "multiply": "__rmul__",
              "true_divide": "__rtruediv__", "divide": "__rtruediv__",
              "floor_divide": "__rfloordiv__", "remainder": "__rmod__", "power": "__rpow__",
              "matmul": "__rmatmul__", "less": "__gt__", "less_equal": "__ge__",
              "greater": "__lt__", "greater_equal": "__le__", "equal": "__eq__",
              "not_equal": "__ne__", "bitwise_and": "__rand__", "bitwise_or": "__ror__",
              "bitwise_xor": "__rxor__"}

# PyTorch's legacy type names (``x.type()``, ``x.type('torch.LongTensor')``) of the dtypes
LEGACY_TYPE_NAMES = {"FloatTensor": dtypes.float32, "DoubleTensor": dtypes.float64,
                     "HalfTensor": dtypes.float16, "LongTensor": dtypes.int64,
                     "IntTensor": dtypes.int32, "ShortTensor": dtypes.int16,
                     "CharTensor": dtypes.int8, "ByteTensor": dtypes.uint8,
                     "BoolTensor": dtypes.bool}


_LEGACY_NAME_OF = {d.np: name for name, d in LEGACY_TYPE_NAMES.items()}


def _type_name(t: Tensor) -> str:
    """``x.type()``: ``'softgrad.FloatTensor'`` and so on."""
    return f"softgrad.{_LEGACY_NAME_OF.get(t._data.dtype, f'{t.dtype.name}Tensor')}"


def _dtype_of(spec: Any) -> dtypes.DType:
    """The dtype a ``x.type(spec)`` call asks for: a legacy type (``sg.LongTensor``), its
    name as a string (``'torch.LongTensor'`` or ``'softgrad.LongTensor'``) or a dtype."""
    legacy = getattr(spec, "dtype", None) if isinstance(spec, type) else None
    if isinstance(legacy, dtypes.DType):
        return legacy
    if isinstance(spec, str):
        name = spec.rsplit(".", 1)[-1]
        if name in LEGACY_TYPE_NAMES:
            return LEGACY_TYPE_NAMES[name]
        raise ValueError(f"invalid type: {spec!r}")
    return spec


def _device_kind(device: str) -> str:
    return "cpu" if str(device).partition(":")[0] == "cpu" else "cuda"


def _to_device(t: Tensor, device: str) -> Tensor:
    if t.requires_grad:
        return type(t)._apply(ToDevice, t, device=str(device))
    return type(t)._wrap(backend.to_device(t._data, str(device)))


class ConvertMixin(TensorBase):
    """Conversions and display of Tensor: Python and NumPy values, dtypes, devices."""

    __slots__ = ()

    # ------------------------------------------------------------------ to Python and NumPy
    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def numpy(self) -> Any:
        """The data as a NumPy array (shares memory on the CPU)."""
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy()")
        return backend.to_numpy(self._data)

    def tolist(self) -> Any:
        return backend.to_numpy(self._data).tolist()

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy ufuncs that meet a Tensor.

        ``array -= tensor`` (any ufunc with ``out=``) writes into the array, as it does with a
        PyTorch tensor, so ``arr -= lr * p.grad`` keeps ``arr`` an array. An array on
        the left of an operator gives a Tensor (``array + tensor``, as ``tensor + array``);
        other ufunc calls (``np.exp(tensor)``) work on the data and return arrays.
        """
        out = kwargs.get("out")
        raw = [x._data if isinstance(x, TensorBase) else x for x in inputs]
        if out:
            kwargs["out"] = tuple(o._data if isinstance(o, TensorBase) else o for o in out)
            getattr(ufunc, method)(*raw, **kwargs)
            for o in out:
                if isinstance(o, TensorBase):
                    o._version += 1
            return out[0] if len(out) == 1 else out
        reflected = _REFLECTED.get(ufunc.__name__)
        if (method == "__call__" and reflected and len(inputs) == 2 and not kwargs
                and isinstance(inputs[1], TensorBase)
                and not isinstance(inputs[0], TensorBase)):
            return getattr(inputs[1], reflected)(inputs[0])
        return getattr(ufunc, method)(*raw, **kwargs)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        """NumPy view of the data (shared memory on the CPU); a copy when ``copy=True``
        or when ``dtype`` differs."""
        arr = backend.to_numpy(self._data)
        if copy is False and (self.device != "cpu" or (dtype is not None
                                                       and np.dtype(dtype) != arr.dtype)):
            raise ValueError("cannot convert this tensor to a NumPy array without a copy")
        if dtype is not None:
            arr = arr.astype(dtype, copy=bool(copy))
        elif copy:
            arr = arr.copy()
        return arr

    def __dlpack__(self, *, stream: Any = None, max_version: Any = None, dl_device: Any = None,
                   copy: Any = None) -> Any:
        """DLPack capsule of the data (no copy): ``np.from_dlpack(t)``, ``torch.from_dlpack(t)``.
        """
        if self.requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use "
                               "tensor.detach()")
        kwargs = {k: v for k, v in (("stream", stream), ("max_version", max_version),
                                    ("dl_device", dl_device), ("copy", copy)) if v is not None}
        try:
            return self._data.__dlpack__(**kwargs)
        except TypeError:  # an array library without the versioned protocol
            if max_version is None and dl_device is None and copy is None:
                raise
            return self._data.__dlpack__(**({"stream": stream} if stream is not None else {}))

    def __dlpack_device__(self) -> tuple:
        """(device type, device id) as DLPack numbers: (1, 0) for the CPU."""
        return self._data.__dlpack_device__()

    def __float__(self) -> float:
        return builtins.float(self.item())

    def __int__(self) -> int:
        return builtins.int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} elements is ambiguous")
        return builtins.bool(self._data.reshape(()).item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return builtins.int(self.item())

    # ------------------------------------------------------------------ new tensors like this one
    def new_full(self, size: Any, fill_value: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        """A tensor of ``size`` filled with ``fill_value``, with self's dtype and device."""
        np_dtype = dtypes.to_np(dtype) if dtype is not None else self._data.dtype
        xp = backend.xp_of(self._data) if device is None else backend.xp_for_device(str(device))
        t = self._wrap(xp.full(size_arg((size,)), fill_value, dtype=np_dtype))
        return t.requires_grad_() if requires_grad else t

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False, **size_kw: Any) -> Tensor:
        size = vararg(size, size_kw, "size", "new_zeros")
        return self.new_full(size_arg(size), 0, dtype, device, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False, **size_kw: Any) -> Tensor:
        size = vararg(size, size_kw, "size", "new_ones")
        return self.new_full(size_arg(size), 1, dtype, device, requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False, **size_kw: Any) -> Tensor:
        size = vararg(size, size_kw, "size", "new_empty")
        return self.new_full(size_arg(size), 0, dtype, device, requires_grad)

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> Tensor:
        """A copy of ``data`` with self's dtype (unless given) and device."""
        arr = tensor_array(data, dtype if dtype is not None else self.dtype,
                           device if device is not None else self.device)
        return self._leaf(arr, requires_grad)

    def clone(self) -> Tensor:
        """A copy that stays in the graph (grad flows back to self)."""
        return type(self)._apply(Cast, self, dtype=self._data.dtype)

    def contiguous(self, memory_format: Any = None) -> Tensor:
        """Self if row-major already, else a row-major copy that stays in the graph."""
        if self._data.flags.c_contiguous:
            return self  # type: ignore[return-value]  # hot path: no cast() call
        return type(self)._apply(Contiguous, self)

    def is_contiguous(self, memory_format: Any = None) -> bool:
        """Whether the data is laid out row-major without gaps."""
        return builtins.bool(self._data.flags.c_contiguous)

    # ------------------------------------------------------------------ dtype and device
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other_tensor)``.

        ``non_blocking`` and ``memory_format`` are accepted (copies are synchronous, and
        arrays keep NumPy's layout)."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)  # copies are synchronous
        if "memory_format" in kwargs:  # accepted; arrays stay row-major
            check_memory_format(kwargs.pop("memory_format"))
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, TensorBase):
                dtype, device = a.dtype, a.device
            elif isinstance(a, str) and a.partition(":")[0] in DEVICE_TYPES:
                device = a
            elif a is not None and not isinstance(a, builtins.bool):  # bools: non_blocking, copy
                dtype = a
        out: Tensor = self  # type: ignore[assignment]  # hot path: no cast() call
        if device is not None and backend.device_of(self._data) != _device_kind(device):
            out = _to_device(out, device)
        if dtype is not None and dtypes.to_np(dtype) != out._data.dtype:
            out = out._cast(dtypes.to_np(dtype))
        if copy and out is self:
            out = self.clone()
        return out

    def _cast(self, np_dtype: Any) -> Tensor:
        if np_dtype == self._data.dtype:
            return self  # type: ignore[return-value]  # hot path: no cast() call
        if self._tracing or (self.requires_grad and dtypes.is_differentiable(np.dtype(np_dtype))):
            return type(self)._apply(Cast, self, dtype=np_dtype)  # (tracing: for export)
        return type(self)._wrap(self._data.astype(np_dtype))

    def type(self, dtype: Any = None, non_blocking: bool = False,
             **kwargs: Any) -> str | Tensor:
        """``x.type()`` names the type (``'softgrad.FloatTensor'``); ``x.type(t)`` casts to a
        dtype, a legacy type (``sg.LongTensor``) or its name (``'torch.LongTensor'``,
        ``'torch.cuda.FloatTensor'``)."""
        if dtype is None:
            return _type_name(cast("Tensor", self))
        out = self.to(_dtype_of(dtype))
        if isinstance(dtype, str) and ".cuda." in dtype and out.device == "cpu":
            out = out.cuda()
        return out

    def type_as(self, other: Any) -> Tensor:
        """This tensor cast to ``other``'s dtype."""
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self._cast(np.float32)

    def double(self) -> Tensor:
        return self._cast(np.float64)

    def half(self) -> Tensor:
        return self._cast(np.float16)

    def bfloat16(self) -> Tensor:
        """A bfloat16 copy (needs the ``ml_dtypes`` package)."""
        return self._cast(dtypes.bfloat16.np)

    def long(self) -> Tensor:
        return self._cast(np.int64)

    def int(self) -> Tensor:
        return self._cast(np.int32)

    def bool(self) -> Tensor:
        return self._cast(np.bool_)

    def byte(self) -> Tensor:
        return self._cast(np.uint8)

    def char(self) -> Tensor:
        return self._cast(np.int8)

    def short(self) -> Tensor:
        return self._cast(np.int16)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def pin_memory(self, device: Any = None) -> Tensor:
        """Self, with a GPU present (softgrad's host-to-GPU copies are synchronous, so
        page-locked memory would not speed them up); an error without one, as in PyTorch."""
        if not backend.cuda_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        return cast("Tensor", self)

    def is_pinned(self, device: Any = None) -> builtins.bool:
        return False

    def cuda(self, device: Any = None, non_blocking: builtins.bool = False,
             memory_format: Any = None) -> Tensor:
        return self.to("cuda" if device is None else f"cuda:{device}" if isinstance(
            device, builtins.int) else device)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return printing.tensor_repr(self)

    def __format__(self, format_spec: str) -> str:
        """A 0-d tensor formats as its number (``f"{loss:.4f}"``); others as ``str``."""
        if self._data.ndim == 0:
            return self._data.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    __str__ = __repr__
