"""Four small tabular classification sets, shipped with softgrad (NumPy only, no download).

The files in ``softgrad/datasets/data/`` are gzipped CSV (features..., label), one row per
sample, with the values exactly as the UCI Machine Learning Repository publishes them (CC BY
4.0; sources and citations in ``data/README.md``). Reading one takes a few milliseconds.
"""
from __future__ import annotations

import functools
import gzip
import importlib.resources
from collections.abc import Callable

from softgrad import backend
from softgrad.datasets.split import Split, train_test_split

np = backend.np


@functools.lru_cache(maxsize=8)
def _read(name: str) -> tuple:
    """``(x float64 (N, D), y int64 (N,))`` of a bundled set, read-only (copied by callers)."""
    resource = importlib.resources.files("softgrad.datasets") / "data" / f"{name}.csv.gz"
    with resource.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as text:
        table = np.loadtxt(text, delimiter=",", comments="#", dtype=np.float64, ndmin=2)
    x, y = np.ascontiguousarray(table[:, :-1]), table[:, -1].astype(np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def _load(name: str, test_size: float, seed: int, standardize: bool, stratify: bool) -> Split:
    x, y = _read(name)
    x_train, x_test, y_train, y_test = train_test_split(x.copy(), y.copy(), test_size, seed,
                                                        stratify)
    split = Split(x_train, y_train, x_test, y_test, int(y.max()) + 1, name)
    return split.standardized() if standardize else split


_DOC = """{title}, split into train and test parts with a fixed seed.

    The data ship with softgrad (UCI Machine Learning Repository, CC BY 4.0; cite
    {cite}).

    Args:
        test_size: fraction (or count) of samples held out for testing. Default: 0.25.
        seed: seed of the split. Default: 0.
        standardize: standardise each feature with mean/std fitted on the training part.
            Default: True.
        stratify: keep class proportions equal in both parts. Default: True.
    Returns:
        A :class:`Split` with float32 features and int64 labels.
    Example:
        >>> split = sg.datasets.{fn}()
        >>> train, test = split.datasets()
    """


def _loader(name: str, title: str, cite: str) -> Callable[..., Split]:
    def load(test_size: float = 0.25, seed: int = 0, standardize: bool = True,
             stratify: bool = True) -> Split:
        return _load(name, test_size, seed, standardize, stratify)

    fn_name = "load_" + name
    load.__name__ = load.__qualname__ = fn_name
    load.__module__ = __name__
    load.__doc__ = _DOC.format(title=title, fn=fn_name, cite=cite)
    return load


load_iris = _loader("iris", "Iris flowers (150 x 4, 3 classes)", "Fisher, 1936")
load_wine = _loader("wine", "Wine recognition (178 x 13, 3 classes)",
                    "Aeberhard and Forina, 1991")
load_breast_cancer = _loader("breast_cancer", "Breast cancer Wisconsin (569 x 30, 2 classes)",
                             "Wolberg, Street and Mangasarian, 1995")
load_digits = _loader("digits", "8x8 handwritten digits, flattened (1797 x 64, 10 classes)",
                      "Alpaydin and Kaynak, 1998")
