"""PyTorch's format before 1.6 (``torch.save(..., _use_new_zipfile_serialization=False)``).

The file is a run of pickles: a magic number, the protocol version 1001, system info, the
object (with persistent ids ``('storage', type, key, location, numel, view)``), the list of
storage keys; then, for each key in that order, an 8-byte element count and the raw bytes.
The object is unpickled twice: first over storages that hold no memory (a broadcast zero),
which tells each storage's dtype and bounds-checks every tensor, so the data records can be
located and checked against the file's size; then over the real storages.
"""
from __future__ import annotations

import warnings
from typing import Any

from softgrad import backend
from softgrad.serialization.errors import CheckpointError
from softgrad.serialization.storage import Storage, StorageType, read_storage, storage_nbytes
from softgrad.serialization.torch_zip import restorer
from softgrad.serialization.unpickler import unpickle

np = backend.np

__all__ = ["LEGACY_MAGIC", "load_torch_legacy", "looks_legacy"]

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_MAGIC = b"\x80\x02\x8a\x0a" + MAGIC_NUMBER.to_bytes(10, "little") + b"."
_KIND = "legacy torch.save"


def looks_legacy(head: bytes) -> bool:
    """True when the first pickle in ``head`` (the file's first bytes) is the magic number,
    whatever pickle protocol wrote it."""
    if head.startswith(LEGACY_MAGIC):
        return True
    if head[:1] != b"\x80":
        return False
    try:
        return unpickle(head, True)[0] == MAGIC_NUMBER
    except CheckpointError:
        return False


def _storage_pid(pid: Any, weights_only: bool) -> Any:
    """Check a legacy persistent id; returns the class for ``('module', cls, ...)`` ids (of
    whole modules, weights_only=False only) or ``(storage_type, key, location, numel, view)``."""
    if type(pid) is tuple and len(pid) == 4 and pid[0] == "module" and not weights_only:
        if not isinstance(pid[1], type):
            raise CheckpointError(f"corrupt {_KIND} file: bad module persistent id")
        return pid[1]
    if type(pid) is not tuple or len(pid) != 6 or pid[0] != "storage":
        raise CheckpointError(f"corrupt {_KIND} file: only storages may be persistent ids")
    _, storage_type, key, location, numel, view = pid
    if not isinstance(storage_type, StorageType) or type(key) is not str or type(
            numel) is not int or numel < 0 or not isinstance(location, str):
        raise CheckpointError(f"corrupt {_KIND} file: bad storage persistent id")
    if view is not None and (type(view) is not tuple or len(view) != 3 or not all(
            type(v) is int and v >= 0 for v in view[1:])):
        raise CheckpointError(f"corrupt {_KIND} file: bad storage view")
    return storage_type, key, location, numel, view


def _view(storage: Storage, view: Any) -> Storage:
    if view is None:
        return storage
    _, offset, size = view
    if offset + size > storage.array.size:
        raise CheckpointError(f"corrupt {_KIND} file: a storage view reaches past its storage")
    return Storage(storage.array[offset:offset + size], storage.dtype_name, storage.device)


def load_torch_legacy(data: bytes, map_location: Any, weights_only: bool,
                      encoding: str) -> Any:
    """Load the object of a legacy ``torch.save`` file whose bytes are ``data``."""
    magic, pos = unpickle(data, True, None, encoding)
    version, pos = unpickle(data, True, None, encoding, pos)
    info, pos = unpickle(data, True, None, encoding, pos)
    if magic != MAGIC_NUMBER or version != 1001 or not isinstance(info, dict):
        raise CheckpointError(f"corrupt {_KIND} file: bad magic number, version or system "
                              "information")
    byteorder = "little" if info.get("little_endian", True) else "big"
    obj_pos = pos
    # pass 1: learn each storage's dtype from the object's pickle, over storages that hold
    # no memory (the data comes after the pickle); every tensor is bounds-checked here
    found: dict[str, tuple[str, int]] = {}

    def probe(pid: Any) -> Any:
        checked = _storage_pid(pid, weights_only)
        if isinstance(checked, type):
            return checked
        storage_type, key, _, numel, view = checked
        name = storage_type.dtype_name
        if found.setdefault(key, (name, numel)) != (name, numel):
            raise CheckpointError(f"corrupt {_KIND} file: storage {key} is named twice "
                                  "differently")
        one = read_storage(np.zeros(storage_nbytes(name, 1), np.uint8), name, byteorder)
        return _view(Storage(np.broadcast_to(one, (numel,)), name), view)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, pos = unpickle(data, weights_only, probe, encoding, obj_pos)
    keys, pos = unpickle(data, True, None, encoding, pos)
    if type(keys) is not list or sorted(keys, key=str) != sorted(found, key=str):
        raise CheckpointError(f"corrupt {_KIND} file: the storage keys do not match the "
                              "storages the object uses")
    starts: dict[str, int] = {}
    for key in keys:
        name, numel = found[key]
        count = int.from_bytes(data[pos:pos + 8], "little") if pos + 8 <= len(data) else -1
        end = pos + 8 + storage_nbytes(name, numel)
        if count != numel or end > len(data):
            raise CheckpointError(f"{_KIND} file is truncated or corrupt at storage {key}: "
                                  f"{numel} elements expected")
        starts[key] = pos + 8
        pos = end
    if pos != len(data):
        raise CheckpointError(f"corrupt {_KIND} file: {len(data) - pos} bytes after the data")
    restore = restorer(map_location)
    storages: dict[str, Storage] = {}

    def persistent_load(pid: Any) -> Any:
        checked = _storage_pid(pid, weights_only)
        if isinstance(checked, type):
            return checked
        _, key, location, numel, view = checked
        if key not in storages:
            name = found[key][0]
            buf = np.frombuffer(data, np.uint8, storage_nbytes(name, numel), starts[key])
            storages[key] = restore(Storage(read_storage(buf.copy(), name, byteorder), name),
                                    location)
        return _view(storages[key], view)

    obj, _ = unpickle(data, weights_only, persistent_load, encoding, obj_pos)
    return obj
