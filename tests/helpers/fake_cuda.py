"""A NumPy-backed stand-in for CuPy, so the ``cuda`` device code paths run on a CPU-only machine.

``FakeDeviceArray`` is an ndarray subclass that behaves like a CuPy array where it matters for
softgrad: NumPy ufuncs and array functions applied to it return device arrays (CuPy supports
both protocols), but mixing a device array with a host ``numpy.ndarray`` raises ``TypeError``
(as CuPy does), 0-d results stay 0-d device arrays instead of NumPy scalars, and
``np.asarray``-style implicit conversion is refused where NumPy asks for it. ``install()``
registers the fake module as softgrad's ``cuda`` array module; ``uninstall()`` restores it.
"""
from __future__ import annotations

import types
from typing import Any

import numpy as np

from softgrad import backend

_HOST_OK = {"asarray", "array", "asanyarray", "ascontiguousarray"}  # explicit host -> device


class FakeDeviceArray(np.ndarray):
    """A host array pretending to live on a GPU."""

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        args = [_to_host(x, ufunc.__name__) for x in inputs]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_to_host(o, ufunc.__name__) for o in out)
        res = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _to_device(res)

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        res = func(*_map(args, func.__name__), **_map(kwargs, func.__name__))
        return _to_device(res)

    @property
    def __array_interface__(self) -> Any:  # CuPy arrays expose __cuda_array_interface__ only
        raise AttributeError("fake cuda arrays have no __array_interface__")

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise TypeError("Implicit conversion to a NumPy array is not allowed (fake cuda array); "
                        "use .get() or softgrad.backend.to_numpy")

    def get(self) -> np.ndarray:
        return np.array(self.view(np.ndarray))


def _to_host(x: Any, what: str) -> Any:
    if isinstance(x, FakeDeviceArray):
        return x.view(np.ndarray)
    if type(x) is np.ndarray:
        raise TypeError(f"fake cuda: {what} got a host numpy.ndarray mixed with device arrays "
                        f"(shape {x.shape}); CuPy raises here too")
    return x


def _map(obj: Any, what: str) -> Any:
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map(o, what) for o in obj)
    if isinstance(obj, dict):
        return {k: _map(v, what) for k, v in obj.items()}
    return _to_host(obj, what)


def _to_device(res: Any) -> Any:
    if isinstance(res, np.ndarray):
        return res.view(FakeDeviceArray)
    if isinstance(res, np.generic):
        return np.asarray(res).view(FakeDeviceArray)
    if isinstance(res, tuple):
        return tuple(_to_device(r) for r in res)
    if isinstance(res, list):
        return [_to_device(r) for r in res]
    return res


def _host_to_device_arg(obj: Any) -> Any:
    if isinstance(obj, FakeDeviceArray):
        return obj.view(np.ndarray)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_host_to_device_arg(o) for o in obj)
    return obj


class _Namespace(types.ModuleType):
    """Wraps a NumPy (sub)module: array arguments unwrapped, array results made device arrays."""

    def __init__(self, name: str, module: Any) -> None:
        super().__init__(name)
        self._module = module

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._module, name)
        if isinstance(attr, types.ModuleType):
            return _Namespace(f"{self.__name__}.{name}", attr)
        if isinstance(attr, (type, np.ufunc)) or not callable(attr):
            return attr  # dtypes, classes, constants; ufuncs dispatch through FakeDeviceArray

        def call(*args: Any, **kwargs: Any) -> Any:
            if name in _HOST_OK:
                args = tuple(_host_to_device_arg(a) for a in args)
            else:
                args, kwargs = _map(args, name), _map(kwargs, name)
            return _to_device(attr(*args, **kwargs))

        call.__name__ = name
        return call


class _Runtime:
    """One fake GPU, number 0."""

    @staticmethod
    def getDeviceCount() -> int:
        return 1

    @staticmethod
    def getDeviceProperties(i: int) -> dict:
        if i != 0:
            raise RuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
        return {"name": b"Fake CUDA Device", "major": 8, "minor": 6,
                "totalGlobalMem": 16 * 2**30, "multiProcessorCount": 4}


class _Device:
    """``cupy.cuda.Device``: ``use()``, a context manager, ``synchronize()`` (counted)."""

    current = 0
    synchronized = 0

    def __init__(self, i: int = 0) -> None:
        if not 0 <= i < _Runtime.getDeviceCount():
            raise RuntimeError("cudaErrorInvalidDevice: invalid device ordinal")
        self.id = i

    def use(self) -> None:
        _Device.current = self.id

    def synchronize(self) -> None:
        _Device.synchronized += 1

    def __enter__(self) -> _Device:
        self.prev, _Device.current = _Device.current, self.id
        return self

    def __exit__(self, *exc: Any) -> None:
        _Device.current = self.prev


class _MemoryPool:
    """``cupy.get_default_memory_pool()``: bytes in use and held, set by tests."""

    def __init__(self) -> None:
        self.used, self.total = 0, 0

    def used_bytes(self) -> int:
        return self.used

    def total_bytes(self) -> int:
        return self.total

    def free_all_blocks(self) -> None:
        self.total = self.used


def make_module() -> Any:
    mod = _Namespace("fakecupy", np)
    mod.ndarray = FakeDeviceArray
    mod.asnumpy = lambda a: np.array(a.view(np.ndarray)) if isinstance(a, FakeDeviceArray) \
        else np.asarray(a)
    mod.get_array_module = lambda *a: mod
    mod.cuda = types.SimpleNamespace(runtime=_Runtime(), get_device_id=lambda: _Device.current,
                                     Device=_Device)
    pool, pinned = _MemoryPool(), _MemoryPool()
    mod.get_default_memory_pool = lambda: pool
    mod.get_default_pinned_memory_pool = lambda: pinned
    return mod


_saved: list = []


def install() -> Any:
    """Make the fake module softgrad's ``cuda`` array module; returns it."""
    mod = make_module()
    _saved.append(backend._cupy)
    backend._cupy = mod
    return mod


def uninstall() -> None:
    backend._cupy = _saved.pop()
