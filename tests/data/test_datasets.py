"""softgrad.datasets: Split, splits and standardisation, bundled/generated sets, IDX readers."""
from __future__ import annotations

import gzip
import hashlib
import random
import struct
import sys

import numpy as np
import pytest

import softgrad as sg
from softgrad.datasets import (MNIST, FashionMNIST, IDXError, Split, Standardizer,
                               load_fashion_mnist, load_mnist, read_idx, train_test_split)
from softgrad.datasets import mnist as mnist_module
from softgrad.datasets import mnist1d as mnist1d_module
from softgrad.utils.data import DataLoader, TensorDataset


def _split(**kw) -> Split:
    base = {"x_train": np.zeros((4, 2)), "y_train": np.array([0, 1, 2, 1]),
            "x_test": np.ones((2, 2)), "y_test": np.array([2, 0]), "num_classes": 3,
            "name": "toy"}
    base.update(kw)
    return Split(**base)


# ---------------------------------------------------------------------- Split
def test_split_casts_and_wraps():
    s = _split()
    assert s.x_train.dtype == np.float32 and s.y_test.dtype == np.int64
    assert s.input_shape == (2,) and s.num_features == 2
    train, test = s.datasets()
    assert isinstance(train, TensorDataset) and len(train) == 4 and len(test) == 2
    xb, yb = next(iter(DataLoader(train, batch_size=4)))
    assert xb.dtype == sg.float32 and yb.dtype == sg.int64 and yb.tolist() == [0, 1, 2, 1]
    assert np.shares_memory(s.tensors()[0].numpy(), s.x_train)
    assert repr(s) == "Split(name='toy', train=(4, 2), test=(2, 2), num_classes=3)"
    small = s.take(2, 1)
    assert small.x_train.shape == (2, 2) and small.y_test.tolist() == [2]


@pytest.mark.parametrize("kw,match", [
    ({"y_train": np.array([0, 1, 3, 1])}, r"labels in \[0, 3\], outside \[0, 3\)"),
    ({"y_test": np.array([-1, 0])}, "outside"),
    ({"y_train": np.array([0, 1, 2])}, r"shape \(4, 2\) but y_train has 3 labels"),
    ({"y_train": np.array([0.0, 1, 2, 1])}, "integer"),
    ({"x_test": np.ones((2, 3))}, r"train samples have shape \(2,\) but test samples \(3,\)"),
])
def test_split_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        _split(**kw)


# ---------------------------------------------------------------------- standardisation
def test_standardizer_fits_on_train_only(rng):
    x_train = rng.normal(5.0, 3.0, (200, 3))
    x_train[:, 2] = 7.0  # a constant feature
    x_test = rng.normal(5.0, 3.0, (50, 3))
    scaler = Standardizer().fit(x_train)
    out = scaler.transform(x_train)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(0)[:2], 1.0, atol=1e-5)
    assert np.all(out[:, 2] == 0.0)
    expect = (x_test - x_train.mean(0)) / np.where(x_train.std(0) > 0, x_train.std(0), 1.0)
    np.testing.assert_allclose(scaler.transform(x_test), expect, rtol=1e-5, atol=1e-5)
    s = _split(x_train=x_train, y_train=np.zeros(200, int), x_test=x_test,
               y_test=np.zeros(50, int)).standardized()
    np.testing.assert_allclose(s.x_test, expect, rtol=1e-5, atol=1e-5)


def test_standardizer_global_and_errors(rng):
    x = rng.uniform(0, 1, (10, 1, 4, 4))
    g = Standardizer(per_feature=False).fit(x)
    assert g.mean.shape == () and abs(g.transform(x).mean()) < 1e-5
    with pytest.raises(RuntimeError, match="before fit"):
        Standardizer().transform(x)
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(3,\), got \(4,\)"):
        Standardizer().fit(np.zeros((2, 3))).transform(np.zeros((2, 4)))


# ---------------------------------------------------------------------- train_test_split
def test_train_test_split_partition_seed_and_strata():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    ids = np.arange(100)
    xtr, xte, ytr, yte = train_test_split(ids, y, test_size=0.25, seed=0)
    assert len(xte) == 25 and sorted(np.concatenate([xtr, xte]).tolist()) == list(range(100))
    np.testing.assert_array_equal(y[xtr], ytr)
    counts = np.bincount(yte, minlength=3)
    assert np.all(np.abs(counts - np.array([50, 30, 20]) * 0.25) < 1) and counts.sum() == 25
    again = train_test_split(ids, y, test_size=0.25, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip((xtr, xte, ytr, yte), again))
    other = train_test_split(ids, y, test_size=0.25, seed=1)
    assert not np.array_equal(other[1], xte)
    assert len(train_test_split(ids, y, test_size=7, stratify=False)[1]) == 7


def test_train_test_split_errors():
    with pytest.raises(ValueError, match="must lie in"):
        train_test_split(np.zeros(10), np.zeros(10, int), test_size=1.5)
    with pytest.raises(ValueError, match="both parts must be non-empty"):
        train_test_split(np.zeros(10), np.zeros(10, int), test_size=10)
    with pytest.raises(ValueError, match="x has 9 samples but y has 10"):
        train_test_split(np.zeros(9), np.zeros(10, int))


# ---------------------------------------------------------------------- bundled tables
# SHA-256 of the float64 features and int64 labels (the UCI values, as scikit-learn ships them)
BUNDLED = {"iris": ((150, 4), 3, "012f498fe9c8b3b3", "734737f111629912"),
           "wine": ((178, 13), 3, "8edcf3903afd97c6", "b6514e07a6d27854"),
           "breast_cancer": ((569, 30), 2, "6b202a2072f9a038", "1763c0f8cd3f454b"),
           "digits": ((1797, 64), 10, "20def7f70a702f0a", "a3c91c262eddcf7b")}


@pytest.mark.parametrize("name", list(BUNDLED))
def test_tabular_loaders(name):
    shape, classes = BUNDLED[name][:2]
    load = getattr(sg.datasets, "load_" + name)
    s = load()
    n_test = int(np.ceil(0.25 * shape[0]))
    assert s.name == name and s.num_classes == classes
    assert s.x_train.shape == (shape[0] - n_test, shape[1]) and s.x_test.shape == (n_test,
                                                                                   shape[1])
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int64
    np.testing.assert_allclose(s.x_train.mean(0), 0.0, atol=1e-4)
    assert set(np.unique(s.y_test)) == set(range(classes))
    again = load()
    np.testing.assert_array_equal(again.x_test, s.x_test)
    assert not np.array_equal(load(seed=1).y_train, s.y_train)
    raw = load(standardize=False)
    assert raw.x_train.min() >= 0.0  # all four sets have non-negative raw features
    raw.x_train[:] = -1  # callers get copies: the cached table is untouched
    assert load(standardize=False).x_train.min() >= 0.0


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled_tables_are_the_published_values(name):
    import hashlib

    from softgrad.datasets.tabular import _read

    x, y = _read(name)
    assert x.dtype == np.float64 and y.dtype == np.int64 and x.shape == BUNDLED[name][0]
    assert hashlib.sha256(x.tobytes()).hexdigest()[:16] == BUNDLED[name][2]
    assert hashlib.sha256(y.tobytes()).hexdigest()[:16] == BUNDLED[name][3]


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled_tables_equal_scikit_learns(name):
    datasets = pytest.importorskip("sklearn.datasets")
    from softgrad.datasets.tabular import _read

    x_ref, y_ref = getattr(datasets, "load_" + name)(return_X_y=True)
    x, y = _read(name)
    np.testing.assert_array_equal(x, x_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_tabular_loaders_need_no_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    assert sg.datasets.load_iris().x_train.shape == (112, 4)


# ---------------------------------------------------------------------- MNIST-1D
def test_mnist1d_is_deterministic_and_matches_the_package():
    data = pytest.importorskip("mnist1d.data")
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()
    mnist1d_module._generate.cache_clear()
    a = sg.datasets.load_mnist1d(num_samples=200, seed=3)
    mnist1d_module._generate.cache_clear()
    b = sg.datasets.load_mnist1d(num_samples=200, seed=3)
    assert np.array_equal(np.random.get_state()[1], np_state) and random.getstate() == py_state
    assert a.x_train.shape == (160, 40) and a.x_test.shape == (40, 40) and a.num_classes == 10
    assert a.x_train.dtype == np.float32 and a.y_train.dtype == np.int64
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    args = data.get_dataset_args()
    args.num_samples, args.seed = 200, 3
    ref = data.make_dataset(args)
    np.testing.assert_array_equal(a.x_train, ref["x"].astype(np.float32))
    np.testing.assert_array_equal(a.y_test, ref["y_test"])
    c = sg.datasets.load_mnist1d(num_samples=200, seed=4)
    assert not np.array_equal(c.x_train, a.x_train)


def test_mnist1d_defaults_and_cache_isolation():
    pytest.importorskip("mnist1d")
    s = sg.datasets.load_mnist1d()
    assert s.x_train.shape == (4000, 40) and s.x_test.shape == (1000, 40)
    assert np.bincount(s.y_train, minlength=10).min() > 300
    s.x_train[:] = 0.0  # callers may modify their copy without touching the cache
    assert np.abs(sg.datasets.load_mnist1d().x_train).sum() > 0
    short = sg.datasets.load_mnist1d(num_samples=100, final_seq_length=24, shuffle_seq=True)
    assert short.input_shape == (24,)


def test_mnist1d_errors(monkeypatch):
    with pytest.raises(TypeError, match=r"unknown arguments \['noise'\]"):
        sg.datasets.load_mnist1d(noise=1.0)
    with pytest.raises(ValueError, match="num_samples"):
        sg.datasets.load_mnist1d(num_samples=5)
    mnist1d_module._generate.cache_clear()
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    with pytest.raises(ImportError, match="mnist1d.*'experiments' extra"):
        sg.datasets.load_mnist1d(num_samples=30)


# ---------------------------------------------------------------------- IDX files
_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
          np.float64: 0x0E}


def _idx_bytes(arr: np.ndarray) -> bytes:
    """IDX encoding written from the format description (big-endian header and data)."""
    head = bytes([0, 0, _CODES[arr.dtype.type], arr.ndim])
    head += struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _write_idx(path, arr: np.ndarray, gz: bool) -> None:
    data = _idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.mark.parametrize("dtype", list(_CODES))
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip(tmp_path, rng, dtype, gz):
    arr = (rng.standard_normal((3, 4, 2)) * 50).astype(dtype)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    _write_idx(path, arr, gz)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative and out.flags.writeable
    np.testing.assert_array_equal(out, arr)


def test_read_idx_errors(tmp_path):
    good = _idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4))
    cases = {"magic": (b"\x00\x01" + good[2:], "bad magic number 0x0001"),
             "type": (good[:2] + b"\x07" + good[3:], "bad magic number"),
             "short": (good[:-1], r"shape \(3, 4\) \(12 bytes of data\).*11 bytes"),
             "header": (good[:6], "truncated IDX header"),
             "gzip": (gzip.compress(good)[:20], "corrupt gzip"),
             "empty": (b"", "bad magic number")}
    for name, (data, match) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(IDXError, match=match):
            read_idx(path)
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "missing")


# ---------------------------------------------------------------------- MNIST folders
def _fake_mnist(folder, n_train=6, n_test=4, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    data = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        suffix = ".gz" if gz else ""
        _write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, gz)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz)
        data[prefix] = (images, labels)
    return data


def test_mnist_dataset_from_torchvision_layout(tmp_path):
    data = _fake_mnist(tmp_path / "MNIST" / "raw")
    ds = MNIST(tmp_path, train=True)
    assert len(ds) == 6 and ds.data.dtype == sg.uint8 and ds.targets.dtype == sg.int64
    img, label = ds[2]
    assert img.shape == (1, 28, 28) and img.dtype == sg.float32 and isinstance(label, int)
    np.testing.assert_allclose(img.numpy()[0], data["train"][0][2] / 255.0, rtol=1e-6)
    assert label == int(data["train"][1][2])
    flipped = MNIST(tmp_path, train=False, transform=lambda t: 1.0 - t,
                    target_transform=lambda y: y + 100)
    img, label = flipped[0]
    assert len(flipped) == 4 and label == int(data["t10k"][1][0]) + 100
    np.testing.assert_allclose(img.numpy()[0], 1.0 - data["t10k"][0][0] / 255.0, rtol=1e-6)
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and yb.dtype == sg.int64


def test_load_mnist_split_variants(tmp_path):
    data = _fake_mnist(tmp_path, gz=False)  # raw files directly in root
    s = load_mnist(tmp_path)
    assert s.name == "mnist" and s.x_train.shape == (6, 1, 28, 28) and s.x_test.shape[0] == 4
    assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0
    np.testing.assert_array_equal(s.y_test, data["t10k"][1].astype(np.int64))
    flat = load_mnist(tmp_path, flatten=True, standardize=True)
    assert flat.x_train.shape == (6, 784) and abs(float(flat.x_train.mean())) < 1e-4
    _fake_mnist(tmp_path / "FashionMNIST", n_train=3, n_test=2, seed=1)
    fs = load_fashion_mnist(tmp_path)
    assert fs.name == "fashionmnist" and fs.x_train.shape == (3, 1, 28, 28)
    assert FashionMNIST(tmp_path).classes[9] == "Ankle boot"


def test_mnist_missing_and_inconsistent_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte\(.gz\).*download=True"):
        MNIST(tmp_path)
    folder = tmp_path / "MNIST"
    _fake_mnist(folder)
    _write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8), True)
    with pytest.raises(IDXError, match=r"images \(6, 28, 28\) and labels \(5,\)"):
        MNIST(tmp_path)
    _write_idx(folder / "train-labels-idx1-ubyte.gz", np.full(6, 12, np.uint8), True)
    with pytest.raises(IDXError, match="labels outside 0..9"):
        MNIST(tmp_path)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(IDXError, match="corrupt gzip"):
        MNIST(tmp_path, train=False)


def _mirror(tmp_path, monkeypatch, corrupt: bool = False):
    """A local file:// mirror holding small MNIST files; returns the fake data."""
    mirror = tmp_path / "mirror"
    data = _fake_mnist(mirror)
    md5 = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in mirror.iterdir()}
    if corrupt:
        md5 = dict.fromkeys(md5, "0" * 32)
    source = {"mirrors": [(tmp_path / "nowhere").as_uri() + "/", mirror.as_uri() + "/"],
              "md5": md5}
    monkeypatch.setitem(mnist_module.SOURCES, "MNIST", source)
    return data


def test_download_from_mirrors_is_checked_and_atomic(tmp_path, monkeypatch):
    data = _mirror(tmp_path, monkeypatch)
    root = tmp_path / "root"
    s = load_mnist(root, download=True)  # first mirror fails, the second one serves
    np.testing.assert_array_equal(s.y_train, data["train"][1])
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(
        mnist_module.SOURCES["MNIST"]["md5"])
    assert len(MNIST(root, train=False, download=True)) == 4  # already there: no refetch


def test_download_checksum_mismatch_leaves_nothing(tmp_path, monkeypatch):
    _mirror(tmp_path, monkeypatch, corrupt=True)
    root = tmp_path / "root"
    with pytest.raises(RuntimeError, match="(?s)could not download.*checksum mismatch"):
        MNIST(root, download=True)
    assert list((root / "MNIST" / "raw").iterdir()) == []
