"""Example models beyond the MLP: a LeNet-style CNN, a 1-D CNN, a GRU and a Transformer encoder.

Each is an ordinary ``nn.Module`` written as a PyTorch user writes one, sized from the shape of
one sample of its dataset.
"""
from __future__ import annotations

import softgrad as sg
import softgrad.nn as nn
from softgrad.tensor import Tensor


class LeNet(nn.Module):
    """LeNet-style CNN: two conv + ReLU + max-pool stages, then three linear layers.

    On 8x8 digits the convolutions are 3x3 with padding 1 (8 -> 4 -> 2); on 28x28 MNIST they
    are LeNet-5's 5x5 (28 -> 14 -> 5).
    Shape: (N, 1, H, W) -> (N, num_classes).
    """

    def __init__(self, in_channels: int = 1, size: int = 28, num_classes: int = 10) -> None:
        super().__init__()
        if size >= 20:
            c1, c2, k, pad, out = 6, 16, 5, 2, (size // 2 - 4) // 2
        else:
            c1, c2, k, pad, out = 16, 32, 3, 1, size // 4
        if out < 1:
            raise ValueError(f"LeNet needs images of at least 4x4 pixels, got {size}x{size}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, k, padding=pad), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, k, padding=pad if size < 20 else 0), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * out * out, 120), nn.ReLU(), nn.Linear(120, 84),
            nn.ReLU(), nn.Linear(84, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class CNN1d(nn.Module):
    """A 1-D CNN for signals: three conv + ReLU layers (the last two stride 2), then linear.

    Shape: (N, C, L) -> (N, num_classes).
    """

    def __init__(self, in_channels: int = 1, length: int = 40, num_classes: int = 10,
                 channels: int = 32) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(in_channels, channels, 5, padding=2), nn.ReLU(),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1), nn.ReLU())
        out = (length + 1) // 2
        out = (out + 1) // 2
        self.classifier = nn.Linear(channels * out, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1))


class GRUClassifier(nn.Module):
    """A GRU reads the signal one step at a time; a linear head classifies its summary.

    ``pool="last"`` classifies the last layer's final hidden state (both directions'
    when ``bidirectional``), ``pool="mean"`` the mean of the outputs over time.
    Shape: (N, C, L) (channels first, as for :class:`CNN1d`) -> (N, num_classes).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, hidden: int = 64,
                 bidirectional: bool = False, pool: str = "last") -> None:
        super().__init__()
        if pool not in ("last", "mean"):
            raise ValueError(f"pool must be 'last' or 'mean', got {pool!r}")
        self.pool = pool
        self.directions = 2 if bidirectional else 1
        self.gru = nn.GRU(in_channels, hidden, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * self.directions, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        out, h = self.gru(x.transpose(1, 2))
        if self.pool == "mean":
            return self.head(out.mean(1))
        last = h[-self.directions:]  # (directions, N, hidden)
        return self.head(last.transpose(0, 1).flatten(1))


class TransformerClassifier(nn.Module):
    """Token + learned position embeddings, a Transformer encoder, mean pooling, a linear head.

    Tokens may arrive as floats (datasets store float32 features); they are rounded to
    integers. Shape: (N, L) -> (N, num_classes).
    """

    def __init__(self, vocab: int, length: int, num_classes: int, d_model: int = 32,
                 nhead: int = 4, num_layers: int = 2, dim_feedforward: int = 64,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(sg.randn(length, d_model) * 0.1)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        tokens = x.round().long() if x.dtype.is_floating_point else x
        h = self.encoder(self.embed(tokens) + self.pos)
        return self.head(h.mean(dim=1))
