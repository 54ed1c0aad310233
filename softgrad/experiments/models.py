"""Models of the experiments and of ``softgrad train``, built from ``softgrad.nn`` layers."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import softgrad.nn as nn

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")


def activation(name: str) -> nn.Module:
    """A hidden-layer activation module by name (see :data:`ACTIVATIONS`)."""
    table: dict[str, Callable[[], nn.Module]] = {
        "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(0.01)}
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return table[name]()


def mlp(in_features: int, hidden: Sequence[int], out_features: int,
        act: str = "relu") -> nn.Sequential:
    """``Linear -> act -> ... -> Linear``: a fully connected network with PyTorch's init.

    Shape: (N, in_features) -> (N, out_features) logits.
    Example:
        >>> mlp(30, [50], 2, "sigmoid")      # the 30-50-2 network
    """
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), activation(act)]
        width = h
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


MODELS = ("mlp", "lenet", "cnn1d", "gru", "transformer")


def build_model(name: str, split: Any) -> nn.Module:
    """A model for ``softgrad train`` by name, sized for ``split``'s samples and classes.

    ``mlp``: ``in-128-C`` with ReLU on flat features; ``lenet``: images (1, H, W); ``cnn1d``
    and ``gru``: signals (C, L); ``transformer``: token sequences (L,) of the ``sequence``
    dataset.
    """
    from softgrad.experiments import zoo
    from softgrad.experiments.data import SEQUENCE_VOCAB

    shape, classes = tuple(split.input_shape), split.num_classes
    if name == "mlp":
        return mlp(split.num_features, [128], classes, "relu")
    wants = {"lenet": (3, "images (C, H, W)"), "cnn1d": (2, "signals (C, L)"),
             "gru": (2, "signals (C, L)"), "transformer": (1, "token sequences (L,)")}
    if name not in wants:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    ndim, what = wants[name]
    if len(shape) != ndim or (name == "transformer" and split.name != "sequence"):
        raise ValueError(f"model {name!r} takes {what}; dataset {split.name!r} has samples of "
                         f"shape {shape}")
    if name == "lenet":
        if shape[1] != shape[2]:
            raise ValueError(f"lenet takes square images, got {shape[1]}x{shape[2]}")
        return zoo.LeNet(shape[0], shape[1], classes)
    if name == "cnn1d":
        return zoo.CNN1d(shape[0], shape[1], classes)
    if name == "gru":
        return zoo.GRUClassifier(shape[0], classes)
    return zoo.TransformerClassifier(SEQUENCE_VOCAB, shape[0], classes)
