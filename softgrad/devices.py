"""``sg.device``: PyTorch's device object, and the default device of the factories.

A device names where a tensor's array lives: ``cpu`` (NumPy) or ``cuda`` (CuPy, see
``softgrad.backend``). Other PyTorch device types (``mps``, ``xpu``, ``meta``, ...) can be
named, as in PyTorch, but putting a tensor there is a clear error.
"""
from __future__ import annotations

import re
from typing import Any

from softgrad import backend

# PyTorch's device types, in the order its error message lists them
DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                "privateuseone")
_DEVICE_STRING = re.compile(r"(\w+)(?::(0|[1-9][0-9]*))?\Z", re.ASCII)


class device(str):
    """Where a tensor lives: ``device('cpu')``, ``device('cuda', 0)``, ``device('cuda:0')``.

    ``.type`` is the device type and ``.index`` the device number (None when not given);
    ``str()`` and ``repr()`` read as in PyTorch (``'cuda:0'``, ``device(type='cuda', index=0)``).
    A device is also a string, so it works wherever a device name does (``tensor.to(dev)``,
    ``device=dev``, dict keys). It compares equal to a device or name of the same type
    whose index matches; a missing index matches any index, so a tensor on ``cuda:0`` has
    ``t.device == 'cuda'``, and ``t.device == 'cpu'`` holds on the CPU.
    """

    __slots__ = ()

    def __new__(cls, type: Any, index: int | None = None) -> device:
        if isinstance(type, device) and index is None:
            return type
        if isinstance(type, int) and not isinstance(type, bool) and index is None:
            if not backend.cuda_available():  # a bare ordinal names the accelerator
                raise RuntimeError("Cannot access accelerator device when none is available.")
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() expects a device name such as 'cpu' or 'cuda:0', "
                            f"got {type!r}")
        match = _DEVICE_STRING.match(type)
        if match is None:
            raise RuntimeError(f"Invalid device string: {type!r}")
        kind, idx = match.groups()
        if kind not in DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at "
                               f"start of device string: {type}")
        if index is not None:
            if idx is not None:
                raise RuntimeError(f"type (string) must not include an index because index "
                                   f"was passed explicitly: {type}")
            if isinstance(index, bool) or not isinstance(index, int):
                raise TypeError(f"device index must be an int, got {index!r}")
            if index < 0:
                raise RuntimeError("Device index must not be negative")
            idx = str(index)
        return super().__new__(cls, kind if idx is None else f"{kind}:{idx}")

    @property
    def type(self) -> str:
        return str.__str__(self).partition(":")[0]

    @property
    def index(self) -> int | None:  # type: ignore[override]  # PyTorch: a str with .index
        idx = str.__str__(self).partition(":")[2]
        return int(idx) if idx else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str):
            return NotImplemented
        kind, _, idx = str.__str__(self).partition(":")
        okind, _, oidx = str.__str__(other).partition(":")
        return kind == okind and (not idx or not oidx or idx == oidx)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(self.type)  # equal devices (cuda, cuda:0) share a hash

    def __str__(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        idx = self.index
        return f"device(type='{self.type}'" + ("" if idx is None else f", index={idx}") + ")"

    def __reduce__(self) -> tuple:
        return (device, (str.__str__(self),))

    def __enter__(self) -> device:
        """``with sg.device('cuda'):`` makes this the factories' default device inside."""
        _entered.append(_default[0])
        set_default_device(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _default[0] = _entered.pop()


_device_class = device
CPU = device("cpu")
_cuda_devices: dict[int, device] = {}


def of_array(array: Any) -> device:
    """The device an array lives on (``cuda:<k>`` for a CuPy array on GPU k)."""
    if backend.device_of(array) == "cpu":
        return CPU
    idx = getattr(getattr(array, "device", None), "id", None)
    if idx is None:
        idx = backend.cuda_current_device()
    dev = _cuda_devices.get(idx)
    if dev is None:
        dev = _cuda_devices[idx] = device("cuda", idx)
    return dev


# ---------------------------------------------------------------- default device
_default: list[device | None] = [None]  # None: the CPU, where nothing needs moving
_entered: list[device | None] = []  # defaults saved by ``with device(...)``


def set_default_device(device: Any) -> None:
    """Device of tensors made by factories (``zeros``, ``randn``, ``tensor``, ...) and of
    module parameters when no ``device=`` is given. ``None`` restores the CPU."""
    if device is None:
        _default[0] = None
        return
    dev = _device_class(device)
    backend.xp_for_device(str(dev))  # a clear error now for a device softgrad cannot use
    _default[0] = None if dev.type == "cpu" else dev


def get_default_device() -> device:
    """The device factories use when no ``device=`` is given (``cpu`` unless set)."""
    return _default[0] or CPU


def default_for(dev: Any) -> Any:
    """``dev``, or the default device when it is None and the default is not the CPU."""
    return _default[0] if dev is None else dev
