"""Tables, CSV and JSON of experiment results (standard library only)."""
from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from typing import Any

from softgrad.experiments.activation import gradient_ratio
from softgrad.experiments.results import RunResult, epochs_to_fraction
from softgrad.serialization import atomic_write

COLUMNS = ("experiment", "dataset", "variant", "final train loss", "test acc",
           "epochs to 90%", "‖∇W1‖/‖∇WL‖ ep1", "wall time (s)")

# One line per column, printed under the table.
COLUMN_NOTES = (
    "final train loss: mean loss over the last epoch's batches, in the run's own loss "
    "(cross-entropy, binary cross-entropy or squared error: compare within a loss only)",
    "test acc: test accuracy after the last epoch",
    "epochs to 90%: first epoch whose test accuracy reaches 90% of the best test accuracy "
    "that any run of the same experiment on the same dataset reached; never: it did not",
    "‖∇W1‖/‖∇WL‖ ep1: first linear layer's weight-gradient norm over the last one's, mean "
    "over epoch 1 (far below 1: the gradient vanishes on its way to the input)",
    "wall time (s): training and evaluation of the run; shared: the run of the row it names, "
    "trained once (same network, weights, batches and loss)",
)

# What each example model is, in a few words (the README's table of example models).
DESCRIPTIONS = {"mlp": "64-128-10 MLP, ReLU", "lenet": "LeNet-style CNN",
                "cnn1d": "three 1-D conv layers", "gru": "GRU, 64 hidden units",
                "transformer": "2-layer Transformer encoder, d_model 32"}


def _fmt(v: Any, spec: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec)


def group_best(results: Sequence[RunResult]) -> dict[tuple[str, str], float]:
    """Best test accuracy of any epoch of any run, per (experiment, dataset)."""
    best: dict[tuple[str, str], float] = {}
    for r in results:
        if r.epochs:
            key = (r.experiment, r.dataset)
            best[key] = max(best.get(key, 0.0), r.best_test_acc)
    return best


def epochs_to_90(result: RunResult, best: float) -> int | None:
    """First epoch whose test accuracy reaches 90% of ``best`` (None: never)."""
    return epochs_to_fraction([e.test_acc for e in result.epochs], 0.9, best)


def summary_rows(results: Sequence[RunResult]) -> list[list[str]]:
    """One row of strings per run, in the order of :data:`COLUMNS`."""
    best = group_best(results)
    rows = []
    for r in results:
        ratio = gradient_ratio(r) if r.experiment in ("depth", "activation") else None
        reach = epochs_to_90(r, best[(r.experiment, r.dataset)]) if r.epochs else None
        variant = f"{r.variant} (= {r.same_as.replace('/', ' ')})" if r.same_as else r.variant
        rows.append([r.experiment, r.dataset, variant, _fmt(r.final_train_loss, ".4f"),
                     _fmt(r.final_test_acc, ".3f"),
                     "never" if reach is None and r.epochs else _fmt(reach, "d"),
                     _fmt(ratio, ".1e"), "shared" if r.same_as else _fmt(r.wall_time, ".2f")])
    return rows


def format_table(results: Sequence[RunResult], notes: bool = True) -> str:
    """A fixed-width text table for the terminal (with a line per column under it)."""
    rows = summary_rows(results)
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
              for i, c in enumerate(COLUMNS)]
    numeric = [False, False, False, True, True, True, True, True]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(cells, widths, numeric)).rstrip()

    out = [line(COLUMNS), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    if notes:
        out += [""] + list(COLUMN_NOTES)
    return "\n".join(out)


def format_markdown(results: Sequence[RunResult], notes: bool = True) -> str:
    """The summary table in Markdown (with a line per column under it)."""
    out = ["| " + " | ".join(COLUMNS) + " |",
           "|" + "|".join("---" if i < 3 else "---:" for i in range(len(COLUMNS))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in summary_rows(results)]
    if notes:
        out += [""] + [f"- {note}" for note in COLUMN_NOTES]
    return "\n".join(out)


def models_markdown(results: Sequence[RunResult]) -> str:
    """The example models' table of the README: model, dataset, epochs, test accuracy."""
    out = ["| model | dataset | epochs | test accuracy |", "|---|---|---:|---:|"]
    for r in results:
        if r.experiment == "models":
            what = DESCRIPTIONS.get(r.variant, r.variant)
            out.append(f"| `{r.variant}` ({what}) | {r.dataset} | {len(r.epochs)} | "
                       f"{100 * r.final_test_acc:.1f}% |")
    return "\n".join(out)


def epoch_rows(results: Sequence[RunResult]) -> tuple[list[str], list[list[Any]]]:
    """``(header, rows)``: one CSV row per run and epoch, with per-layer gradient norms."""
    n_layers = max((len(e.grad_norms) for r in results for e in r.epochs), default=0)
    header = ["experiment", "dataset", "variant", "epoch", "train_loss", "train_acc",
              "test_acc", "seconds", "logit_grad_norm"]
    header += [f"grad_norm_layer{i + 1}" for i in range(n_layers)]
    rows = []
    for r in results:
        for e in r.epochs:
            norms: list[Any] = list(e.grad_norms) + [""] * (n_layers - len(e.grad_norms))
            lg = "" if math.isnan(e.logit_grad_norm) else _round(e.logit_grad_norm)
            rows.append([r.experiment, r.dataset, r.variant, e.epoch, _round(e.train_loss),
                         _round(e.train_acc), _round(e.test_acc), round(e.seconds, 4), lg]
                        + [v if v == "" else _round(v) for v in norms])
    return header, rows


def _round(v: float, digits: int = 6) -> float:
    """``v`` to ``digits`` significant digits (keeps the logs small and readable)."""
    return float(f"{v:.{digits}g}")


def _clean(obj: Any) -> Any:
    """Floats rounded to 6 significant digits; NaN and infinities become None (standard JSON)."""
    if isinstance(obj, float):
        return _round(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_text(path: str, text: str) -> str:
    """Write ``text`` to ``path`` atomically (UTF-8); returns the path."""
    data = text.encode("utf-8")
    atomic_write(path, lambda fh: fh.write(data))
    return path


def write_csv(results: Sequence[RunResult], path: str) -> str:
    """Every epoch of every run as CSV."""
    header, rows = epoch_rows(results)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return write_text(path, buf.getvalue())


def write_json(payload: Any, path: str) -> str:
    """``payload`` as compact, standard JSON (NaN written as null)."""
    text = json.dumps(_clean(payload), separators=(",", ":"), ensure_ascii=False)
    return write_text(path, text + "\n")


def ensure_dir(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    return path
