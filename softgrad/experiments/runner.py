"""All seed experiments in one call: ``run_experiments`` (what ``softgrad experiments`` runs)."""
from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from softgrad.experiments import report
from softgrad.experiments.activation import run_activation, run_depth
from softgrad.experiments.data import DEFAULT_DATASETS, load_dataset, mnist_available
from softgrad.experiments.example_models import example_runs, run_example_models
from softgrad.experiments.jacobian import JacobianView, run_jacobian
from softgrad.experiments.output_loss import run_output_loss
from softgrad.experiments.progress import progress
from softgrad.experiments.results import RunResult
from softgrad.experiments.trainer import FitConfig

EXPERIMENTS = ("jacobian", "output_loss", "activation", "depth", "models")
DEPTH_DATASET = "breast_cancer"


@dataclass
class ExperimentsReport:
    """What :func:`run_experiments` returns.

    Attributes:
        results: every training run.
        jacobians: one Jacobian view per dataset.
        wall_time: seconds for everything, plots included.
        files: paths written (empty when ``out`` was None).
        settings: the arguments used.
    """

    results: list[RunResult] = field(default_factory=list)
    jacobians: list[JacobianView] = field(default_factory=list)
    wall_time: float = 0.0
    files: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def table(self) -> str:
        """The summary table for the terminal."""
        return report.format_table(self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "wall_time": self.wall_time,
                "runs": [r.to_dict() for r in self.results],
                "jacobian": [j.to_dict() for j in self.jacobians]}


def configs(quick: bool, seed: int, epochs: int | None = None) -> dict[str, FitConfig]:
    """Training settings per experiment: plain SGD (the gradient's size sets the speed)."""
    base = {"output_loss": FitConfig(lr=0.1, epochs=30, seed=seed),
            "activation": FitConfig(lr=0.1, epochs=30, seed=seed),
            "depth": FitConfig(lr=0.1, epochs=30, seed=seed)}
    for name, cfg in base.items():
        n = epochs if epochs is not None else (max(2, cfg.epochs // 6) if quick else cfg.epochs)
        base[name] = replace(cfg, epochs=n)
    return base


def resolve_datasets(datasets: Sequence[str] | None, data_dir: Any = None) -> list[str]:
    """The datasets to run: the given ones, or the defaults plus MNIST when its files exist,
    plus the generated ``sequence`` task (used by the Transformer example only)."""
    if datasets:
        return list(dict.fromkeys(datasets))
    names = list(DEFAULT_DATASETS)
    if mnist_available(data_dir):
        names.append("mnist")
    return names + ["sequence"]


def run_experiments(out: str | None = "runs/experiments", quick: bool = False,
                    datasets: Sequence[str] | None = None, seed: int = 0,
                    experiments: Sequence[str] = EXPERIMENTS, epochs: int | None = None,
                    data_dir: Any = None, plots: bool = True,
                    show_progress: bool | None = None,
                    log: Callable[[str], None] | None = None) -> ExperimentsReport:
    """Run the seed experiments and (when ``out`` is given) write the table, logs and plots.

    Args:
        out: output folder for summary.md, results.csv (every epoch), results.json,
            jacobian.txt and the PNG plots (``jacobian_<dataset>.png`` among them); None
            writes nothing.
        quick: a few epochs and fewer samples, for smoke tests.
        datasets: names from :data:`~softgrad.experiments.data.DATASETS`; default
            breast_cancer, digits, MNIST-1D, MNIST when its IDX files are present, and the
            generated sequence task (for the Transformer example only).
        seed: seed of initialisation and data order.
        experiments: a subset of :data:`EXPERIMENTS`.
        epochs: override every experiment's number of epochs.
        data_dir: where MNIST's IDX files are.
        plots: write PNG plots (needs matplotlib).
        show_progress: progress bars (None: only on a terminal).
        log: called with progress messages (e.g. ``print``).
    """
    start = time.perf_counter()
    unknown = sorted(set(experiments) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(f"unknown experiments {unknown}; choose from {', '.join(EXPERIMENTS)}")
    names = resolve_datasets(datasets, data_dir)
    cfg = configs(quick, seed, epochs)
    rep = ExperimentsReport(settings={"quick": quick, "datasets": names, "seed": seed,
                                      "experiments": list(experiments), "epochs": epochs,
                                      "configs": {k: v.to_dict() for k, v in cfg.items()}})
    say = log or (lambda msg: None)
    if plots and out is not None and importlib.util.find_spec("matplotlib") is None:
        say("matplotlib is not installed: skipping the plots (pip install 'softgrad[experiments]')")
        plots = False
    depth_on = DEPTH_DATASET if DEPTH_DATASET in names else names[0]
    for name in progress([n for n in names if n != "sequence"], show_progress, desc="datasets"):
        split = load_dataset(name, data_dir=data_dir, quick=quick, seed=seed)
        say(f"{name}: {len(split.x_train)} training / {len(split.x_test)} test samples, "
            f"{split.num_features} features, {split.num_classes} classes")
        if "jacobian" in experiments:
            rep.jacobians.append(run_jacobian(split, seed=seed))
        if "output_loss" in experiments:
            rep.results += run_output_loss(split, cfg["output_loss"],
                                           show_progress=show_progress)
        if "activation" in experiments:
            rep.results += run_activation(split, cfg["activation"], show_progress=show_progress)
        if "depth" in experiments and name == depth_on:
            depths = (3, 6) if quick else (3, 4, 5, 6)
            rep.results += run_depth(split, cfg["depth"], depths=depths,
                                     show_progress=show_progress)
    if "models" in experiments:
        say("example models: " + ", ".join(f"{m} on {d}" for m, d in example_runs(names)))
        rep.results += run_example_models(names, seed=seed, quick=quick, epochs=epochs,
                                          data_dir=data_dir, show_progress=show_progress)
    if out is not None:
        rep.files = write_outputs(rep, out, plots=plots)
    rep.wall_time = time.perf_counter() - start
    return rep


def write_outputs(rep: ExperimentsReport, out: str, plots: bool = True) -> list[str]:
    """Write summary.md, results.csv, results.json, jacobian.txt and the plots to ``out``."""
    report.ensure_dir(out)
    files = []
    if rep.results:
        files.append(report.write_text(os.path.join(out, "summary.md"),
                                       report.format_markdown(rep.results) + "\n"))
        files.append(report.write_csv(rep.results, os.path.join(out, "results.csv")))
    if rep.jacobians:
        text = "\n\n".join(j.format() for j in rep.jacobians) + "\n"
        files.append(report.write_text(os.path.join(out, "jacobian.txt"), text))
    files.append(report.write_json(rep.to_dict(), os.path.join(out, "results.json")))
    if plots and rep.results:
        from softgrad.experiments.plots import plot_all

        files += plot_all(rep.results, out)
    if plots and rep.jacobians:
        from softgrad.experiments.jacobian_plots import plot_jacobians

        files += plot_jacobians(rep.jacobians, out)
    return files
