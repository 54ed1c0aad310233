"""PNG plots of experiment results with matplotlib (optional; imported only when plotting).

Figures are drawn on matplotlib's Agg canvas directly, without pyplot's global state.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from softgrad.experiments.results import RunResult

DPI = 72
_STYLES = ("-", "--", "-.", ":")


def _figure(ncols: int, width: float = 4.2, height: float = 3.2) -> tuple[Any, list]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("plots need matplotlib, which is not installed; install softgrad's "
                          "'experiments' extra: pip install 'softgrad[experiments]'") from exc
    fig = Figure(figsize=(width * ncols, height), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _save(fig: Any, path: str) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path


def plot_curves(results: Sequence[RunResult], path: str, title: str = "",
                logit_grads: bool = False, label: Any = None) -> str:
    """Training loss (log scale) and test accuracy per epoch, one line per run.

    With ``logit_grads`` a third panel shows the per-sample gradient norm at the logits.
    """
    fig, axes = _figure(3 if logit_grads else 2)
    for i, r in enumerate(results):
        ep = [e.epoch for e in r.epochs]
        style = {"label": label(r) if label else r.variant,
                 "linestyle": _STYLES[i % len(_STYLES)]}
        axes[0].plot(ep, [e.train_loss for e in r.epochs], **style)
        axes[1].plot(ep, [e.test_acc for e in r.epochs], **style)
        if logit_grads:
            axes[2].plot(ep, [e.logit_grad_norm for e in r.epochs], **style)
    axes[0].set(yscale="log", xlabel="epoch", ylabel="training loss (own loss)")
    axes[1].set(xlabel="epoch", ylabel="test accuracy")
    if logit_grads:
        axes[2].set(yscale="log", xlabel="epoch", ylabel="|dL/dz| per sample at the logits")
    axes[1].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_grad_norms(results: Sequence[RunResult], path: str, title: str = "") -> str:
    """Per-layer weight-gradient norms in the first epoch (log scale), one panel per depth.

    x is the linear layer's index (1 = next to the input), one line per activation.
    """
    depths = sorted({int(r.config.get("depth", 0)) for r in results})
    fig, axes = _figure(len(depths), width=3.4)
    for ax, depth in zip(axes, depths):
        runs = [r for r in results if int(r.config.get("depth", 0)) == depth and r.epochs]
        for i, r in enumerate(runs):
            norms = r.epochs[0].grad_norms
            ax.plot(range(1, len(norms) + 1), norms, marker="os^v"[i % 4],
                    linestyle=_STYLES[i % len(_STYLES)],
                    label=str(r.config.get("activation", r.variant)))
        ax.set(yscale="log", xlabel="linear layer (1 = input side)",
               title=f"{depth} hidden layers")
    axes[0].set_ylabel("mean |dL/dW| in epoch 1")
    axes[-1].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_all(results: Sequence[RunResult], out: str) -> list[str]:
    """Every plot of a run of the experiments, written to ``out``; returns the paths."""
    paths = []
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for r in results:
        groups.setdefault((r.experiment, r.dataset), []).append(r)
    models = [r for r in results if r.experiment == "models"]
    if models:
        paths.append(plot_curves(models, os.path.join(out, "models.png"), "Example models",
                                 label=lambda r: f"{r.variant} on {r.dataset}"))
    for (experiment, dataset), runs in groups.items():
        if experiment == "models":
            continue
        if experiment == "depth":
            paths.append(plot_grad_norms(runs, os.path.join(out, f"grad_norms_{dataset}.png"),
                                         f"Per-layer gradient norms, {dataset}"))
            deepest = max(int(r.config.get("depth", 0)) for r in runs)
            deep = [r for r in runs if int(r.config.get("depth", 0)) == deepest]
            paths.append(plot_curves(deep, os.path.join(out, f"depth_{dataset}.png"),
                                     f"{deepest} hidden layers, {dataset}"))
        else:
            label = {"output_loss": "Output layer and loss",
                     "activation": "Hidden activation"}.get(experiment, experiment)
            paths.append(plot_curves(runs, os.path.join(out, f"{experiment}_{dataset}.png"),
                                     f"{label}, {dataset}",
                                     logit_grads=experiment == "output_loss"))
    return paths
