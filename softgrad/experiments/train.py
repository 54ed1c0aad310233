"""``softgrad train``: train a named model on a named dataset, with checkpoints and resume.

A checkpoint is written (atomically, by ``sg.save``) after every epoch and holds
``{model, optimizer, scheduler, epoch, rng_state, history, config}``. Resuming restores all of
them, including softgrad's global generator (which shuffles the batches and drives dropout),
so a run stopped after epoch ``k`` and resumed gives the same losses, to the bit, as a run
that never stopped.
"""
from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import softgrad as sg
import softgrad.nn.functional as F
from softgrad import backend
from softgrad.experiments import report
from softgrad.experiments.data import load_dataset
from softgrad.experiments.models import build_model
from softgrad.experiments.parallel import data_parallel, sum_over_processes
from softgrad.experiments.progress import progress
from softgrad.experiments.rank import is_main_process
from softgrad.experiments.results import EpochLog, RunResult
from softgrad.experiments.trainer import accuracy, make_optimizer

np = backend.np

SCHEDULERS = ("none", "step", "cosine")

# Each model's own dataset and settings (``softgrad train --model NAME`` starts from these).
RECIPES: dict[str, dict[str, Any]] = {
    "mlp": {"dataset": "digits", "epochs": 15, "lr": 3e-3, "batch_size": 32,
            "scheduler": "cosine"},
    "lenet": {"dataset": "digits", "epochs": 12, "lr": 3e-3, "batch_size": 32,
              "scheduler": "cosine"},
    "cnn1d": {"dataset": "mnist1d", "epochs": 15, "lr": 5e-3, "batch_size": 64,
              "scheduler": "none"},
    "gru": {"dataset": "mnist1d", "epochs": 10, "lr": 1e-2, "batch_size": 64,
            "scheduler": "none"},
    "transformer": {"dataset": "sequence", "epochs": 4, "lr": 2e-3, "batch_size": 64,
                    "scheduler": "none"},
}


@dataclass
class TrainConfig:
    """Settings of ``softgrad train`` (stored in every checkpoint); defaults: the mlp recipe.

    Attributes:
        model: a name from :data:`~softgrad.experiments.models.MODELS`.
        dataset: a name from :data:`~softgrad.experiments.data.DATASETS`.
        epochs: total epochs of the run.
        lr, batch_size, optimizer, seed: as usual (``optimizer`` from
            :data:`~softgrad.experiments.trainer.OPTIMIZERS`).
        scheduler: ``"none"``, ``"step"`` (halve the lr every third of the run) or
            ``"cosine"`` (cosine annealing to 0 over ``epochs``); stepped once per epoch.
        quick: smaller datasets (for smoke runs).
    """

    model: str = "mlp"
    dataset: str = "digits"
    epochs: int = 15
    lr: float = 3e-3
    batch_size: int = 32
    optimizer: str = "adam"
    scheduler: str = "cosine"
    seed: int = 0
    quick: bool = False


@dataclass
class TrainResult:
    """What :func:`train` returns: the per-epoch history, the model and the files written."""

    config: TrainConfig
    history: list[EpochLog] = field(default_factory=list)
    model: Any = None
    checkpoint: str | None = None
    files: list[str] = field(default_factory=list)

    @property
    def losses(self) -> list[float]:
        return [e.train_loss for e in self.history]


def recipe(model: str, **overrides: Any) -> TrainConfig:
    """``model``'s recipe from :data:`RECIPES`, with the non-None ``overrides`` applied."""
    if model not in RECIPES:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(RECIPES)}")
    settings = dict(RECIPES[model], model=model, optimizer="adam", seed=0, quick=False)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**settings)


def _scheduler(name: str, opt: Any, epochs: int) -> Any:
    if name == "none":
        return None
    if name == "step":
        return sg.optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.5)
    if name == "cosine":
        return sg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    raise ValueError(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULERS)}")


def load_checkpoint(path: str) -> dict:
    """Read a ``softgrad train`` checkpoint, checking that it has every part."""
    ck = sg.load(path)
    missing = [k for k in ("model", "optimizer", "scheduler", "epoch", "rng_state", "config")
               if not isinstance(ck, dict) or k not in ck]
    if missing:
        raise ValueError(f"{path} is not a softgrad train checkpoint: missing {missing}")
    return ck


def config_from_checkpoint(ck: dict, **overrides: Any) -> TrainConfig:
    """The checkpoint's config with ``overrides`` applied; only ``epochs`` may differ."""
    saved = TrainConfig(**{k: v for k, v in ck["config"].items()
                           if k in {f.name for f in dataclasses.fields(TrainConfig)}})
    for key, value in overrides.items():
        if value is None or key == "epochs":
            continue
        if getattr(saved, key) != value:
            raise ValueError(f"--{key.replace('_', '-')} {value} differs from the checkpoint's "
                             f"{getattr(saved, key)}; a resumed run keeps its settings (only "
                             f"--epochs may change)")
    if overrides.get("epochs") is not None:
        saved = dataclasses.replace(saved, epochs=int(overrides["epochs"]))
    return saved


def train(config: TrainConfig, out: str | None = "runs/train", checkpoint: str | None = None,
          resume: str | None = None, stop_after: int | None = None, data_dir: Any = None,
          show_progress: bool | None = None,
          log: Callable[[str], None] | None = None) -> TrainResult:
    """Train ``config.model`` on ``config.dataset``; checkpoint after every epoch.

    Args:
        config: the settings (when resuming, take them from :func:`config_from_checkpoint`).
        out: folder for ``history.json`` / ``history.csv`` (None: write no history).
        checkpoint: checkpoint path (default ``<out>/checkpoint.safetensors``; None with
            ``out=None`` writes no checkpoint).
        resume: a checkpoint to continue from.
        stop_after: stop after this epoch, as if interrupted (resume later with ``resume``).
        data_dir: where MNIST's IDX files are.
        show_progress: tqdm bar over the batches (None: only on a terminal).
        log: called with one line per epoch (e.g. ``print``); only on rank 0.
    Only the main process (rank 0 under ``softgrad.distributed``) logs and writes files.
    """
    main = is_main_process()
    say = log if (log is not None and main) else (lambda msg: None)
    if checkpoint is None and out is not None:
        checkpoint = os.path.join(out, "checkpoint.safetensors")
    image = config.model not in ("mlp", "transformer")
    split = load_dataset(config.dataset, data_dir=data_dir, quick=config.quick,
                         seed=config.seed, image=image)
    sg.manual_seed(config.seed)
    model = build_model(config.model, split)
    opt = make_optimizer(config.optimizer, model.parameters(), config.lr)
    sched = _scheduler(config.scheduler, opt, config.epochs)
    result = TrainResult(config, model=model, checkpoint=checkpoint)
    start_epoch = 0
    if resume is not None:
        ck = load_checkpoint(resume)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        if sched is not None:
            sched.load_state_dict(ck["scheduler"])
        sg.set_rng_state(ck["rng_state"])
        start_epoch = int(ck["epoch"])
        result.history = [EpochLog(**e) for e in ck.get("history", [])]
        say(f"resumed from {resume} after epoch {start_epoch}")
    train_set, _ = split.datasets()
    net, loader, sampler = data_parallel(model, train_set, config.batch_size, config.seed)
    last = config.epochs if stop_after is None else min(config.epochs, stop_after)
    for epoch in range(start_epoch, last):
        t0 = time.perf_counter()
        model.train()
        if sampler is not None:
            sampler.set_epoch(epoch)
        loss_sum = correct = seen = 0
        bar = progress(loader, show_progress and main, desc=f"epoch {epoch + 1}",
                       total=len(loader))
        for x, y in bar:
            opt.zero_grad()
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            loss_sum += float(loss.item()) * len(y)
            correct += int((backend.to_numpy(logits._data).argmax(axis=1)
                            == backend.to_numpy(y._data)).sum())
            seen += len(y)
        bar.close()
        loss_sum, correct, seen = sum_over_processes(loss_sum, correct, seen)
        if sched is not None:
            sched.step()
        test_acc = accuracy(model, split.x_test, split.y_test, 1000)
        entry = EpochLog(epoch + 1, loss_sum / seen, correct / seen, test_acc,
                         time.perf_counter() - t0)
        result.history.append(entry)
        say(f"epoch {epoch + 1}/{config.epochs}  loss {entry.train_loss:.6f}  "
            f"train acc {entry.train_acc:.4f}  test acc {test_acc:.4f}  "
            f"({entry.seconds:.2f} s)")
        if main and checkpoint is not None:
            folder = os.path.dirname(os.path.abspath(checkpoint))
            os.makedirs(folder, exist_ok=True)
            sg.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                     "scheduler": None if sched is None else sched.state_dict(),
                     "epoch": epoch + 1, "rng_state": sg.get_rng_state(),
                     "history": [asdict(e) for e in result.history],
                     "config": asdict(config)}, checkpoint)
        if main and out is not None:
            result.files = _write_history(result, out)
    return result


def _write_history(result: TrainResult, out: str) -> list[str]:
    report.ensure_dir(out)
    run = RunResult("train", result.config.dataset, result.config.model,
                           asdict(result.config), list(result.history),
                           sum(e.seconds for e in result.history))
    return [report.write_json(run.to_dict(), os.path.join(out, "history.json")),
            report.write_csv([run], os.path.join(out, "history.csv"))]
