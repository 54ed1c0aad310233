"""What the globals in a ``torch.save`` pickle stand for when softgrad loads it.

``WEIGHTS_ONLY`` maps the names PyTorch 2.13 allows under ``weights_only=True`` to softgrad
objects: tensor rebuild functions, storage classes, dtypes, ``OrderedDict``, ``Counter``,
``torch.Size``, ``torch.device``, ``set``, ``bytearray``, ``complex`` and ``_codecs.encode``.
``FULL_EXTRA`` adds what ``weights_only=False`` may use besides classes: NumPy arrays and
scalars, ``frozenset``, ``slice``, ``range``, ``bytes``, ``defaultdict``, ``deque`` and
Python's own reconstructor. Each callable is a :class:`Rebuild` that checks its arguments
(types, sizes, bounds) before it builds anything; none runs code named by the file.
"""
from __future__ import annotations

import collections
import math
import warnings
from collections.abc import Callable
from typing import Any

from softgrad import backend, devices, dtypes
from softgrad.size import Size
from softgrad.nn.parameter import Buffer, Parameter
from softgrad.serialization.errors import CheckpointError
from softgrad.serialization.storage import (
    STORAGE_DTYPES,
    TORCH_DTYPE_NAMES,
    StorageType,
    TorchDType,
    tensor_from_storage,
    torch_dtype,
)
from softgrad.tensor import Tensor

np = backend.np

__all__ = ["FULL_EXTRA", "WEIGHTS_ONLY", "Rebuild"]

_MAX_BYTES_LIST = 1 << 16


class Rebuild:
    """A global the unpickler may call: a checked softgrad function standing for ``name``.
    ``value`` is what the global means when it is used as a value rather than called."""

    __slots__ = ("fn", "name", "value")

    def __init__(self, name: str, fn: Callable, value: Any = None) -> None:
        self.name, self.fn, self.value = name, fn, value

    def __repr__(self) -> str:
        return self.name


def _fail(msg: str) -> CheckpointError:
    return CheckpointError(f"corrupt or unsupported checkpoint: {msg}")


def _requires_grad(t: Tensor, flag: Any) -> Tensor:
    if type(flag) is not bool:
        raise _fail(f"requires_grad must be a bool, got {type(flag).__name__}")
    if flag:
        if t._data.dtype.kind not in "fc":
            raise _fail(f"a tensor of dtype {t._data.dtype} cannot require gradients")
        t.requires_grad = True
    return t


def _check_metadata(metadata: Any) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise _fail("tensor metadata must be a dict")
    set_bits = sorted(str(k) for k, v in metadata.items() if v)
    if set_bits:
        raise _fail(f"tensors with the {set_bits} bit(s) set (conjugate/negative views) are "
                    "not supported")


def rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any) -> Tensor:
    return tensor_from_storage(storage, offset, size, stride)


def rebuild_tensor_v2(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any,
                      backward_hooks: Any = None, metadata: Any = None) -> Tensor:
    _check_metadata(metadata)
    return _requires_grad(tensor_from_storage(storage, offset, size, stride), requires_grad)


def rebuild_tensor_v3(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any,
                      backward_hooks: Any, dtype: Any, metadata: Any = None) -> Tensor:
    _check_metadata(metadata)
    if not isinstance(dtype, (dtypes.DType, TorchDType)):
        raise _fail(f"expected a dtype, got {type(dtype).__name__}")
    t = tensor_from_storage(storage, offset, size, stride, dtype.name)
    return _requires_grad(t, requires_grad)


def _parameter(data: Any, requires_grad: Any = True) -> Parameter:
    if not isinstance(data, Tensor) or type(requires_grad) is not bool:
        raise _fail("a Parameter is rebuilt from a tensor and a bool")
    if requires_grad and data._data.dtype.kind not in "fc":
        raise _fail(f"a parameter of dtype {data._data.dtype} cannot require gradients")
    return Parameter(data, requires_grad=requires_grad)


def rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any = None) -> Parameter:
    return _parameter(data, requires_grad)


def _warn_dropped(state: Any, what: str) -> None:
    names = sorted(map(str, state)) if isinstance(state, dict) else []
    if isinstance(state, tuple):
        names = sorted(str(k) for part in state if isinstance(part, dict) for k in part)
    if names:
        warnings.warn(f"softgrad tensors hold no Python attributes: the attributes {names} "
                      f"saved on a {what} were not restored", stacklevel=6)


def rebuild_parameter_with_state(data: Any, requires_grad: Any, backward_hooks: Any,
                                 state: Any) -> Parameter:
    _warn_dropped(state, "Parameter")
    return _parameter(data, requires_grad)


_TENSOR_FUNCS: set = set()


def rebuild_from_type_v2(func: Any, new_type: Any, args: Any, state: Any) -> Tensor:
    if not isinstance(func, Rebuild) or func.fn not in _TENSOR_FUNCS or not isinstance(
            args, tuple):
        raise _fail("_rebuild_from_type_v2 must wrap a tensor rebuild function")
    t = func.fn(*args)
    if new_type is Tensor:
        _warn_dropped(state, "Tensor")
        return t
    if new_type is Parameter:
        return t if isinstance(t, Parameter) else _parameter(t, t.requires_grad)
    if new_type is Buffer:
        persistent = state.get("persistent", True) if isinstance(state, dict) else True
        if type(persistent) is not bool:
            raise _fail("a Buffer's 'persistent' flag must be a bool")
        return Buffer(t, persistent=persistent)
    raise _fail(f"tensor subclass {new_type!r:.80} is not supported; softgrad rebuilds Tensor, "
                "Parameter and Buffer")


def rebuild_device_tensor_from_cpu_tensor(data: Any, dtype: Any, device: Any,
                                          requires_grad: Any) -> Tensor:
    if not isinstance(data, Tensor) or str(device) != "cpu":
        raise _fail(f"tensors saved on device {str(device)!r:.40} are not supported")
    return _requires_grad(data, requires_grad)


def _unsupported(kind: str) -> Callable:
    def fail(*args: Any) -> Any:
        raise _fail(f"{kind} tensors are not supported by softgrad")
    return fail


def _size(dims: Any = ()) -> tuple:
    if not isinstance(dims, (tuple, list)) or not all(type(d) is int for d in dims):
        raise _fail("torch.Size takes a sequence of ints")
    return Size(dims)


def _device(kind: Any, index: Any = None) -> devices.device:
    if not isinstance(kind, str) or not (index is None or type(index) is int):
        raise _fail("torch.device takes a device name and an optional index")
    try:
        return devices.device(kind, index)
    except (RuntimeError, ValueError) as exc:
        raise _fail(f"device {kind!r:.40}: {exc}") from None


def _layout(name: Any) -> str:
    if name != "torch.strided":
        raise _fail(f"layout {name!r:.40} is not supported (softgrad tensors are strided)")
    return name


def _codecs_encode(obj: Any, encoding: Any = "utf-8", errors: Any = "strict") -> bytes:
    if type(obj) is not str or encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii") \
            or errors != "strict":
        raise _fail("_codecs.encode is only used for bytes: (str, 'latin1')")
    return obj.encode(encoding)


def _is_byte_data(data: Any) -> bool:
    """bytes, a bytearray, or a (bounded) list of byte values."""
    if isinstance(data, (bytes, bytearray)):
        return True
    return type(data) is list and len(data) <= _MAX_BYTES_LIST and all(
        type(b) is int and 0 <= b < 256 for b in data)


def _bytearray(data: Any = b"") -> bytearray:
    if _is_byte_data(data):
        return bytearray(data)
    raise _fail("bytearray is rebuilt from bytes")


def _bytes(data: Any = b"") -> bytes:
    if _is_byte_data(data):
        return bytes(data)
    raise _fail("bytes are rebuilt from bytes or a list of byte values")


def _iterable(items: Any, what: str) -> Any:
    if type(items) not in (list, tuple, set, frozenset, dict):
        raise _fail(f"{what} is rebuilt from a list, got {type(items).__name__}")
    return items


def _set(items: Any = ()) -> set:
    return set(_iterable(items, "set"))


def _frozenset(items: Any = ()) -> frozenset:
    return frozenset(_iterable(items, "frozenset"))


def _complex(real: Any = 0, imag: Any = 0) -> complex:
    if not all(type(v) in (int, float) for v in (real, imag)):
        raise _fail("complex is rebuilt from two numbers")
    return complex(real, imag)


def _ordered_dict(items: Any = ()) -> collections.OrderedDict:
    return collections.OrderedDict(_iterable(items, "OrderedDict"))


def _counter(items: Any = ()) -> collections.Counter:
    return collections.Counter(_iterable(items, "Counter"))


def _slice(*args: Any) -> slice:
    if len(args) > 3 or not all(a is None or type(a) is int for a in args):
        raise _fail("slice is rebuilt from ints or None")
    return slice(*args)


def _range(*args: Any) -> range:
    if not 1 <= len(args) <= 3 or not all(type(a) is int for a in args):
        raise _fail("range is rebuilt from ints")
    return range(*args)


_FACTORIES = {dict, list, set, frozenset, tuple, int, float, str, bool, complex, bytes,
              collections.OrderedDict, collections.Counter}


def _defaultdict(factory: Any = None, *rest: Any) -> collections.defaultdict:
    if isinstance(factory, Rebuild):
        factory = factory.value
    if rest or not (factory is None or factory in _FACTORIES):
        raise _fail("defaultdict is rebuilt with a built-in container or number type as "
                    "its default factory")
    return collections.defaultdict(factory)


def _deque(items: Any = (), maxlen: Any = None) -> collections.deque:
    if not (maxlen is None or type(maxlen) is int):
        raise _fail("deque's maxlen must be an int")
    return collections.deque(_iterable(items, "deque"), maxlen)


class PendingArray:
    """A NumPy array whose data comes with the following BUILD instruction."""

    __slots__ = ()


class PendingDType:
    """A NumPy dtype whose byte order comes with the following BUILD instruction."""

    __slots__ = ("dtype",)

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype


def _plain_dtype(dtype: Any) -> Any:
    if isinstance(dtype, PendingDType):
        dtype = dtype.dtype
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biufc" or dtype.hasobject \
            or dtype.names is not None or dtype.subdtype is not None:
        raise _fail(f"NumPy data of dtype {dtype!r:.40} is not supported (numbers and bools "
                    "only)")
    return dtype


def _np_dtype(code: Any, align: Any = False, copy: Any = True) -> PendingDType:
    if type(code) is not str or len(code) > 8:
        raise _fail("numpy.dtype is rebuilt from a short type code")
    try:
        dtype = np.dtype(code)
    except TypeError:
        raise _fail(f"unknown NumPy type code {code!r}") from None
    return PendingDType(_plain_dtype(dtype))


def finish_dtype(pending: PendingDType, state: Any) -> Any:
    """BUILD on a NumPy dtype: apply the byte order from ``state``."""
    if not isinstance(state, tuple) or len(state) < 2 or state[1] not in "<>|=":
        raise _fail("bad NumPy dtype state")
    if any(part is not None for part in state[2:5]):
        raise _fail("structured NumPy dtypes are not supported")
    order = state[1]
    return pending.dtype if order in "|=" else pending.dtype.newbyteorder(order)


def _np_reconstruct(cls: Any, shape: Any = (0,), typecode: Any = b"b") -> PendingArray:
    if cls is not np.ndarray:
        raise _fail("numpy's _reconstruct only rebuilds numpy.ndarray")
    return PendingArray()


def finish_array(state: Any) -> Any:
    """BUILD on a NumPy array: ``(version, shape, dtype, is_fortran, raw bytes)``."""
    if not isinstance(state, tuple) or len(state) != 5:
        raise _fail("bad NumPy array state")
    _, shape, dtype, fortran, raw = state
    dtype = _plain_dtype(dtype)
    if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape) \
            or len(shape) > 64 or type(fortran) is not bool:
        raise _fail("bad NumPy array shape")
    if isinstance(raw, str):
        raw = raw.encode("latin1")
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != math.prod(shape) * dtype.itemsize:
        raise _fail(f"NumPy array of shape {list(shape)} and dtype {dtype} does not match its "
                    "data")
    arr = np.frombuffer(raw, dtype=dtype).copy()
    return arr.reshape(shape, order="F" if fortran else "C")


def _np_scalar(dtype: Any, raw: Any = b"") -> Any:
    dtype = _plain_dtype(dtype)
    if isinstance(raw, str):
        raw = raw.encode("latin1")
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != dtype.itemsize:
        raise _fail("bad NumPy scalar")
    return np.frombuffer(raw, dtype=dtype)[0]


def _build_tables() -> tuple[dict, dict]:
    def R(name: str, fn: Callable, value: Any = None) -> tuple[str, Rebuild]:
        return name, Rebuild(name, fn, value)

    tensor_funcs: dict[str, Callable] = {
        "_rebuild_tensor": rebuild_tensor, "_rebuild_tensor_v2": rebuild_tensor_v2,
        "_rebuild_tensor_v3": rebuild_tensor_v3, "_rebuild_parameter": rebuild_parameter,
        "_rebuild_parameter_with_state": rebuild_parameter_with_state,
        "_rebuild_device_tensor_from_cpu_tensor": rebuild_device_tensor_from_cpu_tensor,
        "_rebuild_qtensor": _unsupported("quantized"),
        "_rebuild_sparse_tensor": _unsupported("sparse"),
        "_rebuild_nested_tensor": _unsupported("nested"),
        "_rebuild_meta_tensor_no_storage": _unsupported("meta"),
        "_rebuild_wrapper_subclass": _unsupported("wrapper-subclass"),
        "_rebuild_device_tensor_from_numpy": _unsupported("NumPy-backed device")}
    _TENSOR_FUNCS.update({rebuild_tensor, rebuild_tensor_v2, rebuild_tensor_v3,
                          rebuild_parameter, rebuild_parameter_with_state})
    wo: dict[str, Any] = dict(
        [R(f"torch._utils.{k}", fn) for k, fn in tensor_funcs.items()] + [
            R("torch._tensor._rebuild_from_type_v2", rebuild_from_type_v2),
            R("collections.OrderedDict", _ordered_dict, collections.OrderedDict),
            R("collections.Counter", _counter, collections.Counter),
            R("torch.Size", _size), R("torch.device", _device),
            R("torch.serialization._get_layout", _layout),
            R("_codecs.encode", _codecs_encode),
            R("builtins.bytearray", _bytearray, bytearray), R("builtins.set", _set, set),
            R("builtins.complex", _complex, complex)])
    wo["torch.nn.parameter.Parameter"] = Parameter
    wo["torch.Tensor"] = Tensor
    wo[f"{Buffer.__module__}.{Buffer.__qualname__}"] = Buffer  # softgrad's buffer tensors
    for name in TORCH_DTYPE_NAMES:
        wo[f"torch.{name}"] = torch_dtype(name)
    for name in STORAGE_DTYPES:
        for module in ("torch", "torch.storage", "torch.cuda"):
            wo[f"{module}.{name}"] = StorageType(name)
    full: dict[str, Any] = dict([
        R("numpy.core.multiarray._reconstruct", _np_reconstruct),
        R("numpy._core.multiarray._reconstruct", _np_reconstruct),
        R("numpy.core.multiarray.scalar", _np_scalar),
        R("numpy._core.multiarray.scalar", _np_scalar),
        R("numpy.dtype", _np_dtype),
        R("builtins.frozenset", _frozenset, frozenset), R("builtins.slice", _slice),
        R("builtins.range", _range), R("builtins.bytes", _bytes, bytes),
        R("collections.defaultdict", _defaultdict), R("collections.deque", _deque),
        R("softgrad.dtypes.get", _dtype_by_name)])
    full["numpy.ndarray"] = np.ndarray
    for t in (dict, list, tuple, int, float, str, bool, object):
        full[f"builtins.{t.__name__}"] = t
    return wo, full


def _dtype_by_name(name: Any) -> Any:
    if type(name) is not str:
        raise _fail("softgrad.dtypes.get takes a dtype name")
    try:
        return dtypes.get(name)
    except ValueError as exc:
        raise _fail(str(exc)) from None


WEIGHTS_ONLY, FULL_EXTRA = _build_tables()
