"""sg.save / sg.load: safetensors checkpoints without pickle, atomic writes, clear errors."""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import softgrad as sg
from softgrad.serialization import CheckpointError

try:
    import safetensors.numpy as st_numpy
    import safetensors.torch as st_torch
    import torch
except Exception:  # pragma: no cover - depends on the machine
    torch = st_numpy = st_torch = None

needs_safetensors = pytest.mark.skipif(st_torch is None,
                                       reason="torch and safetensors are not installed")


def _same(a, b) -> None:
    """Exact equality including types, dtypes and bits."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, sg.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        a, b = a.detach().numpy(), b.detach().numpy()
    if isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()
    elif isinstance(a, dict):
        assert list(a) == list(b) and all(type(k) is type(j) for k, j in zip(a, b))
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def _roundtrip(obj, tmp_path):
    path = tmp_path / "ckpt.safetensors"
    sg.save(obj, path)
    return sg.load(path)


def _optimizer_like_state():
    rng = np.random.default_rng(0)
    return {
        "model": {"0.weight": sg.tensor(rng.standard_normal((4, 3)).astype(np.float32)),
                  "0.bias": sg.tensor(rng.standard_normal(4).astype(np.float32)),
                  "bn.num_batches_tracked": sg.tensor(7),
                  "mask": sg.tensor([True, False, True])},
        "optimizer": {"state": {0: {"step": sg.tensor(3.0), "exp_avg": sg.zeros(4, 3),
                                    "exp_avg_sq": sg.ones(4, 3, dtype=sg.float64)},
                                1: {"momentum_buffer": None}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                                        "amsgrad": False, "foreach": None, "params": [0, 1],
                                        "name": "body"}]},
        "scheduler": {"last_epoch": 4, "_last_lr": [0.00025], "gamma": float("inf"),
                      "nan": float("nan"), "big": 2 ** 70, "neg": -5},
        "rng": np.random.default_rng(3).bit_generator.state["state"]["state"],
        "arrays": [np.arange(6, dtype=np.int64).reshape(2, 3)[:, ::2], np.float64(2.5),
                   np.int32(-4), np.array(1.5, np.float16), np.zeros((0, 3), np.uint8)],
    }


# ---------------------------------------------------------------------- round trips
def test_roundtrip_is_exact_for_state_dicts(tmp_path):
    obj = _optimizer_like_state()
    back = _roundtrip(obj, tmp_path)
    _same(obj, back)
    assert back["model"]["0.weight"].dtype == sg.float32
    assert back["optimizer"]["state"][0]["exp_avg_sq"].dtype == sg.float64
    assert back["model"]["bn.num_batches_tracked"].dtype == sg.int64
    assert back["model"]["mask"].dtype == sg.bool


def test_training_resumes_bit_for_bit_from_a_checkpoint(tmp_path):
    def build():
        model = sg.nn.Sequential(sg.nn.Linear(3, 5), sg.nn.Linear(5, 2))
        opt = sg.optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
        return model, opt, sg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    def train_step(model, opt, sched, x):
        opt.zero_grad()
        (model(x) ** 2).sum().backward()
        opt.step()
        sched.step()

    x = sg.randn(8, 3)
    sg.manual_seed(1)
    model, opt, sched = build()
    train_step(model, opt, sched, x)
    path = tmp_path / "resume.safetensors"
    sg.save({"model": model.state_dict(), "opt": opt.state_dict(),
             "sched": sched.state_dict()}, path)
    ck = sg.load(path)
    sg.manual_seed(2)  # different initial weights: everything must come from the checkpoint
    model2, opt2, sched2 = build()
    model2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["opt"])
    sched2.load_state_dict(ck["sched"])
    for m, o, s in ((model, opt, sched), (model2, opt2, sched2)):
        train_step(m, o, s, x)
    for a, b in zip(model.parameters(), model2.parameters()):
        assert a.detach().numpy().tobytes() == b.detach().numpy().tobytes()
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 2.5e-3


def test_special_float_bits_survive(tmp_path):
    bits = np.array([0x7FC00001, 0xFF800000, 0x80000000, 0x00000001], dtype=np.uint32)
    t = sg.from_numpy(bits.view(np.float32).copy())
    back = _roundtrip({"t": t}, tmp_path)["t"]
    assert back.numpy().view(np.uint32).tolist() == bits.tolist()


_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 80, 2 ** 80), st.text(max_size=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["float32", "float64", "int64", "bool", "int8", "uint8", "float16"]).map(
        lambda d: sg.tensor(np.arange(6).reshape(2, 3).astype(d))),
    st.integers(0, 3).map(lambda n: np.linspace(0, 1, n)))
_tree = st.recursive(_leaf, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.lists(kids, max_size=3).map(tuple),
    st.dictionaries(st.one_of(st.text(max_size=4), st.integers(-3, 3)), kids, max_size=3)),
    max_leaves=12)


@settings(max_examples=25, deadline=None)
@given(obj=_tree)
def test_roundtrip_property(obj):
    buf = io.BytesIO()
    sg.save(obj, buf, format="safetensors")
    _same(obj, sg.load(io.BytesIO(buf.getvalue())))


@settings(max_examples=25, deadline=None)
@given(obj=_tree)
def test_roundtrip_property_torch_format(obj):
    """PyTorch's format: NumPy arrays need weights_only=False (as in PyTorch, where they need
    allow-listing under weights_only=True)."""
    buf = io.BytesIO()
    sg.save(obj, buf)
    _same(obj, sg.load(io.BytesIO(buf.getvalue()), weights_only=False))


def test_shared_tensors_stay_shared_and_requires_grad_is_kept(tmp_path):
    w = sg.randn(3, 3, requires_grad=True)
    back = _roundtrip({"a": w, "b": [w]}, tmp_path)
    assert back["a"] is back["b"][0] and back["a"].requires_grad
    np.testing.assert_array_equal(back["a"].detach().numpy(), w.detach().numpy())


def test_file_objects_and_map_location(tmp_path):
    buf = io.BytesIO()
    sg.save({"x": sg.ones(2)}, buf, format="safetensors")
    buf.seek(0)
    assert sg.load(buf, map_location="cpu")["x"].tolist() == [1.0, 1.0]
    assert sg.load(io.BytesIO(buf.getvalue()), map_location=sg.device("cpu"))["x"].shape == (2,)
    with pytest.raises(RuntimeError, match="dict map_location is not supported"):
        sg.load(io.BytesIO(buf.getvalue()), map_location={"cuda:0": "cpu"})


def test_save_rejects_unsupported_objects(tmp_path):
    path = tmp_path / "bad.safetensors"
    with pytest.raises(TypeError, match=r"type set at obj\['a'\]\[1\]"):
        sg.save({"a": [1, {2}]}, path)
    with pytest.raises(TypeError, match="dict keys of type str or int.*float key 1.5"):
        sg.save({1.5: 1}, path)
    with pytest.raises(TypeError, match="dtype complex128"):
        sg.save(np.zeros(2, complex), path)
    cyc: list = []
    cyc.append(cyc)
    with pytest.raises(ValueError, match="cyclic"):
        sg.save(cyc, path)
    assert os.listdir(tmp_path) == []
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sg.save({}, tmp_path / "missing" / "x.safetensors")


def test_failed_save_keeps_old_file_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    sg.save({"v": sg.ones(3)}, path)
    with pytest.raises(TypeError):
        sg.save({"v": object()}, path)
    assert sg.load(path)["v"].tolist() == [1.0, 1.0, 1.0]
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


# ---------------------------------------------------------------------- interop
@needs_safetensors
def test_flat_state_dict_is_a_plain_safetensors_file(tmp_path):
    path = tmp_path / "m.safetensors"
    sd = {"fc.weight": sg.randn(3, 2), "fc.bias": sg.zeros(3), "steps": sg.tensor([4])}
    sg.save(sd, path)
    other = st_numpy.load_file(str(path))
    assert set(other) == set(sd)
    for k, t in sd.items():
        np.testing.assert_array_equal(other[k], t.numpy())
        assert other[k].dtype == t.numpy().dtype


@needs_safetensors
def test_loads_pytorch_written_safetensors(tmp_path):
    path = tmp_path / "torch.safetensors"
    g, f32 = torch.Generator().manual_seed(0), torch.float32  # explicit: tests may change
    sd = {"w32": torch.randn(4, 3, generator=g, dtype=f32),  # torch's default dtype
          "w64": torch.randn(2, dtype=torch.float64),
          "h": torch.randn(5, generator=g, dtype=f32).half(),
          "b": torch.randn(3, 2, generator=g, dtype=f32).bfloat16(),
          "i": torch.arange(5), "m": torch.tensor([True, False]),
          "u": torch.tensor([255], dtype=torch.uint8),
          "i32": torch.tensor([-1, 2], dtype=torch.int32), "scalar": torch.tensor(2.0, dtype=f32)}
    st_torch.save_file(sd, str(path), metadata={"format": "pt"})
    back = sg.load(path)
    assert set(back) == set(sd)
    expect = {"w32": sg.float32, "w64": sg.float64, "h": sg.float16, "b": sg.float32,
              "i": sg.int64, "m": sg.bool, "u": sg.uint8, "i32": sg.int32, "scalar": sg.float32}
    for k, t in sd.items():
        assert back[k].dtype == expect[k], k
        ref = t.float().numpy() if k == "b" else t.numpy()
        assert back[k].shape == tuple(t.shape)
        np.testing.assert_array_equal(back[k].numpy(), ref)


def _write_plain(path, tensors: dict, pad: bool = False) -> None:
    """A safetensors file written from the format description, independently of softgrad."""
    codes = {np.dtype("<u2"): "U16", np.dtype("<u4"): "U32", np.dtype("<u8"): "U64",
             np.dtype("u1"): "U8", np.dtype("<f4"): "F32", np.dtype("<i8"): "I64"}
    header, data = {}, b""
    for name, arr in tensors.items():
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": codes[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)


def test_reads_hand_written_file_with_unaligned_and_unsigned_data(tmp_path):
    path = tmp_path / "plain.safetensors"
    _write_plain(path, {"flag": np.array([7], np.uint8), "x": np.array([1.5, -2.0], np.float32),
                        "u16": np.array([65535], np.uint16), "u32": np.array([4e9], np.uint32),
                        "u64": np.array([2 ** 40], np.uint64)})
    back = sg.load(path)
    assert list(back) == ["flag", "x", "u16", "u32", "u64"]
    assert back["x"].tolist() == [1.5, -2.0] and back["flag"].tolist() == [7]
    assert back["u16"].dtype == sg.int32 and back["u16"].tolist() == [65535]
    assert back["u32"].dtype == sg.int64 and back["u32"].tolist() == [4_000_000_000]
    assert back["u64"].tolist() == [2 ** 40]
    _write_plain(path, {"u64": np.array([2 ** 63 + 1], np.uint64)})
    with pytest.raises(CheckpointError, match="beyond int64"):
        sg.load(path)


def test_loads_npz_without_pickle(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, w=np.ones((2, 2), np.float32), idx=np.arange(3), names=np.array(["a", "b"]))
    back = sg.load(path)
    assert back["w"].dtype == sg.float32 and back["idx"].dtype == sg.int64
    assert back["names"].tolist() == ["a", "b"]
    np.savez(path, obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="npz"):
        sg.load(path)


@needs_safetensors
def test_torch_save_file_is_read(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    assert sg.load(path)["w"].tolist() == [1.0, 1.0]


# ---------------------------------------------------------------------- hostile files
class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_pickle_payload_is_never_executed(tmp_path, protocol):
    live = tmp_path / "live_marker"
    pickle.loads(pickle.dumps(_Exploit(str(live)), protocol=protocol)).close()
    assert live.exists()  # the payload really runs when unpickled
    marker = tmp_path / "marker"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"w": _Exploit(str(marker))}, protocol=protocol))
    with pytest.raises(CheckpointError, match="plain pickle file"):
        sg.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("payload", [b"", b"abc", os.urandom(4096),
                                     (10).to_bytes(8, "little") + b"[1,2,3]   ",
                                     (4).to_bytes(8, "little") + b"{}  " + b"x",
                                     b"PK\x03\x04" + os.urandom(60)])
def test_garbage_files_give_clear_errors(tmp_path, payload):
    path = tmp_path / "junk"
    path.write_bytes(payload)
    with pytest.raises(CheckpointError):
        sg.load(path)


def test_truncation_fuzz(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    sg.save(_optimizer_like_state(), path)
    blob = path.read_bytes()
    cut = tmp_path / "cut"
    offsets = np.random.default_rng(0).integers(0, len(blob), 200)
    for k in offsets:
        cut.write_bytes(blob[:k])
        with pytest.raises(CheckpointError):
            sg.load(cut)
    cut.write_bytes(blob + b"\0")
    with pytest.raises(CheckpointError, match="trailing bytes"):
        sg.load(cut)


def test_byte_flip_fuzz(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    obj = _optimizer_like_state()
    sg.save(obj, path)
    blob = bytearray(path.read_bytes())
    rng = np.random.default_rng(1)
    bad = tmp_path / "bad"
    caught = 0
    for _ in range(200):
        flipped = bytearray(blob)
        i = int(rng.integers(0, len(blob)))
        flipped[i] ^= int(rng.integers(1, 256))
        bad.write_bytes(bytes(flipped))
        try:
            back = sg.load(bad)
        except CheckpointError:
            caught += 1
        else:  # only harmless changes (e.g. JSON whitespace padding) may load
            _same(obj, back)
    assert caught >= 190


# ---------------------------------------------------------------------- crash safety
_WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    import softgrad as sg
    path, big = sys.argv[1], np.zeros(3_000_000, np.float32)
    x = big if path.endswith(".safetensors") else sg.from_numpy(big)
    i = 0
    while True:
        big[:] = i
        sg.save({"i": i, "x": x, "tail": [i] * 100}, path)
        print(i, flush=True)
        i += 1
""")


def _temp_files(folder) -> list:
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


@pytest.mark.parametrize("name", ["ckpt.safetensors", "ckpt.pt"])
def test_sigkill_during_save_leaves_a_readable_checkpoint(tmp_path, name):
    path = tmp_path / name
    root = os.path.dirname(os.path.dirname(os.path.abspath(sg.__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    torn = 0
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)],
                                stdout=subprocess.PIPE, env=env)
        proc.stdout.readline()  # one full save has finished
        deadline = time.monotonic() + 5.0
        while not _temp_files(tmp_path) and time.monotonic() < deadline:
            pass  # wait until the next save is writing its temporary file, then kill it
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        back = sg.load(path)
        i = back["i"]
        assert back["tail"] == [i] * 100
        assert (back["x"] == i).all()
        leftovers = _temp_files(tmp_path)
        torn += bool(leftovers)
        for leftover in leftovers:
            os.unlink(tmp_path / leftover)
        if torn >= 2:
            break
    assert torn >= 1  # kills landed in the middle of a write
