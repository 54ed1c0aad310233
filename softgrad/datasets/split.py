"""The common return type of the dataset loaders, plus seeded splits and standardisation.

Arrays are NumPy (float32 features, int64 labels) so the same data can feed softgrad and a
reference framework; ``Split.datasets()`` wraps them as softgrad ``TensorDataset``s.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from softgrad import backend
from softgrad.tensor import Tensor
from softgrad.utils.data import TensorDataset

np = backend.np


@dataclass(frozen=True, eq=False)
class Split:
    """A classification dataset split into train and test parts.

    Attributes:
        x_train, x_test: float32 features, samples along the first axis.
        y_train, y_test: int64 labels in ``[0, num_classes)``.
        num_classes: number of classes.
        name: the dataset's name.
    Example:
        >>> split = sg.datasets.load_iris()
        >>> train, test = split.datasets()
        >>> loader = sg.utils.data.DataLoader(train, batch_size=16, shuffle=True)
    """

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    num_classes: int
    name: str

    def __post_init__(self) -> None:
        for part in ("train", "test"):
            x = np.ascontiguousarray(getattr(self, "x_" + part), dtype=np.float32)
            y = np.asarray(getattr(self, "y_" + part))
            if y.dtype.kind not in "iu" or y.ndim != 1:
                raise ValueError(f"{self.name}: y_{part} must be a 1-D integer array, got dtype "
                                 f"{y.dtype} and shape {y.shape}")
            if x.ndim < 1 or len(x) != len(y):
                raise ValueError(f"{self.name}: x_{part} has shape {x.shape} but y_{part} has "
                                 f"{len(y)} labels")
            if y.size and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(f"{self.name}: y_{part} has labels in [{y.min()}, {y.max()}], "
                                 f"outside [0, {self.num_classes})")
            object.__setattr__(self, "x_" + part, x)
            object.__setattr__(self, "y_" + part, np.ascontiguousarray(y, dtype=np.int64))
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(f"{self.name}: train samples have shape {self.x_train.shape[1:]} "
                             f"but test samples {self.x_test.shape[1:]}")

    @property
    def input_shape(self) -> tuple:
        """Shape of one sample."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_features(self) -> int:
        """Number of values in one sample."""
        return math.prod(self.input_shape)

    def tensors(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(x_train, y_train, x_test, y_test)`` as softgrad tensors (sharing memory)."""
        wrap = Tensor._wrap
        return wrap(self.x_train), wrap(self.y_train), wrap(self.x_test), wrap(self.y_test)

    def datasets(self) -> tuple[TensorDataset, TensorDataset]:
        """``(train, test)`` as ``TensorDataset``s of ``(features, label)`` pairs."""
        xtr, ytr, xte, yte = self.tensors()
        return TensorDataset(xtr, ytr), TensorDataset(xte, yte)

    def standardized(self, per_feature: bool = True) -> Split:
        """Features standardised with mean and std fitted on the training part only."""
        scaler = Standardizer(per_feature=per_feature).fit(self.x_train)
        return replace(self, x_train=scaler.transform(self.x_train),
                       x_test=scaler.transform(self.x_test))

    def take(self, n_train: int | None = None, n_test: int | None = None) -> Split:
        """The first ``n_train`` training and ``n_test`` test samples (for quick runs)."""
        return replace(self, x_train=self.x_train[:n_train], y_train=self.y_train[:n_train],
                       x_test=self.x_test[:n_test], y_test=self.y_test[:n_test])

    def __repr__(self) -> str:
        return (f"Split(name={self.name!r}, train={self.x_train.shape}, "
                f"test={self.x_test.shape}, num_classes={self.num_classes})")


class Standardizer:
    """Subtract a mean and divide by a standard deviation fitted on training data.

    Args:
        per_feature: one mean/std per feature (axis 0 is the sample axis); False fits a
            single mean/std over all values (as usual for images). Default: True.
        eps: standard deviations below this count as zero; such constant features are
            only centred. Default: 1e-8.
    """

    def __init__(self, per_feature: bool = True, eps: float = 1e-8) -> None:
        self.per_feature, self.eps = per_feature, eps
        self.mean: Any = None
        self.std: Any = None

    def fit(self, x: Any) -> Standardizer:
        x = np.asarray(x, dtype=np.float64)
        if len(x) == 0:
            raise ValueError("cannot fit a Standardizer on zero samples")
        axis = 0 if self.per_feature else None
        mean, std = x.mean(axis=axis), x.std(axis=axis)
        self.mean = mean.astype(np.float32)
        self.std = np.where(std < self.eps, 1.0, std).astype(np.float32)
        return self

    def transform(self, x: Any) -> Any:
        if self.mean is None:
            raise RuntimeError("Standardizer.transform called before fit")
        x = np.asarray(x, dtype=np.float32)
        if self.per_feature and x.shape[1:] != self.mean.shape:
            raise ValueError(f"Standardizer was fitted on samples of shape {self.mean.shape}, "
                             f"got {x.shape[1:]}")
        return (x - self.mean) / self.std

    def fit_transform(self, x: Any) -> Any:
        return self.fit(x).transform(x)


def _stratified_counts(counts: Any, n_test: int) -> Any:
    """Test samples per class: proportional, remainders to the largest fractions."""
    exact = counts * (n_test / counts.sum())
    take = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - take), kind="stable")
    take[order[:n_test - int(take.sum())]] += 1
    return take


def train_test_split(x: Any, y: Any, test_size: float = 0.25, seed: int = 0,
                     stratify: bool = True) -> tuple[Any, Any, Any, Any]:
    """Split arrays into shuffled train and test parts with a fixed seed.

    Args:
        x: samples along the first axis.
        y: 1-D integer labels.
        test_size: a fraction in (0, 1) (rounded up, as scikit-learn does) or a count.
        seed: seed of the NumPy generator used for the split.
        stratify: keep each class's share equal in both parts (up to rounding).
    Returns:
        ``(x_train, x_test, y_train, y_test)``, the order scikit-learn uses.
    """
    x, y = np.asarray(x), np.asarray(y)
    n = len(y)
    if len(x) != n:
        raise ValueError(f"x has {len(x)} samples but y has {n}")
    if isinstance(test_size, float):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size as a fraction must lie in (0, 1), got {test_size}")
        n_test = math.ceil(test_size * n)
    else:
        n_test = int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size} leaves {n - n_test} training and {n_test} "
                         f"test samples out of {n}; both parts must be non-empty")
    rng = np.random.default_rng(seed)
    if stratify:
        classes, inverse = np.unique(y, return_inverse=True)
        take = _stratified_counts(np.bincount(inverse, minlength=len(classes)), n_test)
        test = np.concatenate([rng.permutation(np.flatnonzero(inverse == c))[:take[c]]
                               for c in range(len(classes))])
    else:
        test = rng.permutation(n)[:n_test]
    is_test = np.zeros(n, dtype=bool)
    is_test[test] = True
    train_idx = rng.permutation(np.flatnonzero(~is_test))
    test_idx = rng.permutation(np.flatnonzero(is_test))
    return x[train_idx], x[test_idx], y[train_idx], y[test_idx]
