"""Experiment 1: the output layer and the loss.

Four ways to turn logits ``z`` into a loss against one-hot labels ``y``, each summed over the
classes and averaged over the ``l`` samples of a batch, and the gradient each sends back to
the logits (per sample, before the ``1/l``):

=================  ==========================================  ==============================
variant            loss per sample                             gradient at the logits
=================  ==========================================  ==============================
softmax+CE         ``-sum y log softmax(z)``                   ``p - y``
sigmoid+BCE        ``-sum y log s + (1-y) log(1-s)``           ``s - y``
sigmoid+SE         ``1/2 sum (s - y)^2``                       ``(s - y) s (1 - s)``
softmax+SE         ``1/2 sum (p - y)^2``                       ``(diag(p) - p pᵀ)(p - y)``
=================  ==========================================  ==============================

with ``s = sigmoid(z)`` and ``p = softmax(z)``. The squared-error variants multiply the error
by the output non-linearity's derivative, which vanishes where the output saturates, so they
learn more slowly from confident mistakes. Every variant trains the same network from the same
initial weights on the same sequence of mini-batches.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
import softgrad as sg
import softgrad.nn.functional as F
from softgrad.datasets import Split
from softgrad.experiments.models import mlp
from softgrad.experiments.results import RunResult
from softgrad.experiments.trainer import FitConfig, fit
from softgrad.tensor import Tensor

LossFn = Callable[[Tensor, Tensor], Tensor]


def _onehot(y: Tensor, num_classes: int) -> Tensor:
    return F.one_hot(y, num_classes).float()


def softmax_ce(z: Tensor, y: Tensor) -> Tensor:
    """Softmax + cross-entropy (one fused op); gradient ``(p - y)/l``."""
    return F.cross_entropy(z, y)


def sigmoid_bce(z: Tensor, y: Tensor) -> Tensor:
    """Sigmoid + binary cross-entropy per class, summed over classes; gradient ``(s - y)/l``."""
    t = _onehot(y, z.shape[1])
    return F.binary_cross_entropy_with_logits(z, t, reduction="sum") / z.shape[0]


def sigmoid_se(z: Tensor, y: Tensor) -> Tensor:
    """Sigmoid + squared error ``1/2 |s - y|^2``; gradient ``(s - y) s (1 - s) / l``."""
    d = z.sigmoid() - _onehot(y, z.shape[1])
    return (d * d).sum() * (0.5 / z.shape[0])


def softmax_se(z: Tensor, y: Tensor) -> Tensor:
    """Softmax + squared error ``1/2 |p - y|^2``; gradient ``(diag(p) - p pᵀ)(p - y) / l``."""
    d = F.softmax(z, dim=1) - _onehot(y, z.shape[1])
    return (d * d).sum() * (0.5 / z.shape[0])


VARIANTS: dict[str, LossFn] = {"softmax+CE": softmax_ce, "sigmoid+BCE": sigmoid_bce,
                               "sigmoid+SE": sigmoid_se, "softmax+SE": softmax_se}


def run_output_loss(split: Split, config: FitConfig | None = None,
                    hidden: Sequence[int] = (50,), hidden_act: str = "sigmoid",
                    variants: Sequence[str] = tuple(VARIANTS),
                    show_progress: bool | None = None) -> list[RunResult]:
    """Train one network per output/loss variant, from identical weights and batches.

    Args:
        split: the dataset (flat features).
        config: training settings (default: plain SGD, lr 0.5, 20 epochs, batch 32, seed 0).
        hidden: hidden layer widths. Default: one layer of 50.
        hidden_act: hidden activation (the textbook network uses sigmoid).
        variants: names from :data:`VARIANTS`.
    Returns:
        One :class:`RunResult` per variant (experiment ``"output_loss"``), recording the
        per-sample gradient norm at the logits each epoch.
    """
    config = config or FitConfig(lr=0.5)
    results = []
    for name in variants:
        if name not in VARIANTS:
            raise ValueError(f"unknown output/loss variant {name!r}; choose from "
                             f"{', '.join(VARIANTS)}")
        sg.manual_seed(config.seed)
        model = mlp(split.num_features, hidden, split.num_classes, hidden_act)
        res = fit(model, split, VARIANTS[name], config, experiment="output_loss",
                  variant=name, record_logit_grads=True, record_grad_norms=True,
                  show_progress=show_progress)
        res.config.update(hidden=list(hidden), hidden_act=hidden_act)
        results.append(res)
    return results

