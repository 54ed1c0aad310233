"""Hostile and damaged files beyond test_serialization.py's softgrad-checkpoint fuzzing: files
written by other tools (PyTorch safetensors, .npz) truncated or flipped, pathological headers,
and saves that fail half-way. Every bad file must give CheckpointError, nothing else."""
from __future__ import annotations

import errno
import io
import json
import os

import numpy as np
import pytest

import softgrad as sg
from softgrad.serialization import CheckpointError
from softgrad.serialization import safetensors_format as serialization


def _state():
    rng = np.random.default_rng(0)
    return {"fc.weight": rng.standard_normal((5, 3)).astype(np.float32),
            "fc.bias": rng.standard_normal(5).astype(np.float32),
            "bn.num_batches_tracked": np.array(3, np.int64),
            "half": rng.standard_normal(4).astype(np.float16),
            "mask": np.array([True, False])}


def _npz(compressed: bool) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **_state())
    return buf.getvalue()


def _torch_safetensors() -> bytes:
    st_torch = pytest.importorskip("safetensors.torch")
    torch = pytest.importorskip("torch")
    return st_torch.save({k: torch.from_numpy(v) for k, v in _state().items()})


def _equal_state(back) -> bool:
    want = _state()
    return set(back) == set(want) and all(
        back[k].numpy().dtype == v.dtype and np.array_equal(back[k].numpy(), v)
        for k, v in want.items())


def _load(blob: bytes):
    return sg.load(io.BytesIO(blob))


@pytest.mark.parametrize("kind", ["torch", "npz", "npz_compressed"])
def test_every_truncation_is_refused(kind):
    blob = _torch_safetensors() if kind == "torch" else _npz(kind == "npz_compressed")
    assert _equal_state(_load(blob))
    offsets = np.random.default_rng(3).choice(len(blob), size=min(200, len(blob)),
                                              replace=False)
    for k in offsets:
        with pytest.raises(CheckpointError):
            _load(blob[:k])


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_byte_flips_are_refused_or_harmless(compressed):
    """Zip members carry CRCs, so a flip either fails or hits bytes that do not matter."""
    blob = _npz(compressed)
    rng = np.random.default_rng(4)
    refused = 0
    for _ in range(300):
        bad = bytearray(blob)
        bad[int(rng.integers(0, len(blob)))] ^= int(rng.integers(1, 256))
        try:
            back = _load(bytes(bad))
        except CheckpointError:
            refused += 1
        else:
            assert _equal_state(back)
    assert refused > 100


def test_foreign_safetensors_flips_never_escape_as_other_errors():
    """Without a checksum, flips in another tool's tensor bytes cannot be noticed; flips in the
    header must still give CheckpointError or a file that loads with the same structure."""
    blob = _torch_safetensors()
    header_end = 8 + int.from_bytes(blob[:8], "little")
    rng = np.random.default_rng(5)
    for _ in range(300):
        bad = bytearray(blob)
        bad[int(rng.integers(0, header_end))] ^= int(rng.integers(1, 256))
        try:
            back = _load(bytes(bad))
        except CheckpointError:
            continue
        assert len(back) == len(_state())


def _with_header(text: str, data: bytes = b"") -> bytes:
    raw = text.encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + data


@pytest.mark.parametrize("name,blob", [
    ("nested JSON bomb", _with_header('{"a":' * 50000 + "1" + "}" * 50000)),
    ("nested structure bomb", _with_header(json.dumps({"__metadata__": {
        "format": "softgrad", "version": "1", "crc32": "00000000",
        "structure": "[" * 100000 + "]" * 100000}}))),
    ("huge shape", _with_header(json.dumps(
        {"x": {"dtype": "F32", "shape": [2 ** 40, 2 ** 40], "data_offsets": [0, 4]}}), b"\0" * 4)),
    ("huge integer", _with_header('{"x": {"dtype": "F32", "shape": [' + "9" * 5000 +
                                  '], "data_offsets": [0, 4]}}', b"\0" * 4)),
    ("object dtype", _with_header(json.dumps(
        {"x": {"dtype": "O", "shape": [1], "data_offsets": [0, 8]}}), b"\0" * 8)),
    ("header length beyond the file", (2 ** 62).to_bytes(8, "little") + b"{}"),
])
def test_pathological_headers(name, blob):
    with pytest.raises(CheckpointError):
        _load(blob)


def test_npz_with_hidden_or_oversized_members_is_refused(tmp_path):
    blob = bytearray(_npz(False))
    # shrink the zip directory's entry count/size fields: a member would silently vanish
    eocd = blob.rfind(b"PK\x05\x06")
    size_cd = int.from_bytes(blob[eocd + 12:eocd + 16], "little")
    first = blob.find(b"PK\x01\x02")
    second = blob.find(b"PK\x01\x02", first + 4)
    cut = bytes(blob[:first]) + bytes(blob[second:eocd]) + bytes(blob[eocd:])
    cut = bytearray(cut)
    e2 = cut.rfind(b"PK\x05\x06")
    n = int.from_bytes(cut[e2 + 10:e2 + 12], "little") - 1
    cut[e2 + 8:e2 + 10] = n.to_bytes(2, "little")
    cut[e2 + 10:e2 + 12] = n.to_bytes(2, "little")
    cut[e2 + 12:e2 + 16] = (size_cd - (second - first)).to_bytes(4, "little")
    cut[e2 + 16:e2 + 20] = first.to_bytes(4, "little")
    with pytest.raises(CheckpointError, match="expected|directory"):
        _load(bytes(cut))
    buf = io.BytesIO()
    np.savez(buf, big=np.zeros(4, np.float32))
    assert b"(4,), }    " in buf.getvalue()
    grown = buf.getvalue().replace(b"(4,), }    ", b"(99999,), }", 1)  # same header length
    with pytest.raises(CheckpointError, match="needs 399996 data bytes|CRC"):
        _load(grown)


# ---------------------------------------------------------------------- failed saves
def _half_then_fail(exc):
    real = serialization._write_file

    def write(fh, arrays, metadata):
        inner = io.BytesIO()
        real(inner, arrays, metadata)
        data = inner.getvalue()
        fh.write(data[: len(data) // 2])
        raise exc

    return write


@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"),
                                 KeyboardInterrupt()])
def test_a_save_that_dies_half_way_keeps_the_previous_checkpoint(tmp_path, monkeypatch, exc):
    path = tmp_path / "ckpt.safetensors"
    sg.save({"epoch": 1, "w": sg.ones(1000)}, path)
    before = path.read_bytes()
    monkeypatch.setattr(serialization, "_write_file", _half_then_fail(exc))
    with pytest.raises(type(exc)):
        sg.save({"epoch": 2, "w": sg.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    back = sg.load(path)
    assert back["epoch"] == 1 and back["w"].tolist() == [1.0] * 1000
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_a_failing_fsync_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    sg.save({"epoch": 1}, path)

    def fsync(fd):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="I/O error"):
        sg.save({"epoch": 2}, path)
    monkeypatch.undo()
    assert sg.load(path) == {"epoch": 1}
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
