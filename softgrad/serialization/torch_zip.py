"""PyTorch's file format (``torch.save`` since 1.6), read and written without PyTorch.

A file is a zip archive with one folder: ``data.pkl`` (the object, pickled with persistent
ids for storages), ``data/<key>`` (each storage's raw bytes, stored uncompressed at 64-byte
aligned offsets), ``byteorder``, ``version``, ``.format_version``, ``.storage_alignment``
and ``.data/serialization_id``. Reading checks the zip layout first, reads ``data.pkl``
through the restricted unpickler, and sizes every storage from its record, never from a
number in the pickle alone; ``mmap=True`` maps the file copy-on-write instead of reading it.
"""
from __future__ import annotations

import mmap as _mmap
import os
import sys
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

from softgrad import backend
from softgrad.serialization.errors import CheckpointError, MapLocationError
from softgrad.serialization.pickler import TorchPickler
from softgrad.serialization.storage import Storage, StorageType, read_storage, storage_nbytes
from softgrad.serialization.unpickler import unpickle
from softgrad.serialization.zip_records import check_layout, data_start

np = backend.np

__all__ = ["archive_name", "is_torch_zip", "load_torch_zip", "pickle_for_torch", "restorer",
           "write_torch_zip"]

_ALIGN = 64
_MAX_SMALL_RECORD = 1 << 16
_MAX_DEFLATE_RATIO = 1100
_KIND = "torch.save"


# ---------------------------------------------------------------------- map_location
def restorer(map_location: Any) -> Callable[[Storage, str], Storage]:
    """``torch.load``'s ``map_location`` rules as a function of (storage, location tag)."""
    if map_location is None:
        move = lambda s, loc: s.to(loc)
    elif isinstance(map_location, (str, bytes)):
        target = map_location.decode() if isinstance(map_location, bytes) else map_location
        move = lambda s, loc: s.to(target)
    elif isinstance(map_location, dict):
        move = lambda s, loc: s.to(map_location.get(loc, loc))
    elif hasattr(map_location, "type") and hasattr(map_location, "index"):
        move = lambda s, loc: s.to(str(map_location))
    elif callable(map_location):
        def move(s: Storage, loc: str) -> Storage:
            out = map_location(s, loc)
            if out is None:
                return s.to(loc)
            if not isinstance(out, Storage):
                raise TypeError(f"map_location must return a storage (or None), got "
                                f"{type(out).__name__}")
            return out
    else:
        raise TypeError(f"map_location must be None, a device, a str, a dict or a callable, "
                        f"got {type(map_location).__name__}")

    def restore(storage: Storage, location: str) -> Storage:
        out = move(storage, location)
        _check_device(out.device, location)
        return out
    return restore


def _check_device(device: str, location: str) -> None:
    kind, _, index = str(device).partition(":")
    if kind == "cpu" and not index:
        return
    if kind == "cuda" and (not index or index.isdigit()):
        if not backend.cuda_available():
            raise MapLocationError(
                "Attempting to deserialize object on a CUDA device but "
                "softgrad.cuda.is_available() is False. If you are running on a CPU-only "
                "machine, please use sg.load (torch.load) with map_location='cpu' (or "
                "torch.device('cpu')) to map your storages to the CPU.")
        return
    raise MapLocationError(f"don't know how to restore data location of a storage (tagged "
                           f"with {location!r:.40}, mapped to {str(device)!r:.40}); softgrad "
                           "has the devices 'cpu' and 'cuda'")


# ---------------------------------------------------------------------- reading
def is_torch_zip(fh: Any) -> bool:
    """True unless the zip open as ``fh`` looks like an ``.npz`` archive (only .npy files)."""
    try:
        names = zipfile.ZipFile(fh).namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError, OverflowError) as exc:
        raise CheckpointError(f"corrupt zip file (torch.save file or .npz archive): "
                              f"{type(exc).__name__}: {exc}") from None
    finally:
        fh.seek(0)
    return not names or not all(n.endswith(".npy") for n in names)


class _Archive:
    """The records of a ``torch.save`` zip, checked before any of them is read."""

    def __init__(self, fh: Any, use_mmap: bool) -> None:
        self.fh = fh
        try:
            self.zip = zipfile.ZipFile(fh)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
                NotImplementedError, RuntimeError, OverflowError) as exc:
            raise CheckpointError(f"corrupt {_KIND} file (zip): {type(exc).__name__}: "
                                  f"{exc}") from None
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise CheckpointError(f"corrupt {_KIND} file: a record name appears twice")
        pkl = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if any(n.endswith("/constants.pkl") for n in names):
            raise CheckpointError("this is a TorchScript archive (torch.jit.save); softgrad "
                                  "loads tensors and state dicts, not TorchScript programs")
        if len(pkl) != 1:
            raise CheckpointError("zip file is neither a torch.save file (no <name>/data.pkl) "
                                  "nor an .npz archive")
        self.prefix = pkl[0][:-len("data.pkl")]
        if not all(n.startswith(self.prefix) for n in names):
            raise CheckpointError(f"corrupt {_KIND} file: records outside {self.prefix!r}")
        self.records = {n[len(self.prefix):]: i for n, i in zip(names, infos)}
        check_layout(fh, infos, getattr(self.zip, "start_dir", None), _KIND)
        order = self.small("byteorder", b"little").decode("ascii", "replace")
        if order not in ("little", "big"):
            raise CheckpointError(f"corrupt {_KIND} file: byteorder record says {order!r:.20}")
        self.byteorder = order
        self.map = None
        if use_mmap:
            self.map = _mmap.mmap(fh.fileno(), 0, access=_mmap.ACCESS_COPY)

    def small(self, name: str, default: bytes) -> bytes:
        info = self.records.get(name)
        if info is None:
            return default
        if info.file_size > _MAX_SMALL_RECORD:
            raise CheckpointError(f"corrupt {_KIND} file: record {name!r} is too large")
        return self.read(info)

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """A whole record (its CRC checked)."""
        return self.read_into(info, np.empty(info.file_size, np.uint8)).tobytes()

    def read_into(self, info: zipfile.ZipInfo, buf: Any) -> Any:
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                raise CheckpointError(f"corrupt {_KIND} file: stored record "
                                      f"{info.filename!r} has two sizes")
            self.fh.seek(data_start(self.fh, info, _KIND))
            if self.fh.readinto(memoryview(buf)) != buf.size:
                raise CheckpointError(f"{_KIND} file is truncated inside {info.filename!r}")
        else:
            if info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 1024:
                raise CheckpointError(f"corrupt {_KIND} file: record {info.filename!r} claims "
                                      f"{info.file_size} bytes from {info.compress_size}")
            try:
                with self.zip.open(info) as member:
                    data = member.read(info.file_size + 1)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError,
                    RuntimeError, ValueError) as exc:
                raise CheckpointError(f"corrupt {_KIND} record {info.filename!r}: {exc}") \
                    from None
            if len(data) != buf.size:
                raise CheckpointError(f"corrupt {_KIND} record {info.filename!r}: wrong size")
            buf[:] = np.frombuffer(data, np.uint8)
            return buf
        if zlib.crc32(buf) != info.CRC:
            raise CheckpointError(f"{_KIND} file is corrupt: the CRC-32 of record "
                                  f"{info.filename!r} does not match")
        return buf

    def storage_bytes(self, key: str, nbytes: int) -> Any:
        info = self.records.get(f"data/{key}")
        if info is None:
            raise CheckpointError(f"corrupt {_KIND} file: no record data/{key!s:.40} for a "
                                  "storage named in data.pkl")
        if info.file_size != nbytes:
            raise CheckpointError(f"corrupt {_KIND} file: storage {key} needs {nbytes} bytes "
                                  f"but its record holds {info.file_size}")
        if self.map is not None and info.compress_type == zipfile.ZIP_STORED:
            start = data_start(self.fh, info, _KIND)
            if start + nbytes > len(self.map):
                raise CheckpointError(f"{_KIND} file is truncated inside storage {key}")
            return np.frombuffer(self.map, np.uint8, nbytes, start)
        return self.read_into(info, np.empty(nbytes, np.uint8))


def _pid(pid: Any) -> tuple[StorageType, str, str, int]:
    """Check a persistent id ``('storage', storage_type, key, location, numel)``."""
    if type(pid) is not tuple or len(pid) != 5:
        raise CheckpointError(f"corrupt {_KIND} file: a persistent id must be a 5-tuple "
                              "('storage', type, key, location, numel)")
    tag, storage_type, key, location, numel = pid
    if isinstance(tag, bytes):
        tag = tag.decode("ascii", "replace")
    if tag != "storage" or not isinstance(storage_type, StorageType) or type(key) is not str \
            or not isinstance(location, str) or type(numel) is not int or numel < 0:
        raise CheckpointError(f"corrupt {_KIND} file: bad persistent id (only storages "
                              "('storage', torch.<Type>Storage, key, location, numel) are "
                              "allowed)")
    return storage_type, key, str(location), numel


def load_torch_zip(fh: Any, map_location: Any, weights_only: bool, use_mmap: bool,
                   encoding: str) -> Any:
    """Load the object of a ``torch.save`` zip file open as ``fh``."""
    archive = _Archive(fh, use_mmap)
    restore = restorer(map_location)
    storages: dict[str, tuple[str, Storage]] = {}

    def persistent_load(pid: Any) -> Storage:
        storage_type, key, location, numel = _pid(pid)
        dtype_name = storage_type.dtype_name
        if key in storages:
            known_dtype, storage = storages[key]
            if known_dtype != dtype_name:
                raise CheckpointError(f"corrupt {_KIND} file: storage {key} is named with "
                                      f"two dtypes ({known_dtype}, {dtype_name})")
            return storage
        buf = archive.storage_bytes(key, storage_nbytes(dtype_name, numel))
        storage = restore(Storage(read_storage(buf, dtype_name, archive.byteorder),
                                  dtype_name), location)
        storages[key] = (dtype_name, storage)
        return storage

    data_pkl = archive.records["data.pkl"]
    pickled = archive.read(data_pkl)
    obj, end = unpickle(pickled, weights_only, persistent_load, encoding)
    if end != len(pickled):
        raise CheckpointError(f"corrupt {_KIND} file: data.pkl has {len(pickled) - end} bytes "
                              "after its end")
    return obj


# ---------------------------------------------------------------------- writing
def archive_name(f: Any) -> str:
    """The folder name ``torch.save`` uses inside the zip: the file's stem."""
    if isinstance(f, (str, os.PathLike)):
        stem = os.path.splitext(os.path.basename(os.fspath(f)))[0]
        if stem and "/" not in stem and "\\" not in stem:
            return stem
    return "archive"


def pickle_for_torch(obj: Any) -> tuple[bytes, list]:
    """``obj``'s ``data.pkl`` and its storages ``[(key, flat array)]``."""
    pickler = TorchPickler()
    return pickler.dump(obj), pickler.storages


def write_torch_zip(pickled: bytes, storages: list, fh: Any, name: str) -> None:
    """Write a ``torch.save`` zip to the seekable binary file ``fh``."""
    base = fh.tell()
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        def record(rel: str, data: Any) -> None:
            view = memoryview(data).cast("B")
            info = zipfile.ZipInfo(f"{name}/{rel}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = view.nbytes
            zip64 = view.nbytes > zipfile.ZIP64_LIMIT
            header = 30 + len(info.filename.encode("utf-8")) + 4 + (20 if zip64 else 0)
            pad = -(fh.tell() - base + header) % _ALIGN
            info.extra = b"FB" + pad.to_bytes(2, "little") + b"Z" * pad
            with z.open(info, "w", force_zip64=zip64) as out:
                for i in range(0, view.nbytes, 1 << 24):
                    out.write(view[i:i + (1 << 24)])

        record("data.pkl", pickled)
        record(".format_version", b"1")
        record(".storage_alignment", str(_ALIGN).encode())
        record("byteorder", sys.byteorder.encode())
        for key, flat in storages:
            record(f"data/{key}", np.ascontiguousarray(flat).view(np.uint8))
        record("version", b"3\n")
        record(".data/serialization_id", b"%040d" % int.from_bytes(os.urandom(16), "big"))
