"""Switches for graph recording: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator
from typing import Any


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

    def __exit__(self, *exc: object) -> None:
        state.enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        state.enabled = self.prev  # used as a decorator: undo the switch made in __init__
        return _decorate(fn, self.mode)


def _decorate(fn: Callable, mode: bool) -> Callable:
    """``fn`` run with recording set to ``mode``; a generator function gets the mode around
    each step it runs, and the caller's mode back at each ``yield``."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Generator:
            with set_grad_enabled(mode):
                gen = fn(*args, **kwargs)
            return _run_generator(gen, mode)

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with set_grad_enabled(mode):
            return fn(*args, **kwargs)

    return wrapper


def _run_generator(gen: Generator, mode: bool) -> Generator:
    try:
        with set_grad_enabled(mode):
            value = next(gen)
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                with set_grad_enabled(mode):
                    gen.close()
                raise
            except BaseException as exc:  # thrown in by the caller: pass it on
                with set_grad_enabled(mode):
                    value = gen.throw(exc)
            else:
                with set_grad_enabled(mode):
                    value = gen.send(sent)
    except StopIteration as stop:
        return stop.value


class _Mode:
    """Base of ``no_grad`` / ``enable_grad``: context manager and decorator, with or without
    parentheses (``@sg.no_grad`` and ``@sg.no_grad()``)."""

    mode = True

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and callable(args[0]) and cls is not inference_mode:
            return _decorate(args[0], cls.mode)
        if cls is inference_mode and len(args) == 1 and callable(args[0]):
            return _decorate(args[0], False)
        return super().__new__(cls)

    def __enter__(self) -> None:
        self.prev = state.enabled
        state.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        state.enabled = self.prev

    def __call__(self, fn: Callable) -> Callable:
        return _decorate(fn, self.mode)

    def clone(self) -> _Mode:
        return type(self)()


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
