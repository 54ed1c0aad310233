"""Dtype/device conversion and ``state_dict`` / ``load_state_dict`` for :class:`Module`.

Keys are dotted attribute paths in PyTorch's order: a module's own parameters, then its
persistent buffers, then each child.
"""
from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from softgrad import backend, dtypes
from softgrad.devices import DEVICE_TYPES
from softgrad.autograd import grad_mode
from softgrad.tensor import Tensor

if TYPE_CHECKING:
    from softgrad.nn.modules.module import Module
    from softgrad.nn.parameter import Parameter

Self = TypeVar("Self", bound="StateMixin")

class _IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")



class StateMixin:
    """Conversion and (de)serialisation of a module tree (mixed into ``Module``)."""

    if TYPE_CHECKING:  # Module's, which this is mixed into
        def modules(self, remove_duplicate: bool = True) -> Iterator[Module]: ...

        def _local_params(self) -> Iterator[tuple[str, Parameter]]: ...

        def _local_buffers(self) -> Iterator[tuple[str, Tensor, bool]]: ...

        def _local_children(self) -> Iterator[tuple[str, Module]]: ...

    # ------------------------------------------------------------------ dtype / device
    def _convert(self: Self, fn: Callable[[Any], Any]) -> Self:
        """Replace the values (and ``.grad``) of every parameter and buffer in place."""
        seen: set[int] = set()
        for m in self.modules():
            tensors = itertools.chain((p for _, p in m._local_params()),
                                      (b for _, b, _ in m._local_buffers()))
            for t in tensors:
                if id(t) in seen:
                    continue
                seen.add(id(t))
                t._data = fn(t._data)
                if t.grad is not None:
                    t.grad._data = fn(t.grad._data)
        return self

    def to(self: Self, *args: Any, **kwargs: Any) -> Self:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(tensor)``, in place.

        Only floating-point parameters and buffers change dtype (like PyTorch).
        """
        device, dtype = _to_target(args, kwargs)
        np_dtype = dtypes.to_np(dtype) if dtype is not None else None
        if np_dtype is not None and np_dtype.kind not in "fc":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, got {dtype}")

        def fn(arr: Any) -> Any:
            if device is not None:
                arr = backend.to_device(arr, str(device))
            if np_dtype is not None and arr.dtype.kind in "fc" and arr.dtype != np_dtype:
                arr = arr.astype(np_dtype)
            return arr

        return self._convert(fn)

    def float(self: Self) -> Self:
        return self.to(dtypes.float32)

    def double(self: Self) -> Self:
        return self.to(dtypes.float64)

    def half(self: Self) -> Self:
        return self.to(dtypes.float16)

    def type(self: Self, dst_type: Any) -> Self:
        return self.to(dst_type)

    def cpu(self: Self) -> Self:
        return self.to("cpu")

    def cuda(self: Self, device: Any = None) -> Self:
        return self.to("cuda" if device is None else f"cuda:{device}"
                       if isinstance(device, int) else str(device))

    # ------------------------------------------------------------------ state dict
    def _state_items(self: Self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """(key, tensor) of every state_dict entry, in PyTorch's order (no dedupe)."""
        for name, p in self._local_params():
            yield prefix + name, p
        for name, b, persistent in self._local_buffers():
            if persistent:
                yield prefix + name, b
        for name, m in self._local_children():
            yield from m._state_items(f"{prefix}{name}.")

    def state_dict(self: Self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (detached, sharing memory)."""
        out: Any = OrderedDict() if destination is None else destination
        for key, t in self._state_items(prefix):
            out[key] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self: Self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` into this module.

        Values may be softgrad Tensors, NumPy arrays or PyTorch tensors. Nothing is copied
        when an error is raised.

        Args:
            state_dict: a mapping from dotted names to tensors.
            strict: raise on missing or unexpected keys. Shape mismatches always raise.
            assign: replace the tensors' data instead of copying into it.
        Returns:
            ``(missing_keys, unexpected_keys)`` as a named tuple.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        targets = OrderedDict(self._state_items())
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        errors, pending = [], []
        for key, target in targets.items():
            if key not in state_dict:
                continue
            arr = _as_array(state_dict[key], key)
            if getattr(target, "_uninitialized", False):  # a lazy module's parameter
                target.materialize(arr.shape)
            if tuple(arr.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{tuple(arr.shape)} from checkpoint, the shape in current model "
                              f"is {tuple(target.shape)}.")
            else:
                pending.append((target, arr))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with grad_mode.no_grad():
            for target, arr in pending:
                arr = backend.to_device(arr, target.device)
                if assign:
                    target._data = arr.copy()
                else:
                    target._data[...] = arr
                target._version += 1
        return _IncompatibleKeys(missing, unexpected)


def _to_target(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """(device, dtype) named by ``Module.to``'s positional and keyword arguments."""
    found = {"device": kwargs.pop("device", None), "dtype": kwargs.pop("dtype", None)}
    for ignored in ("non_blocking", "memory_format", "copy"):
        kwargs.pop(ignored, None)
    if kwargs:
        raise TypeError(f"Module.to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            found.update(device=a.device, dtype=a.dtype)
        elif isinstance(a, str) and a.partition(":")[0] in DEVICE_TYPES:
            found["device"] = a
        elif a is not None and not isinstance(a, bool):
            found["dtype"] = a
    return found["device"], found["dtype"]


def _as_array(value: Any, key: str) -> Any:
    """The array behind a state_dict value (softgrad/NumPy/PyTorch tensor)."""
    if isinstance(value, Tensor):
        return value._data
    if hasattr(value, "__array_interface__") or backend.device_of(value) != "cpu":
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a PyTorch tensor
        return value.detach().cpu().numpy()
    if isinstance(value, (int, float, bool)):
        return backend.np.asarray(value)
    raise TypeError(f"state_dict value for {key!r} has unsupported type {type(value).__name__}")
