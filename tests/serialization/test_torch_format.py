"""PyTorch's file format both ways: files torch.save writes load in softgrad in a process
where PyTorch cannot be imported; files sg.save writes load in torch.load(weights_only=True);
map_location, mmap and weights_only mean what they mean in torch.load."""
from __future__ import annotations

import collections
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import softgrad as sg
from softgrad.serialization import CheckpointError, WeightsUnpicklingError
from tests.helpers.checks import edit_pickle

torch = pytest.importorskip("torch")

Pair = collections.namedtuple("Pair", "first second")


@pytest.fixture(autouse=True)
def _torch_float32_default():
    """Other tests may change PyTorch's default dtype; these compare float32 files."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield
    torch.set_default_dtype(old)


def _net_class(nn, cat):
    """The same stack of standard layers in PyTorch or softgrad (PyTorch's names)."""
    ns = {"nn": nn, "cat": cat}
    exec(_NET_SOURCE, ns)
    return ns["Net"]


_NET_SOURCE = textwrap.dedent("""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.fc = nn.Linear(4 * 5 * 5, 16)
            self.ln = nn.LayerNorm(16)
            self.emb = nn.Embedding(10, 16)
            self.lstm = nn.LSTM(16, 8, num_layers=2, batch_first=True, bidirectional=True)
            self.gru = nn.GRU(16, 8, batch_first=True)
            self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
            self.enc = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
            self.head = nn.Linear(16 + 16 + 8, 3)

        def forward(self, img, tokens):
            h = self.ln(self.fc(self.bn(self.conv(img)).relu().flatten(1)))
            seq = self.emb(tokens) + h[:, None, :]
            seq, _ = self.attn(seq, seq, seq)
            seq = self.enc(seq)
            a, _ = self.lstm(seq)
            b, _ = self.gru(seq)
            return self.head(cat([h, a[:, -1], b[:, -1]], dim=1))
""")


def _softgrad_net():
    return _net_class(sg.nn, sg.cat)()


def _torch_net():
    torch.manual_seed(0)
    net = _net_class(torch.nn, torch.cat)()
    net.train()
    net(torch.randn(4, 2, 5, 5), torch.randint(0, 10, (4, 6)))  # moves BN running stats
    return net.eval()


def _inputs():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((3, 2, 5, 5)).astype(np.float32),
            rng.integers(0, 10, (3, 6)).astype(np.int64))


def _dtype_zoo() -> dict:
    g = torch.Generator().manual_seed(1)
    base = torch.arange(24, dtype=torch.float32)
    return {
        "f32": torch.randn(3, 4, generator=g), "f64": torch.randn(2, dtype=torch.float64),
        "f16": torch.randn(5, generator=g).half(), "bf16": torch.randn(3, generator=g).bfloat16(),
        "i8": torch.tensor([-3, 4], dtype=torch.int8),
        "i16": torch.tensor([300], dtype=torch.int16),
        "i32": torch.tensor([-5], dtype=torch.int32), "i64": torch.arange(5),
        "u8": torch.tensor([255], dtype=torch.uint8), "bool": torch.tensor([True, False]),
        "u16": torch.tensor([65535], dtype=torch.uint16),
        "u32": torch.tensor([4_000_000_000], dtype=torch.uint32),
        "u64": torch.tensor([2 ** 40], dtype=torch.uint64),
        "scalar": torch.tensor(2.5), "empty": torch.zeros(0, 3),
        "transposed": torch.randn(3, 4, generator=g).t(), "strided": base[1::3],
        "view": base[2:10].view(2, 4), "base": base, "expanded": torch.ones(1, 3).expand(4, 3),
        "param": torch.nn.Parameter(torch.randn(2, generator=g)),
        "requires_grad": torch.randn(2, generator=g).requires_grad_(),
    }


_WIDENED = {"bf16": np.float32, "u16": np.int32, "u32": np.int64, "u64": np.int64}

_READER = textwrap.dedent("""
    import json, sys
    sys.modules["torch"] = None  # `import torch` raises ImportError in this process
    import numpy as np
    import softgrad as sg

    folder = sys.argv[1]
    report = {}
    net = sg.load(folder + "/model.pt")
    report["model_type"] = type(net).__name__
    ns = {"nn": sg.nn, "cat": sg.cat}
    exec(json.loads(sys.argv[2]), ns)
    model = ns["Net"]()
    model.load_state_dict(net)
    model.eval()
    img, tokens = np.load(folder + "/img.npy"), np.load(folder + "/tokens.npy")
    with sg.no_grad():
        out = model(sg.from_numpy(img), sg.from_numpy(tokens))
    np.save(folder + "/softgrad_out.npy", out.numpy())

    ckpt = sg.load(folder + "/checkpoint.pth", map_location="cpu")
    opt = sg.optim.Adam(model.parameters(), lr=0.1)
    opt.load_state_dict(ckpt["optimizer"])
    sched = sg.optim.lr_scheduler.StepLR(opt, step_size=3)
    sched.load_state_dict(ckpt["scheduler"])
    report["epoch"], report["note"], report["flags"] = ckpt["epoch"], ckpt["note"], ckpt["flags"]
    report["lr"], report["last_epoch"] = opt.param_groups[0]["lr"], sched.last_epoch
    report["ckpt_types"] = [type(ckpt["model"]).__name__, type(ckpt["nested"]).__name__]
    report["nested"] = [ckpt["nested"]["t"][0], ckpt["nested"]["t"][1], ckpt["nested"]["none"]]
    report["exp_avg"] = [k for k in ckpt["optimizer"]["state"][0]]

    for name in ("dtypes.pt", "dtypes_legacy.pt"):
        zoo = sg.load(folder + "/" + name)
        np.savez(folder + "/" + name + ".npz",  # bfloat16 (with ml_dtypes) stored widened
                 **{k: (v.float() if str(v.dtype).endswith("bfloat16") else v).detach().numpy()
                    for k, v in zoo.items()})
        report[name] = {k: [str(v.dtype), type(v).__name__, v.requires_grad]
                        for k, v in zoo.items()}
        zoo["base"][3] = 100.0  # views of one storage share memory after loading
        report[name]["shared"] = [float(zoo["view"][0, 1]), float(zoo["strided"][0])]
    report["torch_imported"] = sys.modules["torch"] is not None
    print(json.dumps(report))
""")


def test_files_written_by_torch_load_without_torch(tmp_path):
    net = _torch_net()
    torch.save(net.state_dict(), tmp_path / "model.pt")
    img, tokens = _inputs()
    np.save(tmp_path / "img.npy", img)
    np.save(tmp_path / "tokens.npy", tokens)
    with torch.no_grad():
        want = net(torch.from_numpy(img), torch.from_numpy(tokens)).numpy()
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    for _ in range(4):
        opt.zero_grad()
        net(torch.from_numpy(img), torch.from_numpy(tokens)).square().sum().backward()
        opt.step()
        sched.step()
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "epoch": 7, "note": "best",
                "flags": [True, None, 1.5], "nested": {"t": (1, "a"), "none": None}},
               tmp_path / "checkpoint.pth")
    zoo = _dtype_zoo()
    torch.save(zoo, tmp_path / "dtypes.pt")
    torch.save(zoo, tmp_path / "dtypes_legacy.pt", _use_new_zipfile_serialization=False)

    root = os.path.dirname(os.path.dirname(os.path.abspath(sg.__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    done = subprocess.run([sys.executable, "-c", _READER, str(tmp_path), json.dumps(_NET_SOURCE)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["torch_imported"] is False
    assert report["model_type"] == "OrderedDict"
    np.testing.assert_allclose(np.load(tmp_path / "softgrad_out.npy"), want, rtol=1e-4,
                               atol=1e-5)
    assert (report["epoch"], report["note"], report["flags"]) == (7, "best", [True, None, 1.5])
    assert report["lr"] == opt.param_groups[0]["lr"] and report["last_epoch"] == 4
    assert report["ckpt_types"] == ["OrderedDict", "dict"]
    assert report["nested"] == [1, "a", None]
    assert set(report["exp_avg"]) == {"step", "exp_avg", "exp_avg_sq"}
    for name in ("dtypes.pt", "dtypes_legacy.pt"):
        got = np.load(tmp_path / f"{name}.npz")
        for key, t in zoo.items():
            ref = t.detach().float().numpy() if key == "bf16" else t.detach().numpy()
            assert got[key].shape == tuple(t.shape), (name, key)
            assert got[key].dtype == _WIDENED.get(key, ref.dtype), (name, key)
            np.testing.assert_array_equal(got[key], ref.astype(got[key].dtype))
        meta = report[name]
        assert meta["param"][1:] == ["Parameter", True]
        assert meta["requires_grad"][2] is True and meta["f32"][2] is False
        assert meta["shared"] == [100.0, 1.0]


# ---------------------------------------------------------------------- softgrad -> torch
def _softgrad_zoo() -> dict:
    sg.manual_seed(0)
    base = sg.arange(24).float()
    return {"f32": sg.randn(3, 4), "f64": sg.randn(2, dtype=sg.float64),
            "f16": sg.randn(5).half(), "i8": sg.tensor([-3, 4], dtype=sg.int8),
            "i16": sg.tensor([300], dtype=sg.int16), "i32": sg.tensor([-5], dtype=sg.int32),
            "i64": sg.arange(5), "u8": sg.tensor([255], dtype=sg.uint8),
            "bool": sg.tensor([True, False]), "scalar": sg.tensor(2.5),
            "empty": sg.zeros(0, 3), "transposed": sg.randn(3, 4).t(), "strided": base[1::3],
            "view": base[2:10].view(2, 4), "base": base, "expanded": sg.ones(1, 3).expand(4, 3),
            "reversed": sg.from_numpy(np.arange(5.0, dtype=np.float32)[::-1]),
            "param": sg.nn.Parameter(sg.randn(2)), "requires_grad": sg.randn(2, requires_grad=True)}


def test_files_written_by_softgrad_load_in_torch_weights_only(tmp_path):
    zoo = _softgrad_zoo()
    sg.save(zoo, tmp_path / "zoo.pt")
    back = torch.load(tmp_path / "zoo.pt", weights_only=True)
    assert list(back) == list(zoo)
    for key, t in zoo.items():
        assert tuple(back[key].shape) == t.shape, key
        assert back[key].dtype == getattr(torch, t.dtype.name), key
        np.testing.assert_array_equal(back[key].detach().numpy(), t.detach().numpy())
    assert isinstance(back["param"], torch.nn.Parameter) and back["requires_grad"].requires_grad
    ptr = back["base"].untyped_storage().data_ptr()
    assert back["view"].untyped_storage().data_ptr() == ptr  # one storage, as saved
    assert back["strided"].untyped_storage().data_ptr() == ptr
    back["base"][3] = 100.0
    assert back["view"][0, 1] == 100.0 and back["strided"][1] == 4.0
    assert zipfile.ZipFile(tmp_path / "zoo.pt").namelist()[0] == "zoo/data.pkl"


def test_state_dict_round_trip_between_torch_and_softgrad_models(tmp_path):
    net = _torch_net()
    ours = _softgrad_net()
    torch.save(net.state_dict(), tmp_path / "t.pth")
    ours.load_state_dict(sg.load(tmp_path / "t.pth"))
    ours.eval()
    sg.save(ours.state_dict(), tmp_path / "s.pth")
    fresh = _net_class(torch.nn, torch.cat)().eval()
    fresh.load_state_dict(torch.load(tmp_path / "s.pth", weights_only=True))
    img, tokens = _inputs()
    with torch.no_grad():
        want = net(torch.from_numpy(img), torch.from_numpy(tokens)).numpy()
        again = fresh(torch.from_numpy(img), torch.from_numpy(tokens)).numpy()
    with sg.no_grad():
        got = ours(sg.from_numpy(img), sg.from_numpy(tokens)).numpy()
    np.testing.assert_array_equal(again, want)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_softgrad_checkpoint_resumes_in_torch(tmp_path):
    """An optimizer and scheduler state saved by softgrad drive PyTorch's Adam/StepLR."""
    sg.manual_seed(0)
    model = sg.nn.Linear(3, 2)
    opt = sg.optim.Adam(model.parameters(), lr=0.1)
    sched = sg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    x = sg.randn(5, 3)
    for _ in range(3):
        opt.zero_grad()
        (model(x) ** 2).sum().backward()
        opt.step()
        sched.step()
    sg.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "epoch": 3}, tmp_path / "ckpt.pt")
    ck = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    twin = torch.nn.Linear(3, 2)
    twin.load_state_dict(ck["model"])
    topt = torch.optim.Adam(twin.parameters(), lr=0.1)
    topt.load_state_dict(ck["optimizer"])
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=2, gamma=0.5)
    tsched.load_state_dict(ck["scheduler"])
    assert ck["epoch"] == 3 and tsched.last_epoch == 3
    for o, m, inp in ((opt, model, x), (topt, twin, torch.from_numpy(x.numpy()))):
        o.zero_grad()
        (m(inp) ** 2).sum().backward()
        o.step()
    np.testing.assert_allclose(twin.weight.detach().numpy(), model.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- torch.load semantics
def _torch_file(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _loads(loader, blob, **kw):
    try:
        loader(io.BytesIO(blob), **kw)
    except pickle.UnpicklingError:
        return False
    return True


_SEMANTICS = {
    "tensors": {"w": torch.ones(2), "n": 3, "s": "x", "f": float("nan")},
    "ordered_dict": collections.OrderedDict(a=torch.zeros(1)),
    "nested": [(1, 2.5), {"k": [None, True]}],
    "set": {1, 2},
    "complex": 1 + 2j,
    "bytes": b"abc",
    "bytearray": bytearray(b"ab"),
    "counter": collections.Counter("aab"),
    "dtype": torch.float16,
    "device": torch.device("cpu"),
    "size": torch.Size([2, 3]),
    "big_int": 2 ** 100,
    "parameter": torch.nn.Parameter(torch.ones(2)),
    "frozenset": frozenset({1}),
    "namedtuple": Pair(1, 2),
    "numpy": np.arange(3),
    "slice": slice(1, 2),
    "defaultdict": collections.defaultdict(list),
    "torch_module": torch.nn.Linear(2, 2),
}


@pytest.mark.parametrize("name", sorted(_SEMANTICS))
def test_weights_only_accepts_and_refuses_what_torch_does(name):
    blob = _torch_file(_SEMANTICS[name])
    torch_ok = _loads(torch.load, blob, weights_only=True)
    ours_ok = _loads(sg.load, blob)  # weights_only=True is the default in both
    assert ours_ok == torch_ok, (name, torch_ok)
    if not torch_ok:
        with pytest.raises(WeightsUnpicklingError, match="GLOBAL .* was not an allowed global"):
            sg.load(io.BytesIO(blob))


def test_namedtuples_load_when_allowed_or_with_weights_only_false():
    blob = _torch_file({"pair": Pair(1, "b")})
    with pytest.raises(WeightsUnpicklingError, match=f"{Pair.__module__}.Pair"):
        sg.load(io.BytesIO(blob))
    with sg.serialization.safe_globals([Pair]), torch.serialization.safe_globals([Pair]):
        assert sg.load(io.BytesIO(blob))["pair"] == Pair(1, "b")
        assert torch.load(io.BytesIO(blob), weights_only=True)["pair"] == Pair(1, "b")
    assert sg.serialization.get_safe_globals() == []
    back = sg.load(io.BytesIO(blob), weights_only=False)["pair"]
    assert type(back) is Pair and back.second == "b"


def test_numpy_arrays_need_weights_only_false():
    blob = _torch_file({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.float64(2.5)})
    with pytest.raises(WeightsUnpicklingError, match="numpy"):
        sg.load(io.BytesIO(blob))
    back = sg.load(io.BytesIO(blob), weights_only=False)
    np.testing.assert_array_equal(back["a"], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert back["s"] == np.float64(2.5) and isinstance(back["s"], np.float64)


def test_torch_modules_are_refused_even_with_weights_only_false():
    blob = _torch_file(torch.nn.Linear(2, 2))
    with pytest.raises(WeightsUnpicklingError, match="torch.nn.modules.linear.Linear.*state_dict"):
        sg.load(io.BytesIO(blob), weights_only=False)


def _with_location(blob: bytes, location: str) -> bytes:
    """The same torch.save file with every storage tagged ``location`` (as saved on a GPU)."""
    tag = location.encode()
    return edit_pickle(blob, b"X\x03\x00\x00\x00cpu", b"X" + len(tag).to_bytes(4, "little") + tag)


def test_map_location_forms():
    blob = _with_location(_torch_file({"w": torch.arange(3.0), "b": torch.ones(2)}), "cuda:1")
    if not sg.cuda.is_available():
        with pytest.raises(RuntimeError, match="map_location"):
            sg.load(io.BytesIO(blob))
    seen = []

    def record(storage, location):
        seen.append((location, storage.size()))
        return storage.cpu()

    for where in ("cpu", sg.device("cpu"), torch.device("cpu"), {"cuda:1": "cpu"},
                  lambda storage, location: storage, record):
        back = sg.load(io.BytesIO(blob), map_location=where)
        assert back["w"].tolist() == [0.0, 1.0, 2.0] and back["w"].device == "cpu"
    assert sorted(seen) == [("cuda:1", 2), ("cuda:1", 3)]
    if not sg.cuda.is_available():
        with pytest.raises(RuntimeError, match="map_location"):
            sg.load(io.BytesIO(blob), map_location=lambda storage, location: None)
        with pytest.raises(RuntimeError, match="map_location"):
            sg.load(io.BytesIO(_torch_file(torch.ones(1))), map_location="cuda")
    with pytest.raises(RuntimeError, match="tagged with 'mps'"):
        sg.load(io.BytesIO(_with_location(_torch_file(torch.ones(1)), "mps")))


def test_mmap_maps_the_file_copy_on_write(tmp_path):
    path = tmp_path / "big.pt"
    torch.save({"w": torch.arange(1000.0), "v": torch.arange(10)}, path)
    before = path.read_bytes()
    back = sg.load(path, mmap=True)
    assert back["w"].tolist() == list(map(float, range(1000))) and back["v"].sum().item() == 45
    back["w"][0] = -1.0  # writes stay private to this process
    assert back["w"][0].item() == -1.0 and path.read_bytes() == before
    with pytest.raises(ValueError, match="file path"):
        sg.load(io.BytesIO(before), mmap=True)


def test_softgrad_tensors_survive_torch_then_softgrad_again(tmp_path):
    """softgrad -> torch.load -> torch.save -> softgrad: values, dtypes and sharing kept."""
    zoo = _softgrad_zoo()
    sg.save(zoo, tmp_path / "a.pt")
    torch.save(torch.load(tmp_path / "a.pt", weights_only=True), tmp_path / "b.pt")
    back = sg.load(tmp_path / "b.pt")
    for key, t in zoo.items():
        assert back[key].dtype == t.dtype and back[key].shape == t.shape, key
        np.testing.assert_array_equal(back[key].detach().numpy(), t.detach().numpy())
    back["base"][3] = 7.0
    assert back["view"][0, 1].item() == 7.0


def test_unsupported_dtypes_and_torchscript_give_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="complex64"):
        sg.load(io.BytesIO(_torch_file({"c": torch.ones(2, dtype=torch.complex64)})))
    with pytest.raises(CheckpointError, match="quint8"):
        q = torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.quint8)
        sg.load(io.BytesIO(_torch_file(q)))
    script = torch.jit.script(torch.nn.Linear(2, 2))
    buf = io.BytesIO()
    torch.jit.save(script, buf)
    with pytest.raises(CheckpointError, match="TorchScript"):
        sg.load(io.BytesIO(buf.getvalue()))


def test_get_unsafe_globals_in_checkpoint_lists_what_weights_only_refuses():
    blob = _torch_file({"m": torch.nn.Linear(1, 1), "p": Pair(1, 2), "w": torch.ones(1)})
    found = sg.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(blob))
    want = torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(blob))
    assert set(want) <= set(found) and f"{Pair.__module__}.Pair" in found
    assert "torch._utils._rebuild_tensor_v2" not in found


def test_big_endian_files_are_byte_swapped():
    """A file whose byteorder record says 'big' (written on a big-endian machine)."""
    from softgrad.serialization.torch_zip import pickle_for_torch

    values = np.array([[1.5, -2.0], [3.25, 1e-3]], np.float32)
    pickled, storages = pickle_for_torch({"w": sg.from_numpy(values), "n": sg.tensor([1, -2])})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickled)
        z.writestr("archive/byteorder", "big")
        for key, flat in storages:
            z.writestr(f"archive/data/{key}", flat.astype(flat.dtype.newbyteorder(">")).tobytes())
    back = sg.load(io.BytesIO(buf.getvalue()))
    np.testing.assert_array_equal(back["w"].numpy(), values)
    assert back["n"].tolist() == [1, -2] and back["w"].numpy().dtype.isnative


def test_bfloat16_arrays_are_written_as_pytorch_bfloat16():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    raw = np.array([1.5, -0.25, 3.0], dtype=ml_dtypes.bfloat16)
    buf = io.BytesIO()
    sg.save({"b": sg.Tensor._wrap(raw)}, buf)
    theirs = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)["b"]
    assert theirs.dtype == torch.bfloat16 and theirs.float().tolist() == [1.5, -0.25, 3.0]
    back = sg.load(io.BytesIO(buf.getvalue()))["b"]  # float32 unless softgrad has bfloat16
    assert back.float().tolist() == [1.5, -0.25, 3.0]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_legacy_files_of_any_pickle_protocol(protocol):
    buf = io.BytesIO()
    torch.save({"w": torch.arange(3.0), "v": torch.arange(6)[::2], "n": [1, "a"]}, buf,
               _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    back = sg.load(io.BytesIO(buf.getvalue()))
    assert back["w"].tolist() == [0.0, 1.0, 2.0] and back["v"].tolist() == [0, 2, 4]
    assert back["n"] == [1, "a"]
