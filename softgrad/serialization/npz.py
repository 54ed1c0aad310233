""".npz archives for ``sg.load``: read member by member without pickle.

Each member's ``.npy`` header is parsed (a literal, never executed) and checked against the
member's size before any data is read, and the members must tile the zip file up to its
directory, so a damaged or hostile archive gives ``CheckpointError`` and no large allocation.
"""
from __future__ import annotations

import io
import math
import zipfile
import zlib
from typing import Any, cast

from softgrad.serialization.errors import CheckpointError
from softgrad.serialization.safetensors_format import _CODE_OF, _HINT, _as_tensor, np
from softgrad.serialization.zip_records import check_layout

__all__ = ["load_npz"]


def load_npz(fh: Any, device: str | None) -> dict:
    """Read an ``.npz`` archive member by member, checking each ``.npy`` header against the
    member's size before reading any data (no pickle, no oversized allocations)."""
    try:
        with zipfile.ZipFile(fh) as z:
            infos = z.infolist()
            names = [i.filename for i in infos]
            if not names or not all(n.endswith(".npy") for n in names):
                raise CheckpointError(f"zip file is not an .npz archive; {_HINT}")
            check_layout(fh, infos, getattr(z, "start_dir", None), "npz")
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
        # reading to the end checks the CRC
        if cast(io.BufferedIOBase, f).readinto(buf) != nbytes or f.read(1):
            raise CheckpointError(f"corrupt .npz: member {info.filename!r} is truncated")
    arr = np.frombuffer(buf, dtype=dtype)
    arr = arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return np.ascontiguousarray(arr) if arr.ndim else arr
