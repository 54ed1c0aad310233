"""The example models (LeNet, 1-D CNN, GRU, Transformer) trained with their recipes.

Each run is ``softgrad train --model NAME`` with the model's recipe, without files; the
results join the experiments' table as experiment ``"models"``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

from softgrad.experiments.results import RunResult
from softgrad.experiments.train import RECIPES, recipe, train

EXAMPLES = ("lenet", "cnn1d", "gru", "transformer")


def example_runs(datasets: Sequence[str]) -> list[tuple[str, str]]:
    """``(model, dataset)`` pairs to run: each example model on its recipe's dataset when that
    dataset is in ``datasets``; LeNet also on MNIST when MNIST is."""
    pairs = [(m, RECIPES[m]["dataset"]) for m in EXAMPLES if RECIPES[m]["dataset"] in datasets]
    if "mnist" in datasets:
        pairs.insert(1, ("lenet", "mnist"))
    return pairs


def run_example_models(datasets: Sequence[str], seed: int = 0, quick: bool = False,
                       epochs: int | None = None, data_dir: Any = None,
                       show_progress: bool | None = None) -> list[RunResult]:
    """Train the example models (see :func:`example_runs`); one :class:`RunResult` each."""
    results = []
    for model, dataset in example_runs(datasets):
        cfg = recipe(model, dataset=dataset, seed=seed, quick=quick)
        if dataset == "mnist":
            cfg = replace(cfg, epochs=3)
        if epochs is not None or quick:
            cfg = replace(cfg, epochs=epochs or max(1, cfg.epochs // 5))
        out = train(cfg, out=None, data_dir=data_dir, show_progress=show_progress)
        results.append(RunResult("models", dataset, model, asdict(cfg), list(out.history),
                                 sum(e.seconds for e in out.history)))
    return results
