"""Progress bars that are optional (tqdm when installed, enabled and writing to a terminal),
and log lines that never glue onto a bar.
"""
from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any


class _Silent:
    """Stands in for a tqdm bar: iterates and ignores ``set_postfix``."""

    def __init__(self, iterable: Iterable) -> None:
        self.iterable = iterable

    def __iter__(self) -> Iterator:
        return iter(self.iterable)

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass


def progress(iterable: Iterable, enable: bool | None = None, **kwargs: Any) -> Any:
    """Wrap ``iterable`` in a tqdm bar (on stderr).

    Args:
        iterable: what to iterate.
        enable: True forces a bar (when tqdm is installed), False never shows one, None (the
            default) shows one only when stderr is a terminal.
        **kwargs: passed to ``tqdm`` (``desc``, ``total``, ``leave``...).
    """
    if enable is None:
        enable = sys.stderr.isatty()
    if not enable:
        return _Silent(iterable)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Silent(iterable)
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)


def emit(message: str) -> None:
    """Print one log line to stdout now (flushed, so a pipe or a file sees it at once).

    While a tqdm bar is on the screen the line goes through ``tqdm.write``, which lifts the
    bar off, prints the line and draws the bar again below it.
    """
    tqdm: Any = sys.modules.get("tqdm.std")
    bars = getattr(getattr(tqdm, "tqdm", None), "_instances", None)
    if bars:
        tqdm.tqdm.write(message, file=sys.stdout)
        sys.stdout.flush()
    else:
        print(message, flush=True)
