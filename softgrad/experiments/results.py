"""Result records of the experiments: one ``EpochLog`` per epoch, one ``RunResult`` per run.

Everything here is plain data (floats, ints, strings, lists), so a result converts to JSON
and CSV rows without special cases.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class EpochLog:
    """Metrics after one epoch.

    Attributes:
        epoch: 1-based epoch number.
        train_loss: mean training loss over the epoch's mini-batches (the run's own loss).
        train_acc: training accuracy measured during the epoch (on the mini-batches seen).
        test_acc: test accuracy after the epoch (eval mode, no gradients).
        seconds: wall time of the epoch, evaluation included.
        grad_norms: mean over the epoch's steps of each linear layer's weight-gradient
            Frobenius norm, first layer first (empty when not recorded).
        logit_grad_norm: mean over the epoch's steps of the per-sample norm of the loss
            gradient at the network's output (logits), NaN when not recorded.
    """

    epoch: int
    train_loss: float
    train_acc: float
    test_acc: float
    seconds: float
    grad_norms: list[float] = field(default_factory=list)
    logit_grad_norm: float = math.nan


def epochs_to_fraction(accs: list[float], fraction: float = 0.9,
                       best: float | None = None) -> int | None:
    """First epoch (1-based) whose accuracy reaches ``fraction`` of ``best`` (default: the best
    of ``accs``), else None (never)."""
    if not accs:
        return None
    target = fraction * (max(accs) if best is None else best)
    for i, acc in enumerate(accs):
        if acc >= target:
            return i + 1
    return None


@dataclass
class RunResult:
    """One training run of an experiment.

    Attributes:
        experiment: experiment name (``"output_loss"``, ``"activation"``, ``"depth"``, ...).
        dataset: dataset name.
        variant: what this run varies (``"softmax+CE"``, ``"relu"``, ``"sigmoid/depth=6"``).
        config: the settings the run used (network sizes, optimizer, lr, epochs, seed).
        epochs: one :class:`EpochLog` per epoch.
        wall_time: seconds for the whole run (training and evaluation).
        same_as: ``"experiment/variant"`` of the run whose epochs this one shares, when two
            experiments ask for the same training (same network, weights, batches and loss);
            that run is trained once and ``wall_time`` here is 0. Empty otherwise.
    """

    experiment: str
    dataset: str
    variant: str
    config: dict[str, Any]
    epochs: list[EpochLog] = field(default_factory=list)
    wall_time: float = 0.0
    same_as: str = ""

    @property
    def final_train_loss(self) -> float:
        return self.epochs[-1].train_loss if self.epochs else math.nan

    @property
    def final_test_acc(self) -> float:
        return self.epochs[-1].test_acc if self.epochs else math.nan

    @property
    def best_test_acc(self) -> float:
        return max(e.test_acc for e in self.epochs) if self.epochs else math.nan

    @property
    def epochs_to_90(self) -> int | None:
        """Epochs until the test accuracy first reaches 90% of this run's own best value (the
        summary table measures against the best run of the experiment instead)."""
        return epochs_to_fraction([e.test_acc for e in self.epochs], 0.9)

    def summary(self) -> dict[str, Any]:
        """The run's headline numbers."""
        return {"experiment": self.experiment, "dataset": self.dataset, "variant": self.variant,
                "final_train_loss": self.final_train_loss, "test_acc": self.final_test_acc,
                "best_test_acc": self.best_test_acc, "epochs_to_90": self.epochs_to_90,
                "wall_time": self.wall_time}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the summary, the config and every epoch."""
        out = self.summary()
        if self.same_as:
            out["same_as"] = self.same_as
        out["config"] = dict(self.config)
        out["epochs"] = [asdict(e) for e in self.epochs]
        return out
