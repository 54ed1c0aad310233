"""``softgrad.compile`` and ``softgrad.compiler``: PyTorch's graph compiler entry points.

softgrad runs eagerly on NumPy/CuPy and has no compiler, so ``compile(model)`` checks its
arguments and returns ``model`` itself: the same object, the same ``state_dict`` keys, the
same results. ``@compile`` and ``@compile(mode=...)`` decorate a function unchanged.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compile", "disable", "is_compiling", "reset"]

_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


def compile(model: Callable | None = None, *, fullgraph: bool = False,
            dynamic: bool | None = None, backend: Any = None, mode: str | None = None,
            options: dict | None = None, name: str | None = None, disable: bool = False,
            recompile_limit: int | None = None, isolate_recompiles: bool = False,
            shapes_spec: Any = None) -> Any:
    """Return ``model`` unchanged (or, called without it, a decorator that does).

    Args:
        model: a Module or function.
        mode: one of PyTorch's modes ('default', 'lite', 'reduce-overhead',
            'max-autotune-no-cudagraphs', 'max-autotune'); checked, then ignored, as are the
            other arguments.
    """
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: "
                           f"{', '.join(_MODES)}")
    if model is None:
        return compile
    if not callable(model):
        raise TypeError(f"A callable function is expected, but {type(model)} is provided.")
    return model


def disable(fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None
            ) -> Any:
    """Decorator excluding ``fn`` from compilation: returns it unchanged."""
    if fn is None:
        return lambda f: f
    return fn


def is_compiling() -> bool:
    """False: softgrad never traces code for a compiler."""
    return False


def reset() -> None:
    """Nothing to reset: no compiler caches exist."""
