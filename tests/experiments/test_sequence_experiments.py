"""The sequence-model examples train: quick runs beat chance clearly."""
from __future__ import annotations

import numpy as np
import pytest

from softgrad.experiments import sequence as S
from softgrad.experiments.data import make_sequence_task


def test_majority_task_labels():
    split = make_sequence_task(50, 20, vocab=5, length=9, seed=3)
    for x, y, n in ((split.x_train, split.y_train, 50), (split.x_test, split.y_test, 20)):
        assert x.shape == (n, 9) and y.dtype == np.int64 and x.max() < 5 and x.min() >= 0
        tokens = x.astype(np.int64)
        assert (tokens == x).all()  # integer tokens stored as float32 features
        for row, label in zip(tokens, y):
            counts = np.bincount(row, minlength=5)
            assert counts[label] == counts.max() and label == counts.argmax()
            assert (counts == counts.max()).sum() == 1  # no ties: every label is unambiguous


def test_transformer_majority_quick():
    r = S.run_transformer_majority(epochs=3, num_train=1000, num_test=500)
    assert r.test_accuracy > 0.5  # chance is 1/8
    assert set(r.to_dict()) >= {"train_accuracy", "test_accuracy", "seconds"}


def test_gru_mnist1d_quick():
    pytest.importorskip("mnist1d")
    r = S.run_gru_mnist1d(epochs=8, num_samples=600, hidden_size=32, lr=1e-2)
    assert r.test_accuracy > 0.25  # chance is 1/10


def test_gru_classifier_pools_and_directions():
    import softgrad as sg
    from softgrad.experiments.zoo import GRUClassifier

    x = sg.randn(3, 2, 7)
    for bidirectional in (False, True):
        for pool in ("last", "mean"):
            model = GRUClassifier(2, 5, 4, bidirectional=bidirectional, pool=pool)
            assert model.head.in_features == (8 if bidirectional else 4)
            out = model(x)
            assert out.shape == (3, 5)
            out.sum().backward()
            assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match="pool"):
        GRUClassifier(pool="max")
