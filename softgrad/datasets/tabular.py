"""Small tabular classification sets bundled with scikit-learn (read from disk, no download).

scikit-learn is an optional dependency (the ``experiments`` extra); it is imported only when a
loader is called.
"""
from __future__ import annotations

from typing import Any

from softgrad.datasets.split import Split, train_test_split


def _sklearn_loader(fn_name: str) -> Any:
    try:
        from sklearn import datasets
    except ImportError as exc:
        raise ImportError(
            f"sg.datasets.{fn_name} needs scikit-learn, which is not installed; install "
            "softgrad's 'experiments' extra: pip install 'softgrad[experiments]'") from exc
    return getattr(datasets, fn_name)


def _load(fn_name: str, name: str, test_size: float, seed: int, standardize: bool,
          stratify: bool) -> Split:
    x, y = _sklearn_loader(fn_name)(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size, seed, stratify)
    split = Split(x_train, y_train, x_test, y_test, int(y.max()) + 1, name)
    return split.standardized() if standardize else split


_DOC = """{title} ({shape}), split into train and test parts with a fixed seed.

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


def load_iris(test_size: float = 0.25, seed: int = 0, standardize: bool = True,
              stratify: bool = True) -> Split:
    return _load("load_iris", "iris", test_size, seed, standardize, stratify)


def load_wine(test_size: float = 0.25, seed: int = 0, standardize: bool = True,
              stratify: bool = True) -> Split:
    return _load("load_wine", "wine", test_size, seed, standardize, stratify)


def load_breast_cancer(test_size: float = 0.25, seed: int = 0, standardize: bool = True,
                       stratify: bool = True) -> Split:
    return _load("load_breast_cancer", "breast_cancer", test_size, seed, standardize, stratify)


def load_digits(test_size: float = 0.25, seed: int = 0, standardize: bool = True,
                stratify: bool = True) -> Split:
    return _load("load_digits", "digits", test_size, seed, standardize, stratify)


load_iris.__doc__ = _DOC.format(title="Iris flowers", shape="150 x 4, 3 classes", fn="load_iris")
load_wine.__doc__ = _DOC.format(title="Wine recognition", shape="178 x 13, 3 classes",
                                fn="load_wine")
load_breast_cancer.__doc__ = _DOC.format(title="Breast cancer Wisconsin",
                                         shape="569 x 30, 2 classes", fn="load_breast_cancer")
load_digits.__doc__ = _DOC.format(title="8x8 handwritten digits, flattened",
                                  shape="1797 x 64, 10 classes", fn="load_digits")
