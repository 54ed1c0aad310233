"""PNG plots of experiment results with matplotlib (optional; imported only when plotting).

Figures are drawn on matplotlib's Agg canvas directly, without pyplot's global state, at
150 dpi. Every run gets its own colour, line style and marker (placed at staggered epochs), so
runs whose curves coincide (ReLU and LeakyReLU often do) stay visible; one legend per figure
sits under the panels; panels that are compared side by side share their y-range.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from softgrad.experiments.results import RunResult

DPI = 150
PANEL = (4.8, 3.6)  # inches per panel: 720 x 540 pixels at 150 dpi
_LINES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P")


def _figure(nrows: int, ncols: int, sharey: Any = False) -> tuple[Any, Any]:
    """A figure of ``nrows x ncols`` panels (a 2-D array of axes), room for a legend below."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("plots need matplotlib, which is not installed; install softgrad's "
                          "'experiments' extra: pip install 'softgrad[experiments]'") from exc
    fig = Figure(figsize=(PANEL[0] * ncols, PANEL[1] * nrows + 0.6), dpi=DPI,
                 layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, sharey=sharey, squeeze=False)
    return fig, axes


def _style(i: int, n_epochs: int) -> dict[str, Any]:
    """Colour, line style and marker of the ``i``-th run; markers at staggered epochs."""
    every = max(1, n_epochs // 6)
    return {"color": f"C{i % 10}", "linestyle": _LINES[i % len(_LINES)],
            "marker": _MARKERS[i % len(_MARKERS)], "markersize": 6,
            "markevery": (min(i * max(1, every // 3), n_epochs - 1) % every if n_epochs else 0,
                          every),
            "markerfacecolor": "none" if i % 2 else f"C{i % 10}", "linewidth": 1.6}


def _finish(fig: Any, axes: Any, title: str, path: str, integer_x: bool = True) -> str:
    """Grid, plain tick labels (whole epochs; 0.5 rather than 5×10⁻¹ on log axes), one legend
    under the panels (from the first panel's lines), title, save."""
    from matplotlib.ticker import LogFormatter, MaxNLocator

    class Plain(LogFormatter):  # which ticks get labels: LogFormatter's choice; text: %g
        def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
            return f"{x:g}"

    for ax in axes.flat:
        ax.grid(True, which="major", alpha=0.3)
        if integer_x:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.get_yscale() == "log":
            ax.yaxis.set_major_formatter(Plain(labelOnlyBase=False))
            ax.yaxis.set_minor_formatter(Plain(labelOnlyBase=False, minor_thresholds=(1.2, 0.5)))
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center",
                   ncols=len(labels) if len(labels) <= 5 else 4,
                   frameon=False, fontsize=10)
    if title:
        fig.suptitle(title, fontsize=13)
    fig.savefig(path, dpi=DPI)
    return path


def _epochs(r: RunResult) -> list[int]:
    return [e.epoch for e in r.epochs]


def plot_curves(results: Sequence[RunResult], path: str, title: str = "",
                logit_grads: bool = False, label: Callable[[RunResult], str] | None = None,
                relative_loss: bool = False) -> str:
    """Training loss (log scale) and test accuracy per epoch, one line per run.

    With ``relative_loss`` the loss is shown divided by its own first-epoch value (for runs
    whose losses are different functions); with ``logit_grads`` a third panel shows the
    per-sample gradient norm at the logits.
    """
    fig, axes = _figure(1, 3 if logit_grads else 2)
    axes = axes[0]
    n = max((len(r.epochs) for r in results), default=1)
    for i, r in enumerate(results):
        if not r.epochs:
            continue
        ep, style = _epochs(r), dict(_style(i, n), label=label(r) if label else r.variant)
        loss = [e.train_loss for e in r.epochs]
        if relative_loss:
            loss = [v / loss[0] for v in loss] if loss[0] else loss
        axes[0].plot(ep, loss, **style)
        axes[1].plot(ep, [e.test_acc for e in r.epochs], **style)
        if logit_grads:
            axes[2].plot(ep, [e.logit_grad_norm for e in r.epochs], **style)
    axes[0].set(yscale="log", xlabel="epoch",
                ylabel="training loss ÷ its epoch-1 value" if relative_loss
                else "training loss (cross-entropy)", title="training loss")
    axes[1].set(xlabel="epoch", ylabel="test accuracy", title="test accuracy")
    if logit_grads:
        axes[2].set(yscale="log", xlabel="epoch", ylabel="mean |dL/dz| per sample",
                    title="gradient at the logits")
    return _finish(fig, axes[None, :], title, path)


def _depth(r: RunResult) -> int:
    return int(r.config.get("depth", 0))


def _activation(r: RunResult) -> str:
    return str(r.config.get("activation", r.variant))


def plot_depth(results: Sequence[RunResult], path: str, title: str = "") -> str:
    """Training loss (top row) and test accuracy (bottom row) per epoch, one column per number
    of hidden layers, one line per activation; each row shares its y-range."""
    depths = sorted({_depth(r) for r in results})
    fig, axes = _figure(2, len(depths), sharey="row")
    n = max((len(r.epochs) for r in results), default=1)
    for col, depth in enumerate(depths):
        runs = [r for r in results if _depth(r) == depth and r.epochs]
        for i, r in enumerate(runs):
            style = dict(_style(i, n), label=_activation(r))
            axes[0, col].plot(_epochs(r), [e.train_loss for e in r.epochs], **style)
            axes[1, col].plot(_epochs(r), [e.test_acc for e in r.epochs], **style)
        axes[0, col].set(yscale="log", title=f"{depth} hidden layers")
        axes[1, col].set(xlabel="epoch")
    axes[0, 0].set_ylabel("training loss (cross-entropy)")
    axes[1, 0].set_ylabel("test accuracy")
    return _finish(fig, axes, title, path)


def plot_grad_norms(results: Sequence[RunResult], path: str, title: str = "") -> str:
    """Per-layer weight-gradient norms in the first epoch (log scale), one panel per depth,
    all panels on one y-range.

    x is the linear layer's index (1 = next to the input), one line per activation.
    """
    depths = sorted({_depth(r) for r in results})
    fig, axes = _figure(1, len(depths), sharey=True)
    for ax, depth in zip(axes[0], depths):
        runs = [r for r in results if _depth(r) == depth and r.epochs]
        for i, r in enumerate(runs):
            norms = r.epochs[0].grad_norms
            style = dict(_style(i, len(norms)), markevery=1, label=_activation(r))
            ax.plot(range(1, len(norms) + 1), norms, **style)
        ax.set(yscale="log", xlabel="linear layer (1 = input side)",
               title=f"{depth} hidden layers")
        ax.set_xticks(range(1, depth + 2))
    axes[0, 0].set_ylabel("mean ‖dL/dW‖ in epoch 1")
    return _finish(fig, axes, title, path)


_TITLES = {"output_loss": "Output layer and loss", "activation": "Hidden activation (one "
           "hidden layer of 50)"}


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
                                         f"Per-layer gradient norms in epoch 1, {dataset}"))
            paths.append(plot_depth(runs, os.path.join(out, f"depth_{dataset}.png"),
                                    f"Deeper networks (layers of 50 units), {dataset}"))
        else:
            title = _TITLES.get(experiment, experiment)
            paths.append(plot_curves(runs, os.path.join(out, f"{experiment}_{dataset}.png"),
                                     f"{title}, {dataset}",
                                     logit_grads=experiment == "output_loss",
                                     relative_loss=experiment == "output_loss"))
    return paths
