"""Experiment 2: the hidden activation, in a shallow network and in deeper ones.

The shallow network is ``in-50-C`` (30-50-2 on breast_cancer); the deep ones stack 3 to 6
hidden layers of 50 units. Each activation trains from the same seed on the same batches with
softmax + cross-entropy and plain SGD, and every epoch records each linear layer's mean
weight-gradient norm. Backpropagation multiplies the gradient by ``W_lᵀ`` and by the
activation's derivative once per layer; the sigmoid's derivative is at most 1/4 (tanh's at
most 1), so with sigmoid the first layers receive gradients orders of magnitude smaller than
the last one: the vanishing gradient. ReLU and LeakyReLU pass a derivative of 1 wherever they
are active.
"""
from __future__ import annotations

from collections.abc import Sequence

import softgrad as sg
from softgrad.datasets import Split
from softgrad.experiments.models import ACTIVATIONS, mlp
from softgrad.experiments.output_loss import softmax_ce
from softgrad.experiments.results import RunResult
from softgrad.experiments.trainer import FitConfig, fit


def _train(split: Split, hidden: list[int], act: str, config: FitConfig, experiment: str,
           variant: str, show_progress: bool | None) -> RunResult:
    sg.manual_seed(config.seed)
    model = mlp(split.num_features, hidden, split.num_classes, act)
    res = fit(model, split, softmax_ce, config, experiment=experiment, variant=variant,
              record_grad_norms=True, record_logit_grads=True, show_progress=show_progress)
    res.config.update(hidden=hidden, activation=act, depth=len(hidden))
    return res


def run_activation(split: Split, config: FitConfig | None = None, width: int = 50,
                   activations: Sequence[str] = ACTIVATIONS,
                   show_progress: bool | None = None) -> list[RunResult]:
    """One hidden layer of ``width`` units, one run per activation (experiment "activation").

    Args:
        split: the dataset (flat features); on breast_cancer this is the 30-50-2 network.
        config: training settings (default: plain SGD, lr 0.1, 30 epochs, batch 32, seed 0).
        width: hidden units. Default: 50.
        activations: names from :data:`~softgrad.experiments.models.ACTIVATIONS`.
    """
    config = config or FitConfig(lr=0.1, epochs=30)
    return [_train(split, [width], act, config, "activation", act, show_progress)
            for act in activations]


def run_depth(split: Split, config: FitConfig | None = None, depths: Sequence[int] = (3, 4, 5, 6),
              width: int = 50, activations: Sequence[str] = ACTIVATIONS,
              show_progress: bool | None = None) -> list[RunResult]:
    """Deeper networks, one run per (activation, number of hidden layers) (experiment "depth").

    Each result's epochs hold ``grad_norms``: the mean weight-gradient norm of every linear
    layer, input side first; :func:`gradient_ratio` summarises how much they shrink.
    """
    config = config or FitConfig(lr=0.1, epochs=30)
    return [_train(split, [width] * depth, act, config, "depth", f"{act}/depth={depth}",
                   show_progress)
            for depth in depths for act in activations]


def gradient_ratio(result: RunResult, epoch: int = 1) -> float:
    """First linear layer's gradient norm over the last one's, in the given epoch (1-based).

    Values far below 1 mean the gradient vanishes on its way back to the input.
    """
    norms = result.epochs[epoch - 1].grad_norms
    if len(norms) < 2 or norms[-1] == 0:
        return float("nan")
    return norms[0] / norms[-1]
