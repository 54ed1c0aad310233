""".npz archives for ``sg.load``: read member by member without pickle.

Each member's ``.npy`` header is parsed (a literal, never executed) and checked against the
member's size before any data is read, and the members must tile the zip file up to its
directory, so a damaged or hostile archive gives ``CheckpointError`` and no large allocation.
"""
from __future__ import annotations

import math
import zipfile
import zlib
from typing import Any

from softgrad.serialization import _CODE_OF, _HINT, CheckpointError, _as_tensor, np

__all__ = ["load_npz"]


def load_npz(fh: Any, device: str | None) -> dict:
    """Read an ``.npz`` archive member by member, checking each ``.npy`` header against the
    member's size before reading any data (no pickle, no oversized allocations)."""
    try:
        with zipfile.ZipFile(fh) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            if any(n.endswith("data.pkl") for n in names):
                raise CheckpointError("this is a torch.save checkpoint (a zip holding a "
                                      f"pickle); {_HINT}. Save the state dict with safetensors "
                                      "instead")
            if not names or not all(n.endswith(".npy") for n in names):
                raise CheckpointError(f"zip file is not an .npz archive; {_HINT}")
            _check_zip_layout(fh, infos, getattr(z, "start_dir", None))
            out = {}
            for info in infos:
                arr = _read_npy_member(z, info)
                key = info.filename[:-4]
                code = _CODE_OF.get((arr.dtype.kind, arr.dtype.itemsize))
                out[key] = arr if code is None else _as_tensor(arr, code, key, device)
            return out
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, KeyError,
            NotImplementedError, RuntimeError, OverflowError, zlib.error) as exc:
        raise CheckpointError(f"corrupt zip/.npz file: {type(exc).__name__}: {exc}") from None


def _check_zip_layout(fh: Any, infos: list, start_dir: int | None) -> None:
    """Members must tile the file up to the central directory: a damaged directory that
    hides a member (or points into another) is refused instead of loading fewer arrays."""
    pos, slack = 0, False
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset != pos and not (0 < info.header_offset - pos <= 24 and slack):
            raise CheckpointError(f"corrupt .npz: member {info.filename!r} starts at byte "
                                  f"{info.header_offset}, expected {pos}")
        fh.seek(info.header_offset)
        head = fh.read(30)
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            raise CheckpointError(f"corrupt .npz: no local header for member {info.filename!r}")
        extra = int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
        pos = info.header_offset + 30 + extra + info.compress_size
        slack = bool(info.flag_bits & 0x08)  # a data descriptor of 12 to 24 bytes follows
    if start_dir is not None and start_dir != pos and not (0 < start_dir - pos <= 24 and slack):
        raise CheckpointError(f"corrupt .npz: the members end at byte {pos} but the zip "
                              f"directory starts at byte {start_dir}")
    fh.seek(0)


def _read_npy_member(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> Any:
    fmt = np.lib.format
    with z.open(info) as f:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(f)
        else:
            raise CheckpointError(f".npy format version {version} of {info.filename!r} is not "
                                  "supported")
        if dtype.hasobject or dtype.kind not in "biufU":
            raise CheckpointError(f"{info.filename!r} holds {dtype} data (Python objects need "
                                  f"pickle); {_HINT}")
        nbytes = math.prod(shape) * dtype.itemsize
        if f.tell() + nbytes != info.file_size:
            raise CheckpointError(
                f"corrupt .npz: member {info.filename!r} of shape {list(shape)} and dtype "
                f"{dtype} needs {nbytes} data bytes, but the member holds "
                f"{info.file_size - f.tell()}")
        buf = bytearray(nbytes)
        if f.readinto(buf) != nbytes or f.read(1):  # reading to the end checks the CRC
            raise CheckpointError(f"corrupt .npz: member {info.filename!r} is truncated")
    arr = np.frombuffer(buf, dtype=dtype)
    arr = arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return np.ascontiguousarray(arr) if arr.ndim else arr
