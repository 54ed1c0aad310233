"""The sequence-model examples train: quick runs beat chance clearly."""
from __future__ import annotations

import numpy as np
import pytest

from softgrad.experiments import sequence as S


def test_majority_task_labels():
    x, y = S.majority_task(50, vocab=5, length=9, seed=3)
    assert x.shape == (50, 9) and x.dtype == np.int64 and x.max() < 5
    for row, label in zip(x, y):
        counts = np.bincount(row, minlength=5)
        assert counts[label] == counts.max() and label == counts.argmax()


def test_transformer_majority_quick():
    r = S.run_transformer_majority(epochs=3, num_train=1000, num_test=500)
    assert r.test_accuracy > 0.5  # chance is 1/8
    assert set(r.to_dict()) >= {"train_accuracy", "test_accuracy", "seconds"}


def test_gru_mnist1d_quick():
    pytest.importorskip("mnist1d")
    r = S.run_gru_mnist1d(epochs=8, num_samples=600, hidden_size=32, lr=1e-2)
    assert r.test_accuracy > 0.25  # chance is 1/10
