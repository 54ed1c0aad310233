"""Sequence-model examples: a GRU classifier on MNIST-1D and a small Transformer encoder
classifier on a generated token task, as plain functions returning results.

* :func:`run_gru_mnist1d`: each 40-sample MNIST-1D signal is a sequence of 40 scalar steps;
  a GRU reads it and a linear head classifies the mean of its outputs (10 classes).
* :func:`run_transformer_majority`: sequences of ``length`` tokens from ``vocab`` symbols;
  the label is the most frequent token (ties: the smallest). Token + learned position
  embeddings, a ``TransformerEncoder``, mean pooling and a linear head.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import softgrad as sg
import softgrad.nn as nn
import softgrad.nn.functional as F
from softgrad import backend

np = backend.np


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


class GRUClassifier(nn.Module):
    """GRU over a (N, L) signal read as L scalar steps; head on the mean output.

    Shape: (N, L) -> (N, num_classes) logits.
    """

    def __init__(self, hidden_size: int = 64, num_layers: int = 1, num_classes: int = 10,
                 bidirectional: bool = True) -> None:
        super().__init__()
        self.gru = nn.GRU(1, hidden_size, num_layers, batch_first=True,
                          bidirectional=bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, x: sg.Tensor) -> sg.Tensor:
        out, _ = self.gru(x.unsqueeze(-1))
        return self.head(out.mean(1))


class TransformerClassifier(nn.Module):
    """Token + position embeddings, a ``TransformerEncoder``, mean pooling, linear head.

    Shape: (N, L) int64 tokens -> (N, num_classes) logits.
    """

    def __init__(self, vocab: int, length: int, num_classes: int, d_model: int = 32,
                 nhead: int = 4, num_layers: int = 2, dim_feedforward: int = 64) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(length, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, tokens: sg.Tensor) -> sg.Tensor:
        positions = sg.tensor(np.arange(tokens.shape[1]))
        h = self.encoder(self.tok(tokens) + self.pos(positions))
        return self.head(h.mean(1))


def _train(model: nn.Module, x: Any, y: Any, x_test: Any, y_test: Any, epochs: int,
           batch_size: int, lr: float, seed: int) -> tuple[float, float, float]:
    """Adam on mini-batches; returns (train accuracy, test accuracy, last epoch's mean loss)."""
    opt = sg.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    loss_sum = 0.0
    for _ in range(epochs):
        model.train()
        order, loss_sum, batches = rng.permutation(len(y)), 0.0, 0
        for i in range(0, len(y), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(sg.tensor(x[idx])), sg.tensor(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum, batches = loss_sum + loss.item(), batches + 1
        loss_sum /= batches
    return _accuracy(model, x, y), _accuracy(model, x_test, y_test), loss_sum


def _accuracy(model: nn.Module, x: Any, y: Any, batch_size: int = 1000) -> float:
    model.eval()
    correct = 0
    with sg.no_grad():
        for i in range(0, len(y), batch_size):
            pred = model(sg.tensor(x[i:i + batch_size])).numpy().argmax(1)
            correct += int((pred == y[i:i + batch_size]).sum())
    return correct / len(y)


def run_gru_mnist1d(epochs: int = 30, hidden_size: int = 64, num_samples: int = 5000,
                    batch_size: int = 64, lr: float = 3e-3, seed: int = 0) -> SequenceResult:
    """Train :class:`GRUClassifier` on MNIST-1D (needs the ``mnist1d`` package)."""
    t0 = time.perf_counter()
    split = sg.datasets.load_mnist1d(num_samples=num_samples)
    sg.manual_seed(seed)
    model = GRUClassifier(hidden_size)
    train, test, loss = _train(model, split.x_train, split.y_train, split.x_test,
                               split.y_test, epochs, batch_size, lr, seed)
    return SequenceResult("gru_mnist1d", train, test, loss, epochs, time.perf_counter() - t0)


def majority_task(n: int, vocab: int = 8, length: int = 16, seed: int = 0) -> tuple:
    """(tokens (n, length) int64, labels (n,) int64): label = most frequent token."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, vocab, size=(n, length))
    counts = (tokens[:, :, None] == np.arange(vocab)).sum(1)
    return tokens.astype(np.int64), counts.argmax(1).astype(np.int64)


def run_transformer_majority(epochs: int = 30, num_train: int = 4000, num_test: int = 1000,
                             vocab: int = 8, length: int = 16, batch_size: int = 64,
                             lr: float = 2e-3, seed: int = 0) -> SequenceResult:
    """Train :class:`TransformerClassifier` on the generated majority-token task."""
    t0 = time.perf_counter()
    x, y = majority_task(num_train, vocab, length, seed)
    x_test, y_test = majority_task(num_test, vocab, length, seed + 1)
    sg.manual_seed(seed)
    model = TransformerClassifier(vocab, length, vocab)
    train, test, loss = _train(model, x, y, x_test, y_test, epochs, batch_size, lr, seed)
    return SequenceResult("transformer_majority", train, test, loss, epochs,
                          time.perf_counter() - t0)
