"""Switches for graph recording: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""
from __future__ import annotations

import functools
from typing import Any, Callable


class _State:
    enabled = True


state = _State()


def is_grad_enabled() -> bool:
    """True when new operations are recorded for autograd."""
    return state.enabled


class set_grad_enabled:
    """Enable or disable recording; works as a call, a context manager and a decorator.

    Example:
        >>> with sg.set_grad_enabled(False):
        ...     y = x * 2          # not recorded
    """

    def __init__(self, mode: bool) -> None:
        self.prev = state.enabled
        self.mode = bool(mode)
        state.enabled = self.mode

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        state.enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode
        state.enabled = self.prev  # used as a decorator: undo the switch made in __init__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class _Mode:
    """Base of ``no_grad`` / ``enable_grad``: context manager and decorator."""

    mode = True

    def __enter__(self) -> None:
        self.prev = state.enabled
        state.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        state.enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_Mode):
    """Context manager / decorator that stops graph recording."""

    mode = False


class enable_grad(_Mode):
    """Context manager / decorator that turns graph recording back on."""

    mode = True


class inference_mode(_Mode):
    """PyTorch's ``inference_mode``: here the same as ``no_grad`` (``mode=False`` records)."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode
