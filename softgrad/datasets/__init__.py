"""Datasets for experiments: four small tables shipped with softgrad, MNIST-1D, MNIST and
Fashion-MNIST.

Every loader returns a :class:`Split` (float32 features, int64 labels, NumPy arrays) with
seeded train/test parts; ``split.datasets()`` gives softgrad ``TensorDataset``s.
"""
from softgrad.datasets.idx import IDXError, read_idx
from softgrad.datasets.mnist import (MNIST, FashionMNIST, load_fashion_mnist, load_mnist)
from softgrad.datasets.mnist1d import load_mnist1d
from softgrad.datasets.split import Split, Standardizer, train_test_split
from softgrad.datasets.tabular import load_breast_cancer, load_digits, load_iris, load_wine

__all__ = ["FashionMNIST", "IDXError", "MNIST", "Split", "Standardizer", "load_breast_cancer",
           "load_digits", "load_fashion_mnist", "load_iris", "load_mnist", "load_mnist1d",
           "load_wine", "read_idx", "train_test_split"]
