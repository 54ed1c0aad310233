"""Reader for IDX files, the format of MNIST and Fashion-MNIST (raw or gzip-compressed).

Layout: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64), the number of dimensions, one big-endian uint32 per dimension,
then the values in big-endian C order.
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from typing import Any

from softgrad import backend

np = backend.np

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IDXError(ValueError):
    """The file is not a valid IDX file (bad magic number, truncated, corrupt gzip)."""


def read_idx(path: Any) -> Any:
    """Read an IDX file (``.gz`` or raw, detected from the content) into a NumPy array.

    Raises:
        FileNotFoundError: the file does not exist.
        IDXError: bad magic number, corrupt compression, or a size that does not match
            the header.
    Example:
        >>> images = read_idx("MNIST/raw/train-images-idx3-ubyte.gz")   # (60000, 28, 28) uint8
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise IDXError(f"{path}: corrupt gzip data ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        codes = ", ".join(f"0x{c:02X}" for c in _TYPES)
        raise IDXError(f"{path}: not an IDX file (bad magic number 0x{raw[:4].hex().upper()}; "
                       f"expected 0x0000TTNN with type code TT in {codes})")
    ndim, start = raw[3], 4 + 4 * raw[3]
    if len(raw) < start:
        raise IDXError(f"{path}: truncated IDX header ({len(raw)} bytes for {ndim} dimensions)")
    shape = struct.unpack(f">{ndim}I", raw[4:start])
    dtype = np.dtype(_TYPES[raw[2]])
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - start != expected:
        raise IDXError(f"{path}: the header says shape {shape} ({expected} bytes of data) but "
                       f"the file holds {len(raw) - start} bytes; it is truncated or corrupt")
    arr = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=start)
    return arr.reshape(shape).astype(dtype.newbyteorder("="))
