"""Sequence-model examples as plain functions returning results: the GRU and Transformer
classifiers of :mod:`~softgrad.experiments.zoo` on their datasets, with settings of one's own.

* :func:`run_gru_mnist1d`: each 40-sample MNIST-1D signal is read by a bidirectional GRU one
  scalar step at a time; a linear head classifies the mean of its outputs (10 classes).
* :func:`run_transformer_majority`: the generated ``sequence`` task
  (:func:`~softgrad.experiments.data.make_sequence_task`: which token occurs most often?)
  solved by a small ``TransformerEncoder`` classifier.

The models, the data and the training loop (:func:`~softgrad.experiments.trainer.fit`) are
the ones ``softgrad train`` and ``softgrad experiments`` use; only the sizes differ.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import softgrad as sg
import softgrad.nn as nn
import softgrad.nn.functional as F
from softgrad.datasets import Split
from softgrad.experiments.data import load_dataset, make_sequence_task
from softgrad.experiments.trainer import FitConfig, accuracy, fit
from softgrad.experiments.zoo import GRUClassifier, TransformerClassifier


@dataclass
class SequenceResult:
    """Outcome of one run: accuracies in [0, 1], the final training loss and wall time."""

    model: str
    train_accuracy: float
    test_accuracy: float
    final_loss: float
    epochs: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _run(name: str, model: nn.Module, split: Split, epochs: int, batch_size: int, lr: float,
         seed: int, t0: float) -> SequenceResult:
    """Adam with cross-entropy via :func:`fit`; train accuracy measured after training."""
    config = FitConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer="adam", seed=seed,
                       eval_batch_size=1000)
    run = fit(model, split, F.cross_entropy, config, experiment="sequence", variant=name,
              show_progress=False)
    last = run.epochs[-1]
    return SequenceResult(name, accuracy(model, split.x_train, split.y_train, 1000),
                          last.test_acc, last.train_loss, epochs, time.perf_counter() - t0)


def run_gru_mnist1d(epochs: int = 30, hidden_size: int = 64, num_samples: int = 5000,
                    batch_size: int = 64, lr: float = 3e-3, seed: int = 0) -> SequenceResult:
    """Train :class:`~softgrad.experiments.zoo.GRUClassifier` on MNIST-1D (needs ``mnist1d``)."""
    t0 = time.perf_counter()
    split = load_dataset("mnist1d", image=True, num_samples=num_samples)
    sg.manual_seed(seed)
    model = GRUClassifier(1, split.num_classes, hidden_size, bidirectional=True, pool="mean")
    return _run("gru_mnist1d", model, split, epochs, batch_size, lr, seed, t0)


def run_transformer_majority(epochs: int = 30, num_train: int = 4000, num_test: int = 1000,
                             vocab: int = 8, length: int = 16, batch_size: int = 64,
                             lr: float = 2e-3, seed: int = 0) -> SequenceResult:
    """Train :class:`~softgrad.experiments.zoo.TransformerClassifier` on the generated
    majority-token task (:func:`~softgrad.experiments.data.make_sequence_task`)."""
    t0 = time.perf_counter()
    split = make_sequence_task(num_train, num_test, vocab, length, seed)
    sg.manual_seed(seed)
    model = TransformerClassifier(vocab, length, vocab)
    return _run("transformer_majority", model, split, epochs, batch_size, lr, seed, t0)
