"""Small tabular classification sets bundled with scikit-learn (read from disk, no download).

scikit-learn is an optional dependency (the ``experiments`` extra); it is imported only when a
loader is called.
"""
from __future__ import annotations

from collections.abc import Callable
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


_DOC = """{title}, split into train and test parts with a fixed seed.

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


def _loader(fn_name: str, name: str, title: str) -> Callable[..., Split]:
    def load(test_size: float = 0.25, seed: int = 0, standardize: bool = True,
             stratify: bool = True) -> Split:
        return _load(fn_name, name, test_size, seed, standardize, stratify)

    load.__name__ = load.__qualname__ = fn_name
    load.__module__ = __name__
    load.__doc__ = _DOC.format(title=title, fn=fn_name)
    return load


load_iris = _loader("load_iris", "iris", "Iris flowers (150 x 4, 3 classes)")
load_wine = _loader("load_wine", "wine", "Wine recognition (178 x 13, 3 classes)")
load_breast_cancer = _loader("load_breast_cancer", "breast_cancer",
                             "Breast cancer Wisconsin (569 x 30, 2 classes)")
load_digits = _loader("load_digits", "digits",
                      "8x8 handwritten digits, flattened (1797 x 64, 10 classes)")
