"""All seed experiments in one call: ``run_experiments`` (what ``softgrad experiments`` runs).

The runs are planned first (so progress can say "run 7 of 41"); a training that two
experiments share (the activation experiment's sigmoid network is the output-loss
experiment's softmax + cross-entropy network) is trained once and listed under both.
"""
from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass, field, replace
from typing import Any

import softgrad as sg
from softgrad import backend
from softgrad.experiments import report
from softgrad.experiments.activation import run_activation, run_depth
from softgrad.experiments.checks import SettingError, ensure_writable
from softgrad.experiments.data import (DEFAULT_DATASETS, load_dataset, missing_requirement,
                                       mnist_available)
from softgrad.experiments.example_models import example_config, example_runs, run_example_model
from softgrad.experiments.jacobian import JacobianView, run_jacobian
from softgrad.experiments.models import ACTIVATIONS
from softgrad.experiments.output_loss import VARIANTS, run_output_loss
from softgrad.experiments.progress import progress
from softgrad.experiments.results import RunResult
from softgrad.experiments.trainer import FitConfig

EXPERIMENTS = ("jacobian", "output_loss", "activation", "depth", "models")
DEPTH_DATASET = "breast_cancer"
DEPTHS, QUICK_DEPTHS = (3, 4, 5, 6), (3, 6)


@dataclass
class ExperimentsReport:
    """What :func:`run_experiments` returns (and fills in as it goes).

    Attributes:
        results: every run, in the order of the table (shared runs listed under both
            experiments, see :attr:`RunResult.same_as`).
        jacobians: one Jacobian view per dataset.
        wall_time: seconds for everything, plots included.
        files: paths written (empty when ``out`` was None).
        settings: the arguments used.
        planned: the number of trainings planned (shared ones counted once).
        doing: what it is doing now, in words (read it after an interruption).
    """

    results: list[RunResult] = field(default_factory=list)
    jacobians: list[JacobianView] = field(default_factory=list)
    wall_time: float = 0.0
    files: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    planned: int = 0
    doing: str = "starting"

    @property
    def trained(self) -> int:
        """Trainings finished so far (shared ones counted once)."""
        return sum(1 for r in self.results if not r.same_as)

    def table(self) -> str:
        """The summary table for the terminal, with a line per column under it."""
        return report.format_table(self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "wall_time": self.wall_time,
                "runs": [r.to_dict() for r in self.results],
                "jacobian": [j.to_dict() for j in self.jacobians]}


def configs(quick: bool, seed: int, epochs: int | None = None) -> dict[str, FitConfig]:
    """Training settings per experiment: plain SGD (the gradient's size sets the speed);
    ``quick``: 2 epochs."""
    base = {"output_loss": FitConfig(lr=0.1, epochs=30, seed=seed),
            "activation": FitConfig(lr=0.1, epochs=30, seed=seed),
            "depth": FitConfig(lr=0.1, epochs=30, seed=seed)}
    for name, cfg in base.items():
        n = epochs if epochs is not None else (2 if quick else cfg.epochs)
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


@dataclass
class _Job:
    """One row of the table: the training behind it is identified by ``key``."""

    experiment: str
    dataset: str
    variant: str
    key: tuple
    run: Callable[..., RunResult]  # called with no arguments


def plan(names: Sequence[str], experiments: Sequence[str], cfg: dict[str, FitConfig],
         quick: bool, seed: int, epochs: int | None, data_dir: Any,
         show_progress: bool | None, split: Callable[[str], Any]) -> list[_Job]:
    """The runs of the table, in order; ``split(name)`` loads a dataset (cached)."""
    jobs: list[_Job] = []
    table = [n for n in names if n != "sequence"]
    depth_on = DEPTH_DATASET if DEPTH_DATASET in table else (table[0] if table else None)
    for name in table:
        # an MLP run is fixed by (dataset, hidden layers, activation, loss, settings)
        if "output_loss" in experiments:
            c: Any = cfg["output_loss"]
            k = astuple(c)
            for v in VARIANTS:
                jobs.append(_Job("output_loss", name, v, (name, (50,), "sigmoid", v, k),
                                 lambda n=name, v=v, c=c: run_output_loss(
                                     split(n), c, variants=[v], show_progress=show_progress)[0]))
        if "activation" in experiments:
            c = cfg["activation"]
            k = astuple(c)
            for act in ACTIVATIONS:
                jobs.append(_Job("activation", name, act, (name, (50,), act, "softmax+CE", k),
                                 lambda n=name, a=act, c=c: run_activation(
                                     split(n), c, activations=[a],
                                     show_progress=show_progress)[0]))
        if "depth" in experiments and name == depth_on:
            c = cfg["depth"]
            k = astuple(c)
            for d in (QUICK_DEPTHS if quick else DEPTHS):
                for act in ACTIVATIONS:
                    jobs.append(_Job("depth", name, f"{act}/depth={d}",
                                     (name, (50,) * d, act, "softmax+CE", k),
                                     lambda n=name, a=act, d=d, c=c: run_depth(
                                         split(n), c, depths=[d], activations=[a],
                                         show_progress=show_progress)[0]))
    if "models" in experiments:
        for model, dataset in example_runs(names):
            c = example_config(model, dataset, seed, quick, epochs)
            jobs.append(_Job("models", dataset, model, ("train", model, dataset, astuple(c)),
                             lambda m=model, d=dataset: run_example_model(
                                 m, d, seed, quick, epochs, data_dir, show_progress)))
    return jobs


def run_experiments(out: str | None = "runs/experiments", quick: bool = False,
                    datasets: Sequence[str] | None = None, seed: int = 0,
                    experiments: Sequence[str] = EXPERIMENTS, epochs: int | None = None,
                    data_dir: Any = None, plots: bool = True,
                    show_progress: bool | None = None,
                    log: Callable[[str], None] | None = None, download: bool = False,
                    threads: int | None = 1,
                    report_to: ExperimentsReport | None = None) -> ExperimentsReport:
    """Run the seed experiments and (when ``out`` is given) write the table, logs and plots.

    Args:
        out: output folder for summary.md, results.csv (every epoch), results.json,
            jacobian.txt and the PNG plots (``jacobian_<dataset>.png`` among them); None
            writes nothing. It is checked for writability before any run starts; the files
            are written when all runs finish.
        quick: 2 epochs, fewer samples, depths 3 and 6 only: a smoke run.
        datasets: names from :data:`~softgrad.experiments.data.DATASETS`; default
            breast_cancer, digits, MNIST-1D, MNIST when its IDX files are present, and the
            generated sequence task (for the Transformer example only).
        seed: seed of initialisation and data order.
        experiments: a subset of :data:`EXPERIMENTS`.
        epochs: override every experiment's number of epochs.
        data_dir: where MNIST's IDX files are.
        plots: write PNG plots (needs matplotlib).
        show_progress: a progress bar (None: only when stderr is a terminal).
        log: called with one line per finished run and a few notes (e.g. ``print``).
        download: fetch MNIST's IDX files into ``data_dir`` when they are missing.
        threads: BLAS and softgrad threads while the experiments run (restored afterwards).
            Default 1: these networks are too small to gain from more, and one thread makes
            the numbers independent of the machine's core count. None: leave as they are.
        report_to: a report to fill in as runs finish (read it after an interruption).
    Raises:
        SettingError: an unknown experiment, a dataset that cannot be loaded here, an output
            folder that cannot be written; all found before any training.
    """
    start = time.perf_counter()
    unknown = sorted(set(experiments) - set(EXPERIMENTS))
    if unknown:
        raise SettingError("experiments", f"unknown experiments {unknown}; choose from "
                                          f"{', '.join(EXPERIMENTS)}")
    names = resolve_datasets(datasets, data_dir)
    for name in names:
        problem = missing_requirement(name, data_dir, download)
        if problem:
            raise SettingError("datasets", f"{name} {problem}")
    if out is not None:
        ensure_writable(out, "out")
    previous = sg.get_num_threads()
    if threads is not None:
        sg.set_num_threads(threads)
    try:
        return _run(out, quick, names, seed, experiments, epochs, data_dir, plots,
                    show_progress, log, download, report_to, start)
    finally:
        if threads is not None:
            sg.set_num_threads(previous)


def _run(out: str | None, quick: bool, names: list[str], seed: int,
         experiments: Sequence[str], epochs: int | None, data_dir: Any, plots: bool,
         show_progress: bool | None, log: Callable[[str], None] | None, download: bool,
         report_to: ExperimentsReport | None, start: float) -> ExperimentsReport:
    cfg = configs(quick, seed, epochs)
    rep = report_to if report_to is not None else ExperimentsReport()
    rep.settings = {"quick": quick, "datasets": names, "seed": seed,
                    "experiments": list(experiments), "epochs": epochs,
                    "configs": {k: v.to_dict() for k, v in cfg.items()},
                    "threads": sg.get_num_threads(),
                    "blas_threads_settable": backend.blas_threads_settable(),
                    "numpy": backend.np.__version__}
    say = log or (lambda msg: None)
    if plots and out is not None and importlib.util.find_spec("matplotlib") is None:
        say("matplotlib is not installed: skipping the plots (pip install 'softgrad[experiments]')")
        plots = False
    splits: dict[str, Any] = {}

    def split(name: str) -> Any:
        if name not in splits:
            rep.doing = f"loading the dataset {name}"
            splits[name] = s = load_dataset(name, data_dir=data_dir, quick=quick, seed=seed,
                                            download=download)
            say(f"{name}: {len(s.x_train)} training / {len(s.x_test)} test samples, "
                f"{s.num_features} features, {s.num_classes} classes")
            if "jacobian" in experiments:
                rep.jacobians.append(run_jacobian(s, seed=seed))
        return splits[name]

    if "jacobian" in experiments:
        for name in names:
            if name != "sequence":
                split(name)
    jobs = plan(names, experiments, cfg, quick, seed, epochs, data_dir, show_progress, split)
    done: dict[tuple, RunResult] = {}
    rep.planned = len({job.key for job in jobs})
    bar = progress(jobs, show_progress, desc="runs", leave=True)
    for job in bar:
        label = f"{job.experiment} {job.dataset} {job.variant}"
        if job.key in done:
            first = done[job.key]
            rep.results.append(_shared(first, job))
            say(f"        {label}: the {first.experiment} {first.variant} run "
                "(same network, weights and batches; not trained again)")
            continue
        rep.doing = f"training run {rep.trained + 1} of {rep.planned} ({label})"
        bar.set_postfix_str(label)
        result = done[job.key] = job.run()
        rep.results.append(result)
        say(f"[{rep.trained:>{len(str(rep.planned))}}/{rep.planned}] {label}: "
            f"test acc {result.final_test_acc:.3f}, loss {result.final_train_loss:.4f} "
            f"({result.wall_time:.1f} s)")
    bar.close()
    if out is not None:
        rep.doing = f"writing the results to {out}"
        rep.files = write_outputs(rep, out, plots=plots)
    rep.doing = "finished"
    rep.wall_time = time.perf_counter() - start
    return rep


def _shared(first: RunResult, job: _Job) -> RunResult:
    """``first`` listed under another experiment: same epochs, not trained again."""
    config = dict(first.config)
    if job.experiment in ("activation", "depth"):
        config.update(activation=job.key[2], depth=len(job.key[1]))
    return replace(first, experiment=job.experiment, variant=job.variant, config=config,
                   wall_time=0.0, same_as=f"{first.experiment}/{first.variant}")


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
