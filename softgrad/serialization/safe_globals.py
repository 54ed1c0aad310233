"""The user's allow-list for loading: ``add_safe_globals``, ``safe_globals`` and friends.

As in PyTorch, an entry is a class or function, or a pair ``(object, "module.qualname")``
when the name in the file differs from the object's own. A global in a checkpoint is matched
by its full name ``module.qualname``. Allowing a global means trusting it: an allowed class
may be created and have its state set, an allowed function may be called with arguments
from the file. Globals from a few modules can never be allowed (``os``, ``sys``,
``subprocess``, ...), nor Python's ``eval``/``exec``-like builtins.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["BLOCKED_MODULES", "BLOCKED_NAMES", "add_safe_globals", "clear_safe_globals",
           "get_safe_globals", "is_blocked", "safe_globals", "user_allowed"]

# modules whose globals are refused even when the user allows them (PyTorch blocks the
# first four; the others spawn processes, run code or touch files as well)
BLOCKED_MODULES = frozenset({
    "sys", "os", "posix", "nt", "subprocess", "shutil", "importlib", "runpy", "code",
    "codeop", "ctypes", "pickle", "_pickle", "marshal", "pty", "socket", "webbrowser",
    "multiprocessing", "signal", "tempfile", "io", "_io", "pathlib"})
BLOCKED_NAMES = frozenset({
    "builtins.eval", "builtins.exec", "builtins.compile", "builtins.open",
    "builtins.__import__", "builtins.getattr", "builtins.setattr", "builtins.delattr",
    "builtins.globals", "builtins.locals", "builtins.vars", "builtins.input",
    "builtins.breakpoint", "builtins.exit", "builtins.quit", "builtins.help",
    "builtins.type", "builtins.memoryview", "functools.partial", "operator.attrgetter",
    "operator.methodcaller", "operator.itemgetter"})

_allowed: list = []


def is_blocked(module: str, name: str) -> bool:
    """True for globals that may never be loaded, whatever the allow-list says."""
    root = module.split(".")[0]
    return root in BLOCKED_MODULES or f"{module}.{name}" in BLOCKED_NAMES


def _check_entry(entry: Any) -> None:
    if isinstance(entry, tuple):
        if len(entry) != 2:
            raise ValueError(f"Expected tuple of length 2 (global, str of callable full path), "
                             f"but got tuple of length: {len(entry)}")
        if type(entry[1]) is not str:
            raise TypeError(f"Expected second item in tuple to be str of callable full path, "
                            f"but got: {type(entry[1])}")
        return
    if not isinstance(getattr(entry, "__module__", None), str) or not isinstance(
            getattr(entry, "__qualname__", None), str):
        raise TypeError(f"add_safe_globals expects classes or functions (or (object, "
                        f"'module.name') pairs), got {type(entry).__name__} {entry!r:.60}")


def add_safe_globals(safe_globals: list[Callable | tuple[Callable, str]]) -> None:
    """Allow the given classes and functions when loading, as ``torch.serialization``
    does: under ``weights_only=True`` (and ``False``) they may be created/called while
    unpickling a checkpoint. Only allow what you trust.

    Args:
        safe_globals: classes or functions, or ``(object, "module.qualname")`` pairs.
    Example:
        >>> sg.serialization.add_safe_globals([MyNet])
        >>> model = sg.load("model.pt")   # a whole MyNet saved with sg.save(model, ...)
    """
    if not isinstance(safe_globals, (list, tuple, set, frozenset)):
        raise TypeError(f"add_safe_globals expects a list, got {type(safe_globals).__name__}")
    for entry in safe_globals:
        _check_entry(entry)
    for entry in safe_globals:
        if not any(_same(entry, e) for e in _allowed):
            _allowed.append(entry)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return isinstance(a, tuple) and isinstance(b, tuple) and a[0] is b[0] and a[1] == b[1]
    return a is b


def get_safe_globals() -> list[Callable | tuple[Callable, str]]:
    """The globals allowed by :func:`add_safe_globals` (and active ``safe_globals``)."""
    return list(_allowed)


def clear_safe_globals() -> None:
    """Forget every global allowed by :func:`add_safe_globals`."""
    _allowed.clear()


def _remove(entries: list) -> None:
    _allowed[:] = [e for e in _allowed if not any(_same(e, r) for r in entries)]


class safe_globals:
    """Context manager that allows ``safe_globals`` for the loads inside it.

    Example:
        >>> with sg.serialization.safe_globals([MyNet]):
        ...     model = sg.load("model.pt")
    """

    def __init__(self, safe_globals: list[Callable | tuple[Callable, str]]) -> None:
        if not isinstance(safe_globals, (list, tuple, set, frozenset)):
            raise TypeError(f"safe_globals expects a list, got {type(safe_globals).__name__}")
        for entry in safe_globals:
            _check_entry(entry)
        self.safe_globals = list(safe_globals)
        self._added: list = []

    def __enter__(self) -> None:
        self._added = [e for e in self.safe_globals if not any(_same(e, a) for a in _allowed)]
        add_safe_globals(self._added)

    def __exit__(self, *exc: object) -> None:
        _remove(self._added)


def user_allowed() -> dict[str, Any]:
    """``{"module.qualname": object}`` for every allowed global, as matched in files."""
    out: dict[str, Any] = {}
    for entry in _allowed:
        if isinstance(entry, tuple):
            out[entry[1]] = entry[0]
        else:
            out[f"{entry.__module__}.{entry.__qualname__}"] = entry
    return out


def display_name(full: str) -> str:
    """How a global is written in messages (``builtins.eval`` as ``eval``, as PyTorch)."""
    return full.removeprefix("builtins.")
