"""Storages and dtypes named in ``torch.save`` files, and tensors viewed from storages.

A storage is the flat memory behind one or more tensors; a file names it by a storage class
(``torch.FloatStorage``) or as untyped bytes plus a dtype. Tensors are NumPy views into the
storage's array, so tensors that shared memory when saved share it after loading. Every
offset, size and stride is checked against the storage before a view is made.
"""
from __future__ import annotations

import math
from typing import Any

from softgrad import backend, devices, dtypes
from softgrad.serialization.errors import CheckpointError
from softgrad.tensor import Tensor

np = backend.np

__all__ = ["STORAGE_DTYPES", "Storage", "StorageType", "TorchDType", "dtype_global",
           "storage_name_for", "tensor_from_storage", "to_softgrad_array", "torch_dtype"]

# torch storage class -> element dtype name (torch's names, which are softgrad's too)
STORAGE_DTYPES = {
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
    "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
    "BFloat16Storage": "bfloat16", "ComplexDoubleStorage": "complex128",
    "ComplexFloatStorage": "complex64", "UntypedStorage": "uint8",
    "QInt8Storage": "qint8", "QInt32Storage": "qint32", "QUInt8Storage": "quint8",
    "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4"}

# element dtype name -> raw little-endian NumPy dtype of its bytes (None: cannot be read)
_RAW = {"float64": "<f8", "float32": "<f4", "float16": "<f2", "bfloat16": "<u2",
        "int64": "<i8", "int32": "<i4", "int16": "<i2", "int8": "i1", "uint8": "u1",
        "bool": "?", "complex128": "<c16", "complex64": "<c8", "uint16": "<u2",
        "uint32": "<u4", "uint64": "<u8"}
_ITEMSIZE = {"complex32": 4, "qint8": 1, "quint8": 1, "qint32": 4, "quint4x2": 1,
             "quint2x4": 1, "float8_e5m2": 1, "float8_e4m3fn": 1, "float8_e5m2fnuz": 1,
             "float8_e4m3fnuz": 1, "float8_e8m0fnu": 1, "float4_e2m1fn_x2": 1, "bits8": 1,
             "bits16": 2, "bits1x8": 1, "bits2x4": 1, "bits4x2": 1}
TORCH_DTYPE_NAMES = tuple(_RAW) + tuple(_ITEMSIZE) + tuple(
    f"{k}{n}" for k in ("int", "uint") for n in range(1, 8))
_MAX_NDIM = 64


def _itemsize(name: str) -> int:
    return np.dtype(_RAW[name]).itemsize if name in _RAW else _ITEMSIZE.get(name, 1)


def _softgrad_np(name: str) -> Any:
    """The NumPy dtype of softgrad's dtype called ``name``, or None when softgrad has none."""
    try:
        return dtypes.get(name).np
    except (ValueError, AttributeError):
        return None


class TorchDType:
    """A ``torch.<dtype>`` global that softgrad has no dtype for (kept as a value)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TorchDType) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("torch", self.name))


def torch_dtype(name: str) -> Any:
    """The value of the global ``torch.<name>``: softgrad's dtype, or a TorchDType."""
    try:
        return dtypes.get(name)
    except (ValueError, AttributeError):
        return TorchDType(name)


def dtype_global(dtype: Any) -> str:
    """The torch dtype name for a NumPy dtype (``float32``, ``bfloat16``, ...)."""
    if dtype.name == "bfloat16":
        return "bfloat16"
    kinds = {"f": "float", "i": "int", "u": "uint", "c": "complex"}
    if dtype.kind == "b":
        return "bool"
    if dtype.kind not in kinds or dtype.byteorder not in "=|<":
        raise TypeError(f"cannot save tensors of dtype {dtype} in PyTorch's format")
    return f"{kinds[dtype.kind]}{dtype.itemsize * 8}"


def storage_name_for(dtype_name: str) -> str | None:
    """torch's storage class for a dtype, None for dtypes saved as untyped bytes."""
    for cls, name in STORAGE_DTYPES.items():
        if name == dtype_name and cls != "UntypedStorage":
            return cls
    return None


class StorageType:
    """The value of a storage-class global (``torch.FloatStorage``) in a file."""

    __slots__ = ("dtype_name", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype_name = STORAGE_DTYPES[name]

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class Storage:
    """A storage read from a file: a flat array of ``dtype_name`` elements and the device
    the tensors viewing it go to. ``map_location`` callables receive it with its location
    tag; ``storage.cpu()`` and ``storage.cuda(i)`` return it bound for that device."""

    __slots__ = ("_typed", "array", "device", "dtype_name")

    def __init__(self, array: Any, dtype_name: str, device: str = "cpu") -> None:
        self.array, self.dtype_name, self.device = array, dtype_name, device
        self._typed: dict[str, Any] = {}

    def cpu(self) -> Storage:
        return self._moved("cpu")

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Storage:
        if device is None:
            return self._moved("cuda")
        index = device if isinstance(device, int) else devices.device(device).index
        return self._moved("cuda" if index is None else f"cuda:{index}")

    def to(self, device: Any) -> Storage:
        return self._moved(str(device))

    def _moved(self, device: str) -> Storage:
        out = Storage(self.array, self.dtype_name, device)
        out._typed = self._typed
        return out

    def size(self) -> int:
        return int(self.array.size)

    __len__ = size

    def nbytes(self) -> int:
        return int(self.array.nbytes)

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def __repr__(self) -> str:
        return f"Storage({self.dtype_name}, {self.array.size} elements, device={self.device!r})"

    def typed(self, dtype_name: str) -> Any:
        """The storage's bytes as ``dtype_name`` elements (for untyped storages)."""
        if dtype_name == self.dtype_name:
            return self.array
        if dtype_name not in self._typed:
            if self.dtype_name != "uint8" or dtype_name not in _RAW:
                raise CheckpointError(f"a {self.dtype_name} storage cannot be viewed as "
                                      f"{dtype_name}")
            raw = self.array
            size = _itemsize(dtype_name)
            if raw.size % size:
                raise CheckpointError(f"a storage of {raw.size} bytes cannot hold whole "
                                      f"{dtype_name} elements")
            if raw.size and raw.strides == (0,):  # a probe storage with no memory behind it
                one = to_softgrad_array(np.zeros(1, _RAW[dtype_name]), dtype_name)
                self._typed[dtype_name] = np.broadcast_to(one, (raw.size // size,))
            else:
                self._typed[dtype_name] = to_softgrad_array(raw.view(_RAW[dtype_name]),
                                                            dtype_name)
        return self._typed[dtype_name]


def to_softgrad_array(raw: Any, dtype_name: str) -> Any:
    """Native-byte-order array of a dtype softgrad has, from raw elements of ``dtype_name``:
    bfloat16 is widened to float32 (exactly) unless softgrad has bfloat16, uint16/uint32 to
    int32/int64, uint64 to int64 when its values fit."""
    if dtype_name not in _RAW:
        raise CheckpointError(f"tensors of dtype torch.{dtype_name} cannot be loaded: softgrad "
                              "has no such dtype")
    if not raw.dtype.isnative:
        raw = raw.astype(raw.dtype.newbyteorder("="))
    if dtype_name == "bfloat16":
        native = _softgrad_np("bfloat16")
        if native is not None and native.itemsize == 2:
            return raw.view(native)
        return (raw.astype(np.uint32) << 16).view(np.float32)
    have = _softgrad_np(dtype_name)
    if have is not None and have == raw.dtype:
        return raw
    if dtype_name in ("uint16", "uint32"):
        return raw.astype(np.int32 if dtype_name == "uint16" else np.int64)
    if dtype_name == "uint64":
        if raw.size and raw.max() > np.iinfo(np.int64).max:
            raise CheckpointError("a uint64 tensor holds values beyond int64, which softgrad "
                                  "cannot represent")
        return raw.astype(np.int64)
    raise CheckpointError(f"tensors of dtype torch.{dtype_name} cannot be loaded: softgrad has "
                          "no such dtype")


def read_storage(buf: Any, dtype_name: str, byteorder: str) -> Any:
    """Elements of ``dtype_name`` from the bytes in the uint8 array ``buf``."""
    if dtype_name not in _RAW:
        raise CheckpointError(f"storages of dtype torch.{dtype_name} cannot be loaded: "
                              "softgrad has no such dtype")
    raw_dtype = np.dtype(_RAW[dtype_name])
    if byteorder == "big" and raw_dtype.itemsize > 1:
        raw_dtype = raw_dtype.newbyteorder(">")
    if buf.size % raw_dtype.itemsize:
        raise CheckpointError(f"a {dtype_name} storage of {buf.size} bytes is not a whole "
                              "number of elements")
    return to_softgrad_array(buf.view(raw_dtype), dtype_name)


def storage_nbytes(dtype_name: str, numel: int) -> int:
    return numel * _itemsize(dtype_name)


def _dims(value: Any, what: str) -> tuple:
    if not isinstance(value, tuple) or len(value) > _MAX_NDIM or not all(
            type(v) is int and v >= 0 for v in value):
        raise CheckpointError(f"corrupt tensor {what}: expected a tuple of at most "
                              f"{_MAX_NDIM} non-negative ints, got {type(value).__name__}")
    return value


def tensor_from_storage(storage: Any, offset: Any, size: Any, stride: Any,
                        dtype_name: str | None = None) -> Tensor:
    """A Tensor viewing ``storage`` (no copy on the CPU), after checking that every element
    it addresses lies inside the storage."""
    if not isinstance(storage, Storage):
        raise CheckpointError(f"corrupt tensor: expected a storage, got {type(storage).__name__}")
    size, stride = _dims(size, "size"), _dims(stride, "stride")
    if type(offset) is not int or offset < 0 or len(size) != len(stride):
        raise CheckpointError("corrupt tensor: bad storage offset or size/stride lengths")
    arr = storage.array if dtype_name is None else storage.typed(dtype_name)
    numel = math.prod(size)
    if numel:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= arr.size:
            raise CheckpointError(
                f"corrupt tensor: size {list(size)}, stride {list(stride)} and offset {offset} "
                f"reach element {last} of a storage of {arr.size} elements")
    elif offset > arr.size:
        raise CheckpointError(f"corrupt tensor: offset {offset} beyond a storage of {arr.size}")
    contiguous = all(st == math.prod(size[i + 1:]) for i, st in enumerate(stride) if size[i] > 1)
    if contiguous:
        view = arr[offset:offset + numel].reshape(size)
    else:
        view = np.lib.stride_tricks.as_strided(
            arr[offset:], shape=size, strides=[s * arr.itemsize for s in stride])
    if storage.device != "cpu":
        view = backend.to_device(view, storage.device)
    return Tensor._wrap(view)

