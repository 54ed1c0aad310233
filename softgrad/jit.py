"""``softgrad.jit``: PyTorch's TorchScript entry points, as pass-throughs.

softgrad runs Python directly, so ``jit.script``/``jit.trace`` return what they are given
(a scripted function or module behaves as the original one) and the decorators that steer
the TorchScript compiler (``ignore``, ``unused``, ``export``) leave functions unchanged.
Saving a TorchScript archive has no softgrad equivalent: ``jit.save``/``jit.load`` say so and
name the alternatives.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["export", "ignore", "interface", "is_scripting", "is_tracing", "load", "save",
           "script", "trace", "unused"]


def script(obj: Any, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:
    """Return ``obj`` (a function or Module) unchanged."""
    if not callable(obj) and not isinstance(obj, type):
        raise RuntimeError(f"Type '{type(obj).__name__}' cannot be compiled: jit.script takes "
                           "a function, a class or a Module")
    return obj


def trace(func: Callable, example_inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Return ``func`` unchanged (nothing is recorded)."""
    if not callable(func):
        raise TypeError(f"jit.trace expects a function or a Module, got {type(func).__name__}")
    return func


def _identity_decorator(fn: Any = None, **kwargs: Any) -> Any:
    if fn is None:
        return lambda f: f
    return fn


ignore = unused = export = interface = _identity_decorator


def is_scripting() -> bool:
    """False: code never runs under TorchScript in softgrad."""
    return False


def is_tracing() -> bool:
    """False: nothing is traced by ``jit.trace``."""
    return False


def save(m: Any, f: Any, _extra_files: Any = None) -> None:
    raise NotImplementedError("softgrad cannot write TorchScript archives; save the weights "
                              "with sg.save(model.state_dict(), path), or export the model "
                              "with sg.onnx.export")


def load(f: Any, map_location: Any = None, _extra_files: Any = None) -> Any:
    raise NotImplementedError("softgrad cannot read TorchScript archives (they hold compiled "
                              "code); load a state_dict saved with torch.save instead")
