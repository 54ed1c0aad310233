"""Checks that run before any training: settings that cannot work, output folders that cannot
be written, checkpoints that belong to another run.

Each problem raises :class:`SettingError`, which names the setting at fault, so the command
line can report it as one line naming the option (``--out``, ``--resume``, ...).
"""
from __future__ import annotations

import os
import tempfile


class SettingError(ValueError):
    """A setting that cannot work. ``setting`` names it as the command line spells it without
    the dashes (``"out"``, ``"resume"``, ``"epochs"``, ``"dataset"``, ...); ``message`` says
    what is wrong and what to do instead; ``str(err)`` is ``"setting: message"``."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting, self.message = setting, message


def ensure_writable(folder: str, setting: str = "out") -> str:
    """Create ``folder`` (and its parents) and check that a file can be written in it.

    Raises:
        SettingError: the folder cannot be created or written (``setting`` names the option).
    """
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".softgrad-write-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SettingError(setting, f"cannot write to the folder {folder}: {reason}") from None
    return folder


def same_file(a: str | None, b: str | None) -> bool:
    """Whether two paths name the same file (False when either is None or missing)."""
    if a is None or b is None:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)
