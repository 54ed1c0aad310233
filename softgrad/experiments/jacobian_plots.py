"""Heatmaps of the Jacobian view: what ``jacobian.txt`` says, as pictures (matplotlib).

One PNG per dataset, ``jacobian_<dataset>.png``, with three panels computed by autograd
(``sg.autograd.functional.jacobian`` and ``backward``) for one test sample of an untrained
network: the Softmax Jacobian ``diag(f) - f fᵀ``, the Sigmoid's diagonal ``diag(s(1 - s))`` on
the same colour scale, and the gradient of the mean cross-entropy at a batch of logits,
``(p - y)/l``, with each row's true class outlined. Red is positive, blue negative, white 0.
"""
from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import Any

from softgrad import backend
from softgrad.experiments.jacobian import JacobianView
from softgrad.serialization import atomic_write

np = backend.np

DPI = 150
_CMAP = "RdBu_r"


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("plots need matplotlib, which is not installed; install softgrad's "
                          "'experiments' extra: pip install 'softgrad[experiments]'") from exc
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _heatmap(fig: Any, ax: Any, m: Any, limit: float, annotate: bool,
             aspect: str = "equal") -> None:
    """``m`` as coloured cells on a symmetric scale ``[-limit, limit]``, values written in."""
    image = ax.imshow(m, cmap=_CMAP, vmin=-limit, vmax=limit, aspect=aspect)
    fig.colorbar(image, ax=ax, shrink=0.8)
    rows, cols = m.shape
    if annotate:
        size = 9 if cols <= 4 else 6.5
        for i in range(rows):
            for j in range(cols):
                v = m[i, j]
                ax.text(j, i, "0" if v == 0 else f"{v:+.3f}", ha="center", va="center",
                        fontsize=size, color="white" if abs(v) > 0.6 * limit else "black")
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))


def _title(what: str, formula: str, source: str, diff: float) -> str:
    return f"{what}\n${formula}$\nautograd: {source}\nmax |autograd - formula| = {diff:.1e}"


def jacobian_figure(view: JacobianView) -> Any:
    """A matplotlib ``Figure`` with the three heatmaps of ``view`` (no pyplot state)."""
    jac = np.asarray(view.jacobian_autograd)
    jac_s = np.asarray(view.sigmoid_jacobian_autograd)
    grad = np.asarray(view.grad_autograd)
    annotate = jac.shape[0] <= 12
    fig = _figure(18.0, 6.6)
    axes = fig.subplots(1, 3)
    limit = float(max(np.abs(jac).max(), np.abs(jac_s).max())) or 1.0  # one scale for both
    _heatmap(fig, axes[0], jac, limit, annotate)
    axes[0].set_title(_title("Softmax Jacobian", "\\partial f_i / \\partial z_j = "
                             "\\mathrm{diag}(f) - f f^{\\top}", "sg.autograd.functional.jacobian",
                             view.max_diff_jacobian), fontsize=10)
    _heatmap(fig, axes[1], jac_s, limit, annotate)
    axes[1].set_title(_title("Sigmoid Jacobian", "\\partial s_i / \\partial z_j = "
                             "\\mathrm{diag}(s\\,(1-s))", "sg.autograd.functional.jacobian",
                             view.max_diff_sigmoid), fontsize=10)
    for ax in axes[:2]:
        ax.set(xlabel="logit j", ylabel="output i")
    _heatmap(fig, axes[2], grad, float(np.abs(grad).max()) or 1.0, annotate,
             "auto" if grad.shape[1] < grad.shape[0] else "equal")
    labels = (view.labels or [view.label])[:grad.shape[0]]
    for i, y in enumerate(labels):
        axes[2].add_patch(_outline(y, i))
    axes[2].set_yticklabels([f"{i} (y={y})" for i, y in enumerate(labels)])
    axes[2].set(xlabel="class c (outlined: the true class)", ylabel="sample (its label)")
    axes[2].set_title(_title("Mean cross-entropy, gradient at the logits",
                             f"\\partial L / \\partial z = (p - y)/l,\\ l = {view.batch_size}",
                             "backward()", view.max_diff_grad), fontsize=10)
    fig.suptitle(f"{view.dataset}: softmax and sigmoid Jacobians of one test sample "
                 f"(label {view.label}), cross-entropy gradient of {view.batch_size}; "
                 "untrained network, float64. Red > 0, blue < 0.", fontsize=11)
    return fig


def plot_jacobian(view: JacobianView, path: str) -> str:
    """Write the three heatmaps of ``view`` to ``path`` (PNG, 150 dpi); returns the path."""
    return _save(jacobian_figure(view), path)


def _outline(col: int, row: int) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="gold",
                     linewidth=3)


def _save(fig: Any, path: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    data = buf.getvalue()
    atomic_write(path, lambda fh: fh.write(data))
    return path


def plot_jacobians(views: Sequence[JacobianView], out: str) -> list[str]:
    """``jacobian_<dataset>.png`` in ``out`` for each view; returns the paths."""
    return [plot_jacobian(v, os.path.join(out, f"jacobian_{v.dataset}.png")) for v in views]
