"""MNIST and Fashion-MNIST from the standard IDX files in a local folder.

Files are looked up as ``<root>/<Name>/raw/<file>`` (torchvision's layout), ``<root>/<Name>/``
and ``<root>/``, each as ``.gz`` or uncompressed. Nothing is downloaded unless
``download=True``; downloads try each mirror in turn, check the published MD5 and are written
atomically, so an interrupted download never leaves a partial file behind.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

from softgrad import backend
from softgrad.datasets.idx import IDXError, read_idx
from softgrad.datasets.split import Split
from softgrad.serialization import atomic_write
from softgrad.tensor import Tensor
from softgrad.utils.data import Dataset

np = backend.np

_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
SOURCES: dict[str, dict[str, Any]] = {
    "MNIST": {
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "http://yann.lecun.com/exdb/mnist/"],
        "md5": {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
    },
    "FashionMNIST": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                    ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                     "data/fashion/")],
        "md5": {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
    },
}


def _folders(root: Any, name: str) -> list[str]:
    root = os.fspath(root)
    return [os.path.join(root, name, "raw"), os.path.join(root, name), root]


def _find(root: Any, name: str, base: str) -> str | None:
    for folder in _folders(root, name):
        for fname in (base + ".gz", base):
            path = os.path.join(folder, fname)
            if os.path.isfile(path):
                return path
    return None


def _fetch(url: str, dest: str, md5: str) -> None:
    import urllib.request  # only needed for downloads; slow to import

    digest = hashlib.md5(usedforsecurity=False)

    def write(fh: Any) -> None:
        with urllib.request.urlopen(url, timeout=60) as resp:
            for chunk in iter(lambda: resp.read(1 << 20), b""):
                digest.update(chunk)
                fh.write(chunk)
        if digest.hexdigest() != md5:
            raise OSError(f"checksum mismatch for {url}: MD5 {digest.hexdigest()}, "
                          f"expected {md5}")

    atomic_write(dest, write)


def download(name: str, root: Any) -> None:
    """Fetch the four IDX files of ``name`` ('MNIST' or 'FashionMNIST') into root/name/raw."""
    source = SOURCES[name]
    folder = _folders(root, name)[0]
    os.makedirs(folder, exist_ok=True)
    for fname, md5 in source["md5"].items():
        if _find(root, name, fname[:-3]) is not None:
            continue
        errors = []
        for mirror in source["mirrors"]:
            try:
                _fetch(mirror + fname, os.path.join(folder, fname), md5)
                break
            except OSError as exc:  # URLError and HTTPError are OSErrors
                errors.append(f"{mirror}: {exc}")
        else:
            raise RuntimeError(f"could not download {fname} for {name}:\n  " +
                               "\n  ".join(errors))


def read_split(name: str, root: Any, train: bool, download_: bool = False) -> tuple:
    """``(images uint8 (N, 28, 28), labels int64 (N,))`` of one part of MNIST/Fashion-MNIST."""
    if download_:
        download(name, root)
    paths = []
    for base in _FILES[train]:
        path = _find(root, name, base)
        if path is None:
            where = ", ".join(_folders(root, name))
            raise FileNotFoundError(
                f"{name} file {base}(.gz) not found (looked in {where}); pass download=True "
                f"to fetch it from {SOURCES[name]['mirrors'][0]}, or place the IDX files there")
        paths.append(path)
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise IDXError(f"{name}: images {images.shape} and labels {labels.shape} do not match "
                       f"(expected (N, H, W) and (N,))")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise IDXError(f"{name}: labels outside 0..9 in {paths[1]}")
    return images, labels.astype(np.int64)


class MNIST(Dataset):
    """MNIST handwritten digits (60000 train / 10000 test, 28x28, 10 classes).

    Args:
        root: folder holding the IDX files (see module docs for the layout searched).
        train: the training part (True) or the test part. Default: True.
        transform: applied to each image tensor; target_transform: to each label.
        download: fetch missing files from the usual mirrors. Default: False.
    Each item is ``(image, label)``: a float32 tensor of shape (1, 28, 28) in [0, 1] (what
    torchvision gives after ``ToTensor()``) and an int. ``data`` (uint8) and ``targets``
    (int64) hold the whole part as tensors.
    """

    name = "MNIST"
    classes = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine")

    def __init__(self, root: Any, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        images, labels = read_split(self.name, root, train, download)
        self.root, self.train = os.fspath(root), train
        self.transform, self.target_transform = transform, target_transform
        self.data, self.targets = Tensor._wrap(images), Tensor._wrap(labels)

    def __getitem__(self, index: int) -> tuple:
        img = Tensor._wrap((self.data._data[index][None] / np.float32(255)).astype(np.float32))
        target = int(self.targets._data[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.targets)


class FashionMNIST(MNIST):
    """Fashion-MNIST: Zalando article images in MNIST's format (same API as :class:`MNIST`)."""

    name = "FashionMNIST"
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")


def _load(name: str, root: Any, download: bool, flatten: bool, standardize: bool) -> Split:
    parts = []
    for train in (True, False):
        images, labels = read_split(name, root, train, download and train)
        x = images.astype(np.float32) / np.float32(255)
        parts += [x.reshape(len(x), -1) if flatten else x[:, None], labels]
    x_train, y_train, x_test, y_test = parts
    split = Split(x_train, y_train, x_test, y_test, num_classes=10, name=name.lower())
    return split.standardized(per_feature=False) if standardize else split


def load_mnist(root: Any, download: bool = False, flatten: bool = False,
               standardize: bool = False) -> Split:
    """MNIST as a :class:`Split`: pixels scaled to [0, 1], shape (N, 1, 28, 28) or (N, 784).

    Args:
        root: folder holding the IDX files.
        download: fetch missing files first. Default: False.
        flatten: return (N, 784) features instead of (N, 1, 28, 28) images. Default: False.
        standardize: subtract the training mean and divide by the training std (one value
            for all pixels). Default: False.
    """
    return _load("MNIST", root, download, flatten, standardize)


def load_fashion_mnist(root: Any, download: bool = False, flatten: bool = False,
                       standardize: bool = False) -> Split:
    """Fashion-MNIST as a :class:`Split` (same arguments as :func:`load_mnist`)."""
    return _load("FashionMNIST", root, download, flatten, standardize)
