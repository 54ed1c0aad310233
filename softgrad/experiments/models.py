"""Models of the experiments and of ``softgrad train``, built from ``softgrad.nn`` layers."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import softgrad.nn as nn

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")


def activation(name: str) -> nn.Module:
    """A hidden-layer activation module by name (see :data:`ACTIVATIONS`)."""
    table = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
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


MODELS = ("mlp",)


def build_model(name: str, split: Any) -> nn.Module:
    """A model for ``softgrad train`` by name, sized for ``split``'s samples and classes.

    ``mlp``: ``in-128-C`` with ReLU, on flat features.
    """
    if name == "mlp":
        return mlp(split.num_features, [128], split.num_classes, "relu")
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
