"""The restricted unpickler: pickles from checkpoints are read, never run.

:class:`RestrictedUnpickler` is a subclass of Python's own ``pickle`` unpickler (the pure
Python ``pickle._Unpickler``, whose instruction table can be replaced) in which every
instruction that could reach code is rewritten:

* ``GLOBAL``/``STACK_GLOBAL``/``INST`` names go through :meth:`Policy.resolve`, which never
  imports a module and never calls ``getattr``: a name is either in softgrad's tables
  (:mod:`softgrad.serialization.rebuild`), allowed by the user (``add_safe_globals``), or,
  with ``weights_only=False``, one of softgrad's classes, an ``nn.Module`` subclass or a
  namedtuple of a module that is already imported. Anything else raises
  :class:`WeightsUnpicklingError` naming the global.
* ``REDUCE``/``OBJ``/``INST`` call only softgrad's checked rebuild functions (and callables
  the user allowed); ``NEWOBJ`` creates only allowed classes, without ``__init__``;
  ``BUILD`` fills attributes without calling a ``__setstate__`` that softgrad did not write.
* ``APPEND(S)``, ``SETITEM(S)`` and ``ADDITEMS`` only touch lists, dicts and sets; extension
  codes are refused; tuples may nest at most 1000 deep (hashing deeper ones crashes Python);
  every read is bounded by the data actually present.
"""
from __future__ import annotations

import _compat_pickle
import collections
import pickle
import struct
import sys
import types
from typing import Any, Callable

from softgrad.nn.parameter import Parameter
from softgrad.serialization.errors import (CheckpointError, MapLocationError,
                                           WeightsUnpicklingError)
from softgrad.serialization.rebuild import (FULL_EXTRA, WEIGHTS_ONLY, PendingArray,
                                            PendingDType, Rebuild, _parameter, finish_array,
                                            finish_dtype)
from softgrad.serialization.safe_globals import display_name, is_blocked, user_allowed
from softgrad.tensor import Tensor

__all__ = ["Policy", "RestrictedUnpickler", "unpickle"]

MAX_TUPLE_DEPTH = 1000
_LISTS = (list, collections.deque)
_DICTS = (dict, collections.OrderedDict, collections.Counter, collections.defaultdict)
_FUNCTION_MODULES = ("softgrad.nn.functional", "softgrad.functions")


def _err(msg: str) -> WeightsUnpicklingError:
    return WeightsUnpicklingError(msg)


class _Reader:
    """``read``/``readline``/``readinto`` over bytes that raise instead of returning less."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = len(self.data) - self.pos
        if n > len(self.data) - self.pos:
            raise _err(f"pickle data was truncated: {n} bytes needed at offset {self.pos}, "
                       f"{len(self.data) - self.pos} left")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def readline(self) -> bytes:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise _err(f"pickle data was truncated: no end of line after offset {self.pos}")
        return self.read(end + 1 - self.pos)

    def readinto(self, buf: Any) -> int:
        view = memoryview(buf).cast("B")
        view[:] = self.read(len(view))
        return len(view)


def _lookup(module: Any, qualname: str) -> Any:
    """``module.qualname`` found through ``__dict__`` only (no ``getattr``, no imports)."""
    obj = module
    for part in qualname.split("."):
        space = obj.__dict__ if isinstance(obj, (types.ModuleType, type)) else None
        if space is None or part not in space:
            return None
        obj = space[part]
    return obj


def _is_softgrad_name(module: str) -> bool:
    return module == "softgrad" or module.startswith("softgrad.")


class Policy:
    """Which globals a load may use and how allowed classes are created and filled."""

    def __init__(self, weights_only: bool) -> None:
        from softgrad.nn.modules.module import Module
        from softgrad.optim.lr_base import LRScheduler
        from softgrad.optim.optimizer import Optimizer

        self.weights_only = weights_only
        self.user = user_allowed()
        self.user_ids = {id(v) for v in self.user.values()}
        self.user_types = {v for v in self.user.values() if isinstance(v, type)}
        self.rebuildable: set[type] = set()  # classes resolved under weights_only=False
        self._user_bases = (Module, Optimizer, LRScheduler)
        self.reconstructor = Rebuild("copyreg._reconstructor", self._reconstructor)

    # ------------------------------------------------------------------ names
    def resolve(self, module: str, name: str) -> Any:
        full = f"{module}.{name}"
        if is_blocked(module, name):
            raise _err(f"Trying to load unsupported GLOBAL {display_name(full)} whose module "
                       f"{module} is blocked: softgrad never loads it, even when allowed")
        if full in WEIGHTS_ONLY:
            return WEIGHTS_ONLY[full]
        if full in self.user:
            return self.user[full]
        if not self.weights_only:
            if full in FULL_EXTRA:
                return FULL_EXTRA[full]
            if full == "copyreg._reconstructor":
                return self.reconstructor
            obj = self._class_or_function(module, name)
            if obj is not None:
                return obj
        raise _err(self._refusal(module, name))

    def _class_or_function(self, module: str, name: str) -> Any:
        mod = sys.modules.get(module)
        obj = None if mod is None else _lookup(mod, name)
        if isinstance(obj, type):
            own = obj.__module__ == module and obj.__qualname__ == name
            if issubclass(obj, Tensor):  # a value for _rebuild_from_type_v2, never created
                return obj if own and _is_softgrad_name(module) else None
            named_tuple = issubclass(obj, tuple) and any(
                isinstance(k.__dict__.get("_fields"), tuple) for k in obj.__mro__)
            if (own and (_is_softgrad_name(module) or named_tuple)) or issubclass(
                    obj, self._user_bases):
                self.rebuildable.add(obj)
                return obj
        elif isinstance(obj, types.FunctionType) and obj.__module__.startswith(
                _FUNCTION_MODULES) and obj.__qualname__ == name:
            return obj
        return None

    def _refusal(self, module: str, name: str) -> str:
        shown = display_name(f"{module}.{name}")
        allow = (f"`torch.serialization.add_safe_globals([{shown}])` or the "
                 f"`torch.serialization.safe_globals([{shown}])` context manager (in softgrad: "
                 "softgrad.serialization.add_safe_globals / safe_globals)")
        if self.weights_only:
            return (f"Weights only load failed. Unsupported global: GLOBAL {shown} was not an "
                    f"allowed global by default. If you trust the source of this checkpoint, "
                    f"either (1) allow it with {allow}, or (2) load with weights_only=False, "
                    "under which softgrad rebuilds its own classes, nn.Module subclasses and "
                    "namedtuples of already imported modules and NumPy arrays (it never runs "
                    "code from the file).")
        why = ""
        if module.split(".")[0] == "torch":
            why = (" PyTorch objects other than tensors cannot be rebuilt by softgrad: save "
                   "their state_dict() in PyTorch and load_state_dict() it here.")
        elif module not in sys.modules:
            why = (f" Module {module!r} is not imported, and softgrad never imports a module "
                   "named by a file: import it before loading.")
        return (f"Unsupported global: GLOBAL {shown} is not allowed. softgrad never runs code "
                "named by a file; with weights_only=False it rebuilds tensors, plain "
                "containers, NumPy arrays, its own classes, and the nn.Module subclasses and "
                f"namedtuples of already imported modules.{why} If you trust this "
                f"class/function, allow it with {allow}.")

    # ------------------------------------------------------------------ instructions
    def call(self, func: Any, args: Any) -> Any:
        if type(args) is not tuple:
            raise _err(f"REDUCE arguments must be a tuple, got {type(args).__name__}")
        if type(func) is Rebuild:
            return func.fn(*args)
        if func is Parameter:
            return _parameter(*args)
        if id(func) in self.user_ids:
            return func(*args)
        raise _err(f"Trying to call reduce for unrecognized function {_name(func)}: only "
                   "softgrad's rebuild functions and allowed globals are called")

    def new(self, cls: Any, args: Any, kwargs: Any) -> Any:
        if type(args) is not tuple or type(kwargs) is not dict:
            raise _err("NEWOBJ arguments must be a tuple and a dict")
        if cls is Parameter and not kwargs:
            return _parameter(*args)
        if id(cls) in self.user_ids and isinstance(cls, type):
            return cls.__new__(cls, *args, **kwargs)
        if cls in self.rebuildable:
            if issubclass(cls, tuple):
                if kwargs:
                    raise _err(f"namedtuple {_name(cls)} takes no keyword arguments")
                return tuple.__new__(cls, args)
            if _is_softgrad_name(cls.__module__):
                return cls.__new__(cls, *args, **kwargs)
            if args or kwargs:
                raise _err(f"{_name(cls)} is rebuilt without constructor arguments")
            return object.__new__(cls)
        raise _err(f"Can only create new objects of nn.Parameter or of classes allowlisted "
                   f"via `add_safe_globals` (or, with weights_only=False, softgrad's classes, "
                   f"nn.Module subclasses and namedtuples), but got {_name(cls)}")

    def _reconstructor(self, cls: Any, base: Any, state: Any) -> Any:
        if base is object and state is None:
            return self.new(cls, (), {})
        if base is tuple and cls in self.rebuildable and issubclass(cls, tuple) \
                and type(state) is tuple:
            return tuple.__new__(cls, state)
        raise _err(f"copyreg._reconstructor cannot rebuild {_name(cls)} on {_name(base)}")

    def build(self, inst: Any, state: Any) -> Any:
        kind = type(inst)
        if kind is PendingArray:
            return finish_array(state)
        if kind is PendingDType:
            return finish_dtype(inst, state)
        if kind is collections.OrderedDict:
            _fill_dict(inst, state)
            return inst
        if kind in self.user_types:
            setstate = getattr(inst, "__setstate__", None)
            if setstate is not None:
                setstate(state)
            else:
                _fill(inst, state, trusted_setattr=True)
            return inst
        if kind in self.rebuildable and not issubclass(kind, tuple):
            owner = next((k for k in kind.__mro__ if "__setstate__" in k.__dict__), None)
            if owner is not None and _is_softgrad_name(owner.__module__):
                inst.__setstate__(state)
            else:
                _fill(inst, state, trusted_setattr=False)
            return inst
        raise _err(f"Can only build Tensor, Parameter, OrderedDict or types allowlisted via "
                   f"`add_safe_globals` (or, with weights_only=False, softgrad's classes and "
                   f"nn.Module subclasses), but got {_name(kind)}")


def _name(obj: Any) -> str:
    if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
        return display_name(f"{obj.__module__}.{obj.__qualname__}")
    return f"an object of type {type(obj).__name__}"


def _str_keys(state: Any, what: str) -> dict:
    if type(state) is not dict or not all(type(k) is str for k in state):
        raise _err(f"BUILD {what} must be a dict with str keys, got {type(state).__name__}")
    return state


def _fill_dict(inst: Any, state: Any) -> None:
    if state:
        object.__getattribute__(inst, "__dict__").update(_str_keys(state, "state"))


def _fill(inst: Any, state: Any, trusted_setattr: bool) -> None:
    """Pickle's default BUILD: instance dict, then slots. Untrusted classes get their slots
    set only through slot descriptors (no property setters or ``__setattr__``)."""
    slotstate = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slotstate = state
    if state is not None:
        try:
            _fill_dict(inst, state)
        except AttributeError:
            raise _err(f"{_name(type(inst))} has no instance dict to fill") from None
    if slotstate:
        for key, value in _str_keys(slotstate, "slot state").items():
            if trusted_setattr:
                setattr(inst, key, value)
                continue
            slot = next((k.__dict__[key] for k in type(inst).__mro__ if key in k.__dict__), None)
            if not isinstance(slot, types.MemberDescriptorType):
                raise _err(f"{key!r} is not a slot of {_name(type(inst))}")
            slot.__set__(inst, value)


_BASE = pickle._Unpickler  # the pure-Python unpickler, whose instruction table is replaceable
_OP = {name: getattr(pickle, name)[0] for name in (
    "REDUCE", "NEWOBJ", "NEWOBJ_EX", "BUILD", "INST", "OBJ", "APPEND", "APPENDS", "SETITEM",
    "SETITEMS", "ADDITEMS", "EXT1", "EXT2", "EXT4", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3",
    "BYTEARRAY8")}


class RestrictedUnpickler(_BASE):
    """A ``pickle`` unpickler that builds only what :class:`Policy` allows (see module doc).

    Args:
        data: the pickle bytes.
        policy: the load's :class:`Policy`.
        persistent_load: called with each persistent id (storages of ``torch.save`` files);
            None refuses persistent ids.
        encoding: how Python 2 byte strings are decoded (as ``torch.load``: utf-8).
        pos: where in ``data`` the pickle starts.
    """

    dispatch = dict(_BASE.dispatch)

    def __init__(self, data: bytes, policy: Policy, persistent_load: Callable | None = None,
                 encoding: str = "utf-8", pos: int = 0) -> None:
        self.reader = _Reader(data, pos)
        super().__init__(self.reader, encoding=encoding)
        self.policy = policy
        self._persistent = persistent_load
        self._depths: dict[int, tuple[int, tuple]] = {}

    def find_class(self, module: str, name: str) -> Any:
        if type(module) is not str or type(name) is not str:
            raise _err("GLOBAL names must be strings")
        if self.proto < 3:  # names written by Python 2, as pickle itself maps them
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        return self.policy.resolve(module, name)

    def persistent_load(self, pid: Any) -> Any:
        if self._persistent is None:
            raise _err("this pickle refers to external data (a persistent id), which only "
                       "torch.save files have")
        return self._persistent(pid)

    def load(self) -> Any:
        try:
            return super().load()
        except (CheckpointError, MapLocationError):
            raise
        except Exception as exc:  # malformed streams, wrong argument counts, ...
            raise _err(f"corrupt pickle in checkpoint: {type(exc).__name__}: "
                       f"{str(exc)[:200]}") from None

    # ------------------------------------------------------------------ tuples
    def _tuple(self, t: tuple) -> int:
        """Nesting depth of ``t`` through tuples (recorded; refused beyond the limit)."""
        depth = 1
        for item in tuple.__iter__(t):
            if isinstance(item, tuple):
                got = self._depths.get(id(item))
                depth = max(depth, 1 + (got[0] if got and got[1] is item else self._tuple(item)))
        if depth > MAX_TUPLE_DEPTH:
            raise _err(f"tuples nest more than {MAX_TUPLE_DEPTH} deep")
        self._depths[id(t)] = (depth, t)
        return depth

    def _push_tuple(self, t: tuple) -> None:
        self._tuple(t)
        self.append(t)

    def load_tuple(self) -> None:
        self._push_tuple(tuple(self.pop_mark()))

    def load_tuple1(self) -> None:
        self._push_tuple((self.stack.pop(),))

    def load_tuple2(self) -> None:
        b, a = self.stack.pop(), self.stack.pop()
        self._push_tuple((a, b))

    def load_tuple3(self) -> None:
        c, b, a = self.stack.pop(), self.stack.pop(), self.stack.pop()
        self._push_tuple((a, b, c))

    def _result(self, value: Any) -> Any:
        if isinstance(value, tuple):
            self._tuple(value)
        return value

    # ------------------------------------------------------------------ code-reaching ops
    def load_reduce(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = self._result(self.policy.call(self.stack[-1], args))

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(self._result(self.policy.new(cls, args, {})))

    def load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(self._result(self.policy.new(cls, args, kwargs)))

    def load_build(self) -> None:
        state = self.stack.pop()
        self.stack[-1] = self.policy.build(self.stack[-1], state)

    def _construct(self, klass: Any, args: list) -> None:
        value = self.policy.call(klass, tuple(args)) if args or not isinstance(klass, type) \
            else self.policy.new(klass, (), {})
        self.append(self._result(value))

    def load_inst(self) -> None:
        module = self.readline()[:-1].decode("ascii")
        name = self.readline()[:-1].decode("ascii")
        self._construct(self.find_class(module, name), self.pop_mark())

    def load_obj(self) -> None:
        args = self.pop_mark()
        if not args:
            raise _err("OBJ without a class")
        self._construct(args.pop(0), args)

    def load_ext(self) -> None:
        raise _err("pickle extension codes (EXT1/EXT2/EXT4) are not supported")

    # ------------------------------------------------------------------ container ops
    def load_append(self) -> None:
        value = self.stack.pop()
        target = self.stack[-1]
        if type(target) not in _LISTS:
            raise _err(f"Can only append to lists, but got {type(target).__name__}")
        target.append(value)

    def load_appends(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        if type(target) not in _LISTS:
            raise _err(f"Can only extend lists, but got {type(target).__name__}")
        target.extend(items)

    def _dict_target(self, op: str) -> Any:
        target = self.stack[-1]
        if type(target) not in _DICTS:
            raise _err(f"Can only {op} for dict, collections.OrderedDict, collections.Counter "
                       f"or defaultdict, but got {type(target).__name__}")
        return target

    def load_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._dict_target("SETITEM")[key] = value

    def load_setitems(self) -> None:
        items = self.pop_mark()
        target = self._dict_target("SETITEMS")
        if len(items) % 2:
            raise _err("SETITEMS needs key/value pairs")
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]

    def load_additems(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        if type(target) is not set:
            raise _err(f"Can only add items to sets, but got {type(target).__name__}")
        target.update(items)

    def load_bytearray8(self) -> None:
        (size,) = struct.unpack("<Q", self.read(8))
        self.append(bytearray(self.read(size)))  # read first: the size is checked by reading

    for _name_, _fn_ in (("REDUCE", load_reduce), ("NEWOBJ", load_newobj),
                         ("NEWOBJ_EX", load_newobj_ex), ("BUILD", load_build),
                         ("INST", load_inst), ("OBJ", load_obj), ("EXT1", load_ext),
                         ("EXT2", load_ext), ("EXT4", load_ext), ("APPEND", load_append),
                         ("APPENDS", load_appends), ("SETITEM", load_setitem),
                         ("SETITEMS", load_setitems), ("ADDITEMS", load_additems),
                         ("TUPLE", load_tuple), ("TUPLE1", load_tuple1),
                         ("TUPLE2", load_tuple2), ("TUPLE3", load_tuple3),
                         ("BYTEARRAY8", load_bytearray8)):
        dispatch[_OP[_name_]] = _fn_
    del _name_, _fn_


def unpickle(data: bytes, weights_only: bool, persistent_load: Callable | None = None,
             encoding: str = "utf-8", pos: int = 0) -> tuple[Any, int]:
    """Unpickle one object from ``data[pos:]``; returns it and the offset after it."""
    up = RestrictedUnpickler(data, Policy(weights_only), persistent_load, encoding, pos)
    value = up.load()
    return value, up.reader.pos
