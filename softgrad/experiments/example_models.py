"""The example models (MLP, LeNet, 1-D CNN, GRU, Transformer) trained with their recipes.

Each run is ``softgrad train --model NAME`` with the model's recipe, without files; the
results join the experiments' table as experiment ``"models"``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

from softgrad.experiments.report import DESCRIPTIONS  # noqa: F401 (what each one is)
from softgrad.experiments.results import RunResult
from softgrad.experiments.train import RECIPES, recipe, train

EXAMPLES = ("mlp", "lenet", "cnn1d", "gru", "transformer")


def example_runs(datasets: Sequence[str]) -> list[tuple[str, str]]:
    """``(model, dataset)`` pairs to run: each example model on its recipe's dataset when that
    dataset is in ``datasets``; LeNet also on MNIST when MNIST is."""
    pairs = [(m, RECIPES[m]["dataset"]) for m in EXAMPLES if RECIPES[m]["dataset"] in datasets]
    if "mnist" in datasets:
        pairs.insert(pairs.index(("lenet", "digits")) + 1 if ("lenet", "digits") in pairs
                     else 0, ("lenet", "mnist"))
    return pairs


def example_config(model: str, dataset: str, seed: int = 0, quick: bool = False,
                   epochs: int | None = None) -> Any:
    """The :class:`~softgrad.experiments.train.TrainConfig` of one example run: the recipe,
    3 epochs on MNIST, 1 epoch with ``quick``, or ``epochs``."""
    cfg = recipe(model, dataset=dataset, seed=seed, quick=quick)
    if dataset == "mnist":
        cfg = replace(cfg, epochs=3)
    if epochs is not None or quick:
        cfg = replace(cfg, epochs=epochs or 1)
    return cfg


def run_example_model(model: str, dataset: str, seed: int = 0, quick: bool = False,
                      epochs: int | None = None, data_dir: Any = None,
                      show_progress: bool | None = None) -> RunResult:
    """Train one example model (see :func:`example_config`); no files are written."""
    cfg = example_config(model, dataset, seed, quick, epochs)
    out = train(cfg, out=None, data_dir=data_dir, show_progress=show_progress)
    return RunResult("models", dataset, model, asdict(cfg), list(out.history),
                     sum(e.seconds for e in out.history))


def run_example_models(datasets: Sequence[str], seed: int = 0, quick: bool = False,
                       epochs: int | None = None, data_dir: Any = None,
                       show_progress: bool | None = None) -> list[RunResult]:
    """Train the example models (see :func:`example_runs`); one :class:`RunResult` each."""
    return [run_example_model(model, dataset, seed, quick, epochs, data_dir, show_progress)
            for model, dataset in example_runs(datasets)]
