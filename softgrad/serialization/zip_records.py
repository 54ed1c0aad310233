"""Checks on zip archives (``.npz`` and ``torch.save`` files) before any member is read.

The members must tile the file up to the central directory, so a damaged directory that
hides a member, points into another one or past the end of the file is refused before any
allocation is sized from it.
"""
from __future__ import annotations

import zipfile
from typing import Any

from softgrad.serialization.errors import CheckpointError

__all__ = ["check_layout", "data_start"]

_LOCAL_HEADER = 30
_DESCRIPTOR_SLACK = 24  # a data descriptor (12 to 24 bytes) may follow a member's data


def check_layout(fh: Any, infos: list, start_dir: int | None, kind: str) -> None:
    """Raise CheckpointError unless the members of the zip open on ``fh`` lie one after
    the other from byte 0 to the central directory at ``start_dir``."""
    pos, slack = 0, False
    for info in sorted(infos, key=lambda i: i.header_offset):
        gap = info.header_offset - pos
        if gap != 0 and not (0 < gap <= _DESCRIPTOR_SLACK and slack):
            raise CheckpointError(f"corrupt {kind} file: member {info.filename!r} starts at "
                                  f"byte {info.header_offset}, expected {pos}")
        pos = data_start(fh, info, kind) + info.compress_size
        slack = bool(info.flag_bits & 0x08)
    gap = None if start_dir is None else start_dir - pos
    if gap is not None and gap != 0 and not (0 < gap <= _DESCRIPTOR_SLACK and slack):
        raise CheckpointError(f"corrupt {kind} file: the members end at byte {pos} but the "
                              f"zip directory starts at byte {start_dir}")
    fh.seek(0)


def data_start(fh: Any, info: zipfile.ZipInfo, kind: str) -> int:
    """The file offset of ``info``'s data, read from its local header."""
    fh.seek(info.header_offset)
    head = fh.read(_LOCAL_HEADER)
    if len(head) < _LOCAL_HEADER or head[:4] != b"PK\x03\x04":
        raise CheckpointError(f"corrupt {kind} file: no local header for member "
                              f"{info.filename!r}")
    extra = int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
    return info.header_offset + _LOCAL_HEADER + extra
