"""Writing the pickle of a ``torch.save`` file (``data.pkl``) without PyTorch.

:class:`TorchPickler` emits pickle protocol 2 with the instructions PyTorch's
``weights_only`` loader reads, and names tensors the way ``torch.save`` does:
``torch._utils._rebuild_tensor_v2`` over a persistent id
``('storage', torch.FloatStorage, key, 'cpu', numel)`` whose bytes go to ``data/<key>``.
Tensors that view one NumPy array share one storage (with their offset and strides), so
tied weights and views stay shared after loading, in softgrad or in PyTorch. softgrad
dtypes are written as ``torch.float32``..., ``sg.device`` as ``torch.device``, ``sg.Size``
as ``torch.Size``; other objects (modules, namedtuples, NumPy arrays) are reduced as
:mod:`pickle` would reduce them.
"""
from __future__ import annotations

import collections
import copyreg
import pickle
import struct
import sys
import types
from collections.abc import Iterable, Iterator
from typing import Any

from softgrad import backend, devices, dtypes
from softgrad.size import Size
from softgrad.nn.parameter import Buffer, Parameter
from softgrad.serialization.storage import dtype_global, storage_name_for
from softgrad.tensor import Tensor

np = backend.np

__all__ = ["TorchPickler"]

_BATCH = 1000
_P = pickle


def _where(path: tuple) -> str:
    return "obj" + "".join(f"[{p!r}]" if not isinstance(p, str) or not p.startswith(".")
                           else p for p in path)


class TorchPickler:
    """Pickles one object; ``storages`` lists ``(key, flat array)`` for the data records."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.memo: dict[int, tuple[int, Any]] = {}
        self.globals_memo: dict[str, int] = {}
        self.storages: list[tuple[str, Any]] = []
        self._keys: dict[int, str] = {}  # id(flat array) -> storage key
        self._flats: dict[int, tuple[Any, Any]] = {}  # id(root array) -> (root, flat view)
        self._open_tuples: set[int] = set()

    def dump(self, obj: Any) -> bytes:
        self.out += _P.PROTO + b"\x02"
        self.save(obj, ())
        self.out += _P.STOP
        return bytes(self.out)

    # ------------------------------------------------------------------ memo
    def _put(self, obj: Any) -> None:
        idx = len(self.memo) + len(self.globals_memo)
        self.memo[id(obj)] = (idx, obj)  # keeps obj alive, so ids stay unique
        self._write_put(idx)

    def _write_put(self, idx: int) -> None:
        self.out += (_P.BINPUT + bytes([idx]) if idx < 256
                     else _P.LONG_BINPUT + struct.pack("<I", idx))

    def _get(self, idx: int) -> None:
        self.out += (_P.BINGET + bytes([idx]) if idx < 256
                     else _P.LONG_BINGET + struct.pack("<I", idx))

    def global_(self, module: str, name: str) -> None:
        key = f"{module}\n{name}\n"
        if key in self.globals_memo:
            self._get(self.globals_memo[key])
            return
        self.out += _P.GLOBAL + key.encode("utf-8")
        idx = len(self.memo) + len(self.globals_memo)
        self.globals_memo[key] = idx
        self._write_put(idx)

    # ------------------------------------------------------------------ objects
    def save(self, obj: Any, path: tuple) -> None:
        kind = type(obj)
        if obj is None:
            self.out += _P.NONE
        elif kind is bool:
            self.out += _P.NEWTRUE if obj else _P.NEWFALSE
        elif kind is int:
            self._int(obj)
        elif kind is float:
            self.out += _P.BINFLOAT + struct.pack(">d", obj)
        elif id(obj) in self.memo:
            self._get(self.memo[id(obj)][0])
        elif kind is str:
            raw = obj.encode("utf-8", "surrogatepass")
            self.out += _P.BINUNICODE + struct.pack("<I", len(raw)) + raw
            self._put(obj)
        elif kind is tuple:
            self._tuple(obj, path)
        elif kind is list:
            self.out += _P.EMPTY_LIST
            self._put(obj)
            self._items(obj, path)
        elif kind is dict:
            self.out += _P.EMPTY_DICT
            self._put(obj)
            self._pairs(obj.items(), path)
        else:
            self._special(obj, kind, path)

    def _int(self, n: int) -> None:
        if 0 <= n < 256:
            self.out += _P.BININT1 + bytes([n])
        elif 0 <= n < 65536:
            self.out += _P.BININT2 + struct.pack("<H", n)
        elif -2 ** 31 <= n < 2 ** 31:
            self.out += _P.BININT + struct.pack("<i", n)
        else:
            raw = _P.encode_long(n)
            self.out += (_P.LONG1 + bytes([len(raw)]) if len(raw) < 256
                         else _P.LONG4 + struct.pack("<i", len(raw))) + raw

    def _tuple(self, obj: tuple, path: tuple) -> None:
        if not obj:
            self.out += _P.EMPTY_TUPLE
            return
        if id(obj) in self._open_tuples:
            raise ValueError(f"sg.save cannot store a tuple that contains itself (at "
                             f"{_where(path)})")
        self._open_tuples.add(id(obj))
        if len(obj) > 3:
            self.out += _P.MARK
        for i, item in enumerate(obj):
            self.save(item, path + (i,))
        self._open_tuples.discard(id(obj))
        self.out += {1: _P.TUPLE1, 2: _P.TUPLE2, 3: _P.TUPLE3}.get(len(obj), _P.TUPLE)
        self._put(obj)

    def _items(self, items: Any, path: tuple) -> None:
        for batch in _batches(enumerate(items)):
            self._append_batch(batch, path)

    def _append_batch(self, batch: list, path: tuple) -> None:
        if len(batch) > 1:
            self.out += _P.MARK
        for i, item in batch:
            self.save(item, path + (i,))
        self.out += _P.APPENDS if len(batch) > 1 else _P.APPEND

    def _pairs(self, pairs: Any, path: tuple) -> None:
        for batch in _batches(pairs):
            self._set_batch(batch, path)

    def _set_batch(self, batch: list, path: tuple) -> None:
        if len(batch) > 1:
            self.out += _P.MARK
        for key, value in batch:
            self.save(key, path + ("<key>",))
            self.save(value, path + (key,))
        self.out += _P.SETITEMS if len(batch) > 1 else _P.SETITEM

    def _special(self, obj: Any, kind: type, path: tuple) -> None:
        if isinstance(obj, Tensor):
            self._tensor(obj, path)
        elif isinstance(obj, dtypes.DType):
            self.global_("torch", obj.name)
        elif isinstance(obj, devices.device):
            self.global_("torch", "device")
            kind_, _, index = str(obj).partition(":")
            self.save((kind_,) if not index else (kind_, int(index)), path)
            self.out += _P.REDUCE
            self._put(obj)
        elif kind is Size:
            self._call("torch", "Size", (tuple(obj),), obj, path)
        elif kind is collections.OrderedDict:
            self._call("collections", "OrderedDict", (), obj, path)
            self._pairs(obj.items(), path)
            if obj.__dict__:
                self.save(obj.__dict__, path + (".__dict__",))
                self.out += _P.BUILD
        elif kind is bytes:
            self._call("_codecs", "encode", (obj.decode("latin1"), "latin1"), obj, path)
        elif kind in (set, bytearray, complex):
            args = {set: lambda: (list(obj),), bytearray: lambda: (bytes(obj),),
                    complex: lambda: (obj.real, obj.imag)}[kind]()
            self._call("builtins", kind.__name__, args, obj, path)
        elif isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
            self._global_object(obj, path)
        else:
            self._reduce(obj, path)

    def _call(self, module: str, name: str, args: tuple, obj: Any, path: tuple) -> None:
        self.global_(module, name)
        self.save(args, path)
        self.out += _P.REDUCE
        self._put(obj)

    def _global_object(self, obj: Any, path: tuple) -> None:
        module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", "")
        if module is None or "<locals>" in name or "<lambda>" in name:
            raise TypeError(f"sg.save cannot store {type(obj).__name__} {module}.{name} at "
                            f"{_where(path)}: only classes and functions defined at the top "
                            "level of a module are saved (by name)")
        found = sys.modules.get(module)
        for part in name.split("."):
            found = getattr(found, part, None)
        if found is not obj:
            raise TypeError(f"sg.save cannot store {type(obj).__name__} {module}.{name} at "
                            f"{_where(path)}: it is not the object found under that name")
        self.global_(module, name)
        self.memo[id(obj)] = (self.globals_memo[f"{module}\n{name}\n"], obj)

    def _reduce(self, obj: Any, path: tuple) -> None:
        try:
            rv = obj.__reduce_ex__(2)
        except Exception as exc:
            raise TypeError(f"sg.save cannot store an object of type {type(obj).__name__} at "
                            f"{_where(path)}: {exc}") from None
        if isinstance(rv, str):
            module = getattr(obj, "__module__", None) or ""
            self._global_object(getattr(sys.modules.get(module), rv, obj), path)
            return
        func, args, state, listitems, dictitems = (tuple(rv) + (None,) * 5)[:5]
        if func is copyreg.__newobj__:  # type: ignore[attr-defined]  # not in the stub
            cls = args[0]
            self._global_object(cls, path + (".__class__",))
            self.save(tuple(args[1:]), path)
            self.out += _P.NEWOBJ
        elif func is copyreg.__newobj_ex__:  # type: ignore[attr-defined]
            raise TypeError(f"sg.save cannot store {type(obj).__name__} at {_where(path)}: it "
                            "needs keyword arguments to be created")
        else:
            self.save(func, path + (".__reduce__",))
            self.save(tuple(args), path)
            self.out += _P.REDUCE
        if id(obj) in self.memo:
            raise ValueError(f"sg.save cannot store an object that contains itself through its "
                             f"constructor arguments (at {_where(path)})")
        self._put(obj)
        if listitems is not None:
            self._items(listitems, path)
        if dictitems is not None:
            self._pairs(dictitems, path)
        if state is not None:
            self.save(state, path)
            self.out += _P.BUILD

    # ------------------------------------------------------------------ tensors
    def _tensor(self, t: Tensor, path: tuple) -> None:
        if isinstance(t, Parameter):
            self.global_("torch._utils", "_rebuild_parameter")
            self._tensor_v2(t, path)
            self.out += _P.NEWTRUE if t.requires_grad else _P.NEWFALSE
            self._empty_ordered_dict()
            self.out += _P.TUPLE3 + _P.REDUCE
        elif isinstance(t, Buffer):
            self.global_("torch._tensor", "_rebuild_from_type_v2")
            self.out += _P.MARK
            self.global_("torch._utils", "_rebuild_tensor_v2")
            self.global_(Buffer.__module__, Buffer.__qualname__)
            self._tensor_args(t, path)
            self.save({"persistent": bool(t.persistent)}, path)
            self.out += _P.TUPLE + _P.REDUCE
        else:
            self._tensor_v2(t, path)
        self._put(t)

    def _tensor_v2(self, t: Tensor, path: tuple) -> None:
        typed = storage_name_for(dtype_global(t._data.dtype)) is not None
        self.global_("torch._utils", "_rebuild_tensor_v2" if typed else "_rebuild_tensor_v3")
        self._tensor_args(t, path)
        self.out += _P.REDUCE

    def _tensor_args(self, t: Tensor, path: tuple) -> None:
        """``(storage, offset, size, stride, requires_grad, hooks[, dtype])`` as a tuple."""
        arr = t._data
        location = "cpu"
        if type(arr) is not np.ndarray and backend.device_of(arr) == "cuda":
            location = f"cuda:{int(getattr(getattr(arr, 'device', None), 'id', 0))}"
            arr = backend.to_numpy(arr)
        name = dtype_global(arr.dtype)
        storage_cls = storage_name_for(name)
        flat, offset, strides = self._storage(arr)
        key = self._key(flat)
        self.out += _P.MARK + _P.MARK
        self.save("storage", path)
        self.global_("torch", storage_cls or "UntypedStorage")
        self.save(key, path)
        self.save(location, path)
        self._int(int(flat.size if storage_cls else flat.nbytes))
        self.out += _P.TUPLE + _P.BINPERSID
        self._int(offset)
        self.save(tuple(int(n) for n in arr.shape), path)
        self.save(tuple(strides), path)
        self.out += _P.NEWTRUE if t.requires_grad else _P.NEWFALSE
        self._empty_ordered_dict()
        if storage_cls is None:
            self.global_("torch", name)
        self.out += _P.TUPLE

    def _empty_ordered_dict(self) -> None:
        self.global_("collections", "OrderedDict")
        self.out += _P.EMPTY_TUPLE + _P.REDUCE

    def _key(self, flat: Any) -> str:
        key = self._keys.get(id(flat))
        if key is None:
            key = self._keys[id(flat)] = str(len(self.storages))
            self.storages.append((key, flat))  # keeps flat alive, so ids stay unique
        return key

    def _storage(self, arr: Any) -> tuple[Any, int, list[int]]:
        """The flat array holding ``arr``'s memory (shared with other views of the same
        NumPy array), and ``arr``'s element offset and strides in it."""
        root = arr
        while isinstance(root.base, np.ndarray):
            root = root.base
        flat = self._flat_of(root)
        size = arr.itemsize
        if flat is not None and arr.size and root.dtype == arr.dtype and arr.dtype.isnative \
                and all(s >= 0 and s % size == 0 for s in arr.strides):
            start = arr.__array_interface__["data"][0] - flat.__array_interface__["data"][0]
            strides = [s // size for s in arr.strides]
            last = start // size + sum((n - 1) * s for n, s in zip(arr.shape, strides))
            if start % size == 0 and start >= 0 and last < flat.size:
                return flat, start // size, strides
        flat = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("=")).reshape(-1)
        strides = [1] * arr.ndim
        for i in range(arr.ndim - 2, -1, -1):
            strides[i] = strides[i + 1] * arr.shape[i + 1]
        return flat, 0, strides

    def _flat_of(self, root: Any) -> Any:
        """One flat view per root array (cached, so views of it share one storage)."""
        got = self._flats.get(id(root))
        if got is not None:
            return got[1]
        if root.flags.c_contiguous:
            flat = root.reshape(-1)
        elif root.flags.f_contiguous:
            flat = root.T.reshape(-1)
        else:
            return None
        self._flats[id(root)] = (root, flat)
        return flat


def _batches(items: Iterable[Any]) -> Iterator[list]:
    """``items`` in lists of up to ``_BATCH`` (pickle's APPENDS/SETITEMS chunks)."""
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
