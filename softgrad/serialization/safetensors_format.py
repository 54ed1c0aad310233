"""Checkpoints without pickle: ``save`` and ``load`` in the safetensors file format.

A file is ``[8-byte little-endian header length][JSON header][raw little-endian tensor bytes]``.
The header maps each tensor name to ``{"dtype", "shape", "data_offsets"}``; softgrad adds
``__metadata__`` with ``format: softgrad``, the object's structure as JSON (dicts with str or
int keys, lists, tuples, numbers, strings, bools, None, tensor/array references) and a CRC-32
of the tensor bytes. A flat state dict is stored under its own keys, so the file is a plain
safetensors file that other tools read. Nothing is unpickled: loading parses JSON and copies
bytes. Safetensors files written by other libraries are read too.
"""
from __future__ import annotations

import json
import math
import os
import zlib
from collections.abc import Mapping
from typing import Any

from softgrad import backend
from softgrad.serialization.atomic import atomic_write
from softgrad.serialization.errors import CheckpointError
from softgrad.tensor import Tensor

np = backend.np

__all__ = ["load_safetensors", "save_safetensors"]

_FORMAT, _VERSION = "softgrad", "1"
_MAX_HEADER = 100_000_000
_CODES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "I16": "<i2", "U16": "<u2", "I32": "<i4",
          "U32": "<u4", "I64": "<i8", "U64": "<u8", "F16": "<f2", "F32": "<f4", "F64": "<f8"}
_CODE_OF = {(np.dtype(v).kind, np.dtype(v).itemsize): k for k, v in _CODES.items()}
_TENSOR_DTYPES = {"U16": np.int32, "U32": np.int64}  # widened: softgrad has no such tensors
_HINT = ("softgrad reads its own checkpoints, safetensors files, files written by torch.save "
         "and .npz archives")


# ---------------------------------------------------------------------- writing
class _Encoder:
    """Turns an object into a JSON structure plus a list of named arrays."""

    def __init__(self) -> None:
        self.arrays: list[tuple[str, Any]] = []
        self.names: dict[int, str] = {}
        self.used: set[str] = {"__metadata__"}
        self.open: set[int] = set()

    def _add(self, key: Any, array: Any, path: tuple) -> str:
        if key is not None and id(key) in self.names:
            return self.names[id(key)]
        base = ".".join(str(p) for p in path) or "tensor"
        name, k = base, 1
        while name in self.used:
            name, k = f"{base}#{k}", k + 1
        if (array.dtype.kind, array.dtype.itemsize) not in _CODE_OF:
            raise TypeError(f"sg.save cannot store an array of dtype {array.dtype} at "
                            f"{_where(path)}; supported: bool, (u)int8-64, float16/32/64")
        self.used.add(name)
        self.arrays.append((name, array))
        if key is not None:
            self.names[id(key)] = name
        return name

    def encode(self, obj: Any, path: tuple = ()) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, Tensor):
            out: dict[str, Any] = {"__tensor__": self._add(obj, backend.to_numpy(obj._data), path)}
            if obj.requires_grad:
                out["requires_grad"] = True
            return out
        if isinstance(obj, np.ndarray):
            return {"__ndarray__": self._add(obj, obj, path)}
        if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
            return {"__npscalar__": self._add(None, np.asarray(obj), path)}
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"__float__": repr(float(obj))}
        if isinstance(obj, (Mapping, list, tuple)):
            if id(obj) in self.open:
                raise ValueError(f"sg.save cannot store a cyclic structure (at {_where(path)})")
            self.open.add(id(obj))
            try:
                return self._container(obj, path)
            finally:
                self.open.discard(id(obj))
        raise TypeError(
            f"sg.save cannot store an object of type {type(obj).__name__} at {_where(path)} "
            "in a safetensors file; it stores tensors, NumPy arrays, numbers, strings, bools, "
            "None and dicts, lists and tuples of them (save to a .pt file for whole modules "
            "and other objects)")

    def _container(self, obj: Any, path: tuple) -> Any:
        if isinstance(obj, Mapping):
            items = []
            for k, v in obj.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise TypeError(f"sg.save supports dict keys of type str or int, got "
                                    f"{type(k).__name__} key {k!r} at {_where(path)}")
                items.append([k if isinstance(k, str) else int(k), self.encode(v, path + (k,))])
            return {"__dict__": items}
        values = [self.encode(v, path + (i,)) for i, v in enumerate(obj)]
        return {"__tuple__": values} if isinstance(obj, tuple) else values


def _where(path: tuple) -> str:
    return "obj" + "".join(f"[{p!r}]" for p in path)


def _entries_crc(entries: dict, structure: str) -> int:
    """CRC-32 of the tensor table and the structure (the data is chained on afterwards)."""
    text = json.dumps(entries, separators=(",", ":")) + structure
    return zlib.crc32(text.encode("utf-8"))


def _write_file(fh: Any, arrays: list, metadata: dict) -> None:
    arrays = sorted(arrays, key=lambda item: -item[1].dtype.itemsize)  # keeps data aligned
    header, blobs, offset = {}, [], 0
    for name, arr in arrays:
        code = _CODE_OF[(arr.dtype.kind, arr.dtype.itemsize)]
        raw = np.ascontiguousarray(arr, dtype=np.dtype(_CODES[code])).reshape(-1).view(np.uint8)
        header[name] = {"dtype": code, "shape": [int(s) for s in arr.shape],
                        "data_offsets": [offset, offset + raw.size]}
        offset += raw.size
        blobs.append(raw)
    crc = _entries_crc(header, metadata["structure"])
    for raw in blobs:
        crc = zlib.crc32(raw.data, crc)
    metadata["crc32"] = f"{crc:08x}"
    text = json.dumps({"__metadata__": metadata, **header}, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)
    fh.write(len(text).to_bytes(8, "little"))
    fh.write(text)
    for raw in blobs:
        fh.write(raw)


def save_safetensors(obj: Any, f: Any) -> None:
    """Save ``obj`` (a state dict, an optimizer state dict, a tensor, ...) to ``f`` as
    safetensors.

    Args:
        obj: tensors, NumPy arrays, Python numbers, strings, bools, None, and dicts (str or int
            keys), lists and tuples of them, nested freely.
        f: a path (written atomically) or a binary file object.
    Example:
        >>> sg.save({"model": model.state_dict(), "opt": opt.state_dict()}, "ckpt.safetensors")
    """
    enc = _Encoder()
    structure = enc.encode(obj)
    metadata = {"format": _FORMAT, "version": _VERSION,
                "structure": json.dumps(structure, separators=(",", ":"), allow_nan=False)}
    if hasattr(f, "write"):
        _write_file(f, enc.arrays, metadata)
    else:
        atomic_write(f, lambda fh: _write_file(fh, enc.arrays, metadata))


# ---------------------------------------------------------------------- reading
def _looks_like_pickle(head: bytes) -> bool:
    return (head[:1] == b"\x80" and 2 <= head[1:2][0] <= 5) if len(head) > 1 else False


def _read_header(fh: Any, size: int) -> tuple[dict, int]:
    head = fh.read(8)
    if len(head) < 8 and not _looks_like_pickle(head):
        raise CheckpointError(f"not a checkpoint: the file has only {size} bytes")
    n = int.from_bytes(head, "little")
    raw = fh.read(n) if 2 <= n <= min(_MAX_HEADER, size - 8) else b""
    if raw[:1] != b"{":
        if _looks_like_pickle(head) or head[:1] in (b"(", b"}", b"]", b"c"):
            raise CheckpointError("this looks like a plain pickle file, not a checkpoint; "
                                  f"{_HINT}, and never runs a pickle's code")
        raise CheckpointError(
            f"not a safetensors checkpoint (or truncated): the header length field says {n} "
            f"bytes but the file has {size} bytes; {_HINT}")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"corrupt checkpoint header (invalid JSON: {exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError("corrupt checkpoint header: expected a JSON object")
    return header, 8 + n


def _check_entries(header: dict, data_size: int) -> list[tuple[str, str, tuple, int, int]]:
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            code, shape, (begin, end) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
            ok = (isinstance(code, str) and all(type(s) is int and s >= 0 for s in shape)
                  and type(begin) is int and type(end) is int and 0 <= begin <= end)
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise CheckpointError(f"corrupt checkpoint header: bad entry for tensor {name!r}")
        if code not in _CODES and code != "BF16":
            raise CheckpointError(f"tensor {name!r} has dtype {code}, which softgrad cannot read")
        itemsize = 2 if code == "BF16" else np.dtype(_CODES[code]).itemsize
        if math.prod(shape) * itemsize != end - begin:
            raise CheckpointError(f"corrupt checkpoint: tensor {name!r} of shape {list(shape)} "
                                  f"and dtype {code} does not fit offsets [{begin}, {end}]")
        entries.append((name, code, shape, begin, end))
    entries.sort(key=lambda e: (e[3], e[4]))
    pos = 0
    for name, _, _, begin, end in entries:
        if begin != pos:
            raise CheckpointError(f"corrupt checkpoint: tensor {name!r} starts at byte {begin}, "
                                  f"expected {pos} (gap or overlap)")
        pos = end
    if pos != data_size:
        raise CheckpointError(
            f"checkpoint is truncated or has trailing bytes: the header describes {pos} bytes "
            f"of tensor data but the file holds {data_size}")
    return entries


def _read_arrays(fh: Any, entries: list, start: int, crc: int, expect_crc: str | None) -> dict:
    arrays = {}
    fh.seek(start)
    for name, code, shape, begin, end in entries:
        buf = np.empty(end - begin, dtype=np.uint8)
        if fh.readinto(buf.data) != buf.size:
            raise CheckpointError(f"checkpoint is truncated inside tensor {name!r}")
        crc = zlib.crc32(buf.data, crc)
        if code == "BF16":  # bfloat16 is the top half of a float32
            arr = (buf.view("<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = buf.view(_CODES[code])
            if not arr.dtype.isnative:
                arr = arr.astype(arr.dtype.newbyteorder("="))
        arrays[name] = arr.reshape(shape)
    if expect_crc is not None and f"{crc:08x}" != expect_crc:
        raise CheckpointError("checkpoint is corrupt: the CRC-32 of its tensor table, structure "
                              "and data does not match the one stored in the header")
    return arrays


def _as_tensor(arr: Any, code: str, name: str, device: str | None) -> Tensor:
    if code == "U64":
        if arr.size and arr.max() > np.iinfo(np.int64).max:
            raise CheckpointError(f"tensor {name!r} holds uint64 values beyond int64")
        arr = arr.astype(np.int64)
    elif code in _TENSOR_DTYPES:
        arr = arr.astype(_TENSOR_DTYPES[code])
    if device is not None and device != "cpu":
        arr = backend.to_device(arr, device)
    return Tensor._wrap(arr)


class _Decoder:
    def __init__(self, arrays: dict, codes: dict, device: str | None) -> None:
        self.arrays, self.codes, self.device = arrays, codes, device
        self.tensors: dict[str, Any] = {}

    def _array(self, name: Any) -> Any:
        if not isinstance(name, str) or name not in self.arrays:
            raise CheckpointError(f"corrupt checkpoint: structure refers to missing tensor "
                                  f"{name!r}")
        return self.arrays[name]

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise CheckpointError(f"corrupt checkpoint structure near {str(node)[:60]!r}")
        if "__dict__" in node:
            return {_key(k): self.decode(v) for k, v in node["__dict__"]}
        if "__tuple__" in node:
            return tuple(self.decode(v) for v in node["__tuple__"])
        if "__float__" in node:
            return float(node["__float__"])
        if "__tensor__" in node:
            name = node["__tensor__"]
            if name not in self.tensors:
                t = _as_tensor(self._array(name), self.codes[name], name, self.device)
                if node.get("requires_grad") and t._data.dtype.kind == "f":
                    t.requires_grad = True
                self.tensors[name] = t
            return self.tensors[name]
        if "__ndarray__" in node:
            return self._array(node["__ndarray__"])
        if "__npscalar__" in node:
            return self._array(node["__npscalar__"])[()]
        raise CheckpointError(f"corrupt checkpoint structure: unknown tag {sorted(node)}")


def _key(k: Any) -> Any:
    if isinstance(k, bool) or not isinstance(k, (str, int)):
        raise CheckpointError(f"corrupt checkpoint structure: bad dict key {k!r}")
    return k


def _is_softgrad(meta: dict) -> bool:
    """True for softgrad checkpoints; CheckpointError when the softgrad fields are damaged."""
    keys = ("format", "version", "structure", "crc32")
    if meta.get("format") != _FORMAT and "structure" not in meta and "crc32" not in meta:
        return False
    if meta.get("format") != _FORMAT or meta.get("version") != _VERSION or not all(
            isinstance(meta.get(k), str) for k in keys):
        raise CheckpointError(
            f"corrupt or unsupported softgrad checkpoint metadata (format "
            f"{meta.get('format')!r}, version {meta.get('version')!r}; this softgrad reads "
            f"format {_FORMAT!r} version {_VERSION!r})")
    return True


def load_safetensors(fh: Any, device: str | None) -> Any:
    """Read a safetensors file from the seekable binary file ``fh``: the saved object for
    softgrad checkpoints, ``{name: Tensor}`` for files written by other tools."""
    size = fh.seek(0, os.SEEK_END)
    fh.seek(0)
    header, start = _read_header(fh, size)
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict):
        raise CheckpointError("corrupt checkpoint header: __metadata__ is not an object")
    entries = _check_entries(header, size - start)
    ours = _is_softgrad(meta)
    crc = 0
    if ours:
        crc = _entries_crc({k: v for k, v in header.items() if k != "__metadata__"},
                           meta["structure"])
    arrays = _read_arrays(fh, entries, start, crc, meta["crc32"] if ours else None)
    codes = {e[0]: e[1] for e in entries}
    if not ours:
        return {name: _as_tensor(arrays[name], codes[name], name, device) for name in arrays}
    try:
        structure = json.loads(meta["structure"])
        return _Decoder(arrays, codes, device).decode(structure)
    except CheckpointError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError) as exc:
        raise CheckpointError(f"corrupt checkpoint structure: {exc}") from None
