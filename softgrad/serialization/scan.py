"""``get_unsafe_globals_in_checkpoint``: list a checkpoint's globals without loading it."""
from __future__ import annotations

import io
import pickletools
import zipfile
from typing import Any

from softgrad.serialization.errors import CheckpointError
from softgrad.serialization.rebuild import WEIGHTS_ONLY
from softgrad.serialization.safe_globals import user_allowed

__all__ = ["globals_in_pickle", "unsafe_globals"]

_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING",
            "BINSTRING", "SHORT_BINSTRING"}


def globals_in_pickle(data: bytes) -> set[str]:
    """The ``module.name`` of every GLOBAL/STACK_GLOBAL/INST in one pickle (parsed by
    :func:`pickletools.genops`, which builds nothing)."""
    found: set[str] = set()
    strings: list[str] = []
    try:
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            if op.name in ("GLOBAL", "INST"):
                module, _, name = str(arg).partition(" ")
                found.add(f"{module}.{name}")
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.add(f"{strings[-2]}.{strings[-1]}")
            if op.name in _STRINGS:
                strings.append(arg if isinstance(arg, str) else repr(arg))
            elif op.name not in ("MEMOIZE", "BINPUT", "LONG_BINPUT", "PUT"):
                strings = []
            if op.name == "STOP":
                break
    except Exception as exc:
        raise CheckpointError(f"corrupt pickle: {type(exc).__name__}: {exc}") from None
    return found


def unsafe_globals(fh: Any) -> list[str]:
    """Globals of the ``torch.save`` zip in ``fh`` that ``weights_only=True`` refuses."""
    try:
        with zipfile.ZipFile(fh) as z:
            names = [n for n in z.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(names) != 1:
                raise CheckpointError("not a torch.save zip file (no <name>/data.pkl)")
            data = z.read(names[0])
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"corrupt torch.save file: {exc}") from None
    allowed = set(WEIGHTS_ONLY) | set(user_allowed())
    return sorted(g for g in globals_in_pickle(data) if g not in allowed)
