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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from softgrad.serialization.errors import CheckpointError, MapLocationError, WeightsUnpicklingError
from softgrad.serialization.policy import Policy

__all__ = ["Policy", "RestrictedUnpickler", "unpickle"]

MAX_TUPLE_DEPTH = 1000
_LISTS = (list, collections.deque)
_DICTS = (dict, collections.OrderedDict, collections.Counter, collections.defaultdict)


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


_BASE = pickle._Unpickler  # the pure-Python unpickler, whose instruction table is replaceable
_OP = {name: getattr(pickle, name)[0] for name in (
    "REDUCE", "NEWOBJ", "NEWOBJ_EX", "BUILD", "INST", "OBJ", "APPEND", "APPENDS", "SETITEM",
    "SETITEMS", "ADDITEMS", "EXT1", "EXT2", "EXT4", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3",
    "BYTEARRAY8")}


class _Instructions(dict):
    """The instruction table; an unknown opcode gets a clear error (not a KeyError)."""

    def __missing__(self, opcode: int) -> Callable:
        def unknown(up: RestrictedUnpickler) -> None:
            raise _err(f"unknown pickle instruction 0x{opcode:02x} at offset "
                       f"{up.reader.pos - 1} (corrupt data)")
        return unknown


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

    dispatch = _Instructions(_BASE.dispatch)

    if TYPE_CHECKING:  # the Python unpickler's working state, absent from its type stub
        proto: int
        stack: list[Any]
        memo: dict[int, Any]
        append: Callable[[Any], None]
        read: Callable[[int], bytes]
        readline: Callable[[], bytes]
        pop_mark: Callable[[], list[Any]]

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
        except Exception as exc:
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
        inst = self.stack[-1]
        built = self.policy.build(inst, state)
        if built is not inst:  # a NumPy placeholder became its array: memo entries too
            for key, value in list(self.memo.items()):
                if value is inst:
                    self.memo[key] = built
            self.stack[-1] = built

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
