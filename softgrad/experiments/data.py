"""The datasets the experiments and ``softgrad train`` use, by name.

breast_cancer and digits ship with softgrad (:mod:`softgrad.datasets.tabular`), MNIST-1D is
generated locally (the ``mnist1d`` package), MNIST is read from IDX files when they are present
(``data_dir``, default ``$SOFTGRAD_DATA`` or ``./data``); nothing is downloaded unless asked.
``sequence`` is a generated token task for sequence models (:func:`make_sequence_task`).
"""
from __future__ import annotations

import os
from typing import Any

import softgrad as sg
from softgrad import backend
from softgrad.datasets import Split

DATASETS = ("breast_cancer", "digits", "mnist1d", "mnist", "sequence")
DEFAULT_DATASETS = ("breast_cancer", "digits", "mnist1d")
MNIST_SUBSET = (10000, 2000)  # training / test samples used from MNIST, to keep runs short
SEQUENCE_VOCAB, SEQUENCE_LENGTH = 8, 16


def make_sequence_task(n_train: int = 4000, n_test: int = 1000, vocab: int = SEQUENCE_VOCAB,
                       length: int = SEQUENCE_LENGTH, seed: int = 0) -> Split:
    """A generated sequence task: which token occurs most often in a random sequence?

    Tokens are drawn uniformly from ``range(vocab)``; sequences whose most frequent token is
    tied are redrawn, so every label is unambiguous. Features are the tokens as float32
    (``(N, length)``), labels the majority token (``vocab`` classes).
    """
    rng = backend.np.random.default_rng(seed)
    need, xs = n_train + n_test, []
    while need > 0:
        x = rng.integers(0, vocab, size=(2 * need + 16, length))
        counts = (x[:, :, None] == backend.np.arange(vocab)).sum(axis=1)
        top = backend.np.sort(counts, axis=1)
        x = x[top[:, -1] > top[:, -2]][:need]
        xs.append(x)
        need -= len(x)
    x = backend.np.concatenate(xs)
    y = (x[:, :, None] == backend.np.arange(vocab)).sum(axis=1).argmax(axis=1)
    return Split(x[:n_train], y[:n_train], x[n_train:], y[n_train:], vocab, "sequence")


def default_data_dir() -> str:
    """``$SOFTGRAD_DATA`` when set, else ``./data``."""
    return os.environ.get("SOFTGRAD_DATA", "data")


def mnist_available(data_dir: Any = None) -> bool:
    """Whether MNIST's four IDX files can be found under ``data_dir``."""
    from softgrad.datasets.mnist import _FILES, _find

    root = default_data_dir() if data_dir is None else data_dir
    return all(_find(root, "MNIST", base) is not None
               for bases in _FILES.values() for base in bases)


def missing_requirement(name: str, data_dir: Any = None, download: bool = False) -> str | None:
    """Why dataset ``name`` cannot be loaded here (a missing package or missing files), in
    words, or None when it can."""
    if name == "mnist1d":
        import importlib.util

        if importlib.util.find_spec("mnist1d") is None:
            return ("needs the mnist1d package, which is not installed "
                    "(pip install 'softgrad[experiments]')")
    if name == "mnist" and not download and not mnist_available(data_dir):
        root = default_data_dir() if data_dir is None else data_dir
        return (f"needs MNIST's four IDX files, which are not in {root}, "
                f"{os.path.join(root, 'MNIST')} or {os.path.join(root, 'MNIST', 'raw')}")
    return None


def load_dataset(name: str, data_dir: Any = None, quick: bool = False, seed: int = 0,
                 image: bool = False, num_samples: int | None = None,
                 download: bool = False) -> Split:
    """A dataset by name, standardised on its training part.

    Args:
        name: one of :data:`DATASETS`.
        data_dir: where MNIST's IDX files are (default :func:`default_data_dir`).
        quick: a smaller version (fewer MNIST-1D/MNIST samples) for smoke runs.
        seed: seed of the train/test split of the tabular sets.
        image: keep the image shape (digits as (N, 1, 8, 8), MNIST as (N, 1, 28, 28),
            MNIST-1D as (N, 1, 40)) instead of flat feature vectors.
        num_samples: MNIST-1D only: total samples, train + test (default 5000, 1500 quick).
        download: MNIST only: fetch the IDX files into ``data_dir`` when they are missing.
    """
    if name == "breast_cancer":
        split = sg.datasets.load_breast_cancer(seed=seed)
    elif name == "digits":
        split = sg.datasets.load_digits(seed=seed, standardize=False)
        split = split.standardized(per_feature=not image)
    elif name == "mnist1d":
        if num_samples is None:
            num_samples = 1500 if quick else 5000
        split = sg.datasets.load_mnist1d(num_samples=num_samples)
        split = split.standardized(per_feature=False)
    elif name == "mnist":
        root = default_data_dir() if data_dir is None else data_dir
        split = sg.datasets.load_mnist(root, download=download, flatten=not image,
                                       standardize=True)
        n_train, n_test = (2000, 500) if quick else MNIST_SUBSET
        split = split.take(n_train, n_test)
    elif name == "sequence":
        split = make_sequence_task(*((1000, 500) if quick else (4000, 1000)), seed=seed)
    else:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if image and name in ("digits", "mnist1d"):
        from dataclasses import replace

        shape = (1, 8, 8) if name == "digits" else (1, split.x_train.shape[1])
        split = replace(split, x_train=split.x_train.reshape((-1,) + shape),
                        x_test=split.x_test.reshape((-1,) + shape))
    return split
