"""What a load may build: :class:`Policy` resolves the globals named in a pickle and creates
and fills the objects of allowed classes (see :mod:`softgrad.serialization.unpickler`).

Names are looked up through ``__dict__`` of modules already in ``sys.modules`` (no import,
no ``getattr``). Under ``weights_only=True`` only softgrad's tables
(:mod:`softgrad.serialization.rebuild`) and the user's allow-list are used; under
``weights_only=False`` softgrad's own classes, ``nn.Module``/``Optimizer``/``LRScheduler``
subclasses and namedtuples are added, created without ``__init__`` and filled without a
``__setstate__``, ``__setattr__`` or property setter written outside softgrad. Classes with
a ``__del__`` written outside softgrad are not rebuilt automatically.
"""
from __future__ import annotations

import collections
import sys
import types
from typing import Any

from softgrad.nn.modules.module import Module
from softgrad.nn.parameter import Parameter
from softgrad.optim.lr_base import LRScheduler
from softgrad.optim.optimizer import Optimizer
from softgrad.serialization.errors import WeightsUnpicklingError
from softgrad.serialization.rebuild import (
    FULL_EXTRA,
    WEIGHTS_ONLY,
    PendingArray,
    PendingDType,
    Rebuild,
    _parameter,
    finish_array,
    finish_dtype,
)
from softgrad.serialization.safe_globals import display_name, is_blocked, user_allowed
from softgrad.tensor import Tensor

__all__ = ["Policy"]

_FUNCTION_MODULES = ("softgrad.nn.functional", "softgrad.functions")


def _err(msg: str) -> WeightsUnpicklingError:
    return WeightsUnpicklingError(msg)


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
            obj = self.user[full]
            real = (str(getattr(obj, "__module__", "")), str(getattr(obj, "__qualname__", "")))
            if is_blocked(*real):  # allowed under another name, but still os.system & co.
                raise _err(f"GLOBAL {display_name(full)} is {display_name('.'.join(real))}, "
                           "which softgrad never loads, even when allowed")
            return obj
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
            finalizer = next((k for k in obj.__mro__ if "__del__" in k.__dict__), None)
            if finalizer is not None and not _is_softgrad_name(finalizer.__module__):
                return None  # its __del__ would run on attributes chosen by the file
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
        elif _lookup(sys.modules[module], name) is None:
            why = (f" Module {module!r} has no {name!r}: define or import it there before "
                   "loading.")
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
