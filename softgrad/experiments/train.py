"""``softgrad train``: train a named model on a named dataset, with checkpoints and resume.

A checkpoint is written (atomically, by ``sg.save``) after every epoch and holds
``{model, optimizer, scheduler, epoch, rng_state, history, config}``. Resuming restores all of
them, including softgrad's global generator (which shuffles the batches and drives dropout),
so a run stopped after epoch ``k`` and resumed gives the same losses, to the bit, as a run
that never stopped. A resumed run writes to the file it resumed from (when its folder is the
output folder); no run replaces another run's checkpoint unless asked to (``overwrite``).
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
from softgrad.experiments.checks import SettingError, ensure_writable, same_file
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


@dataclass
class TrainState:
    """Where a run of :func:`train` stands, updated as it goes (for messages on Ctrl-C or on an
    unexpected error).

    Attributes:
        doing: what it is doing now, in words (``"training epoch 3 of 15"``).
        epoch: the epoch being trained (1-based); 0 before the first.
        saved_epoch: the epoch of the newest checkpoint on disk, None before the first.
        saved: that checkpoint's path (the resumed file until the run writes its own).
        checkpoint: the checkpoint file the run writes.
        out: the folder of ``history.json`` / ``history.csv``.
    """

    doing: str = "starting"
    epoch: int = 0
    saved_epoch: int | None = None
    saved: str | None = None
    checkpoint: str | None = None
    out: str | None = None


def recipe(model: str, **overrides: Any) -> TrainConfig:
    """``model``'s recipe from :data:`RECIPES`, with the non-None ``overrides`` applied."""
    if model not in RECIPES:
        raise SettingError("model", f"unknown model {model!r}; choose one of "
                                    f"{', '.join(RECIPES)}")
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
    raise SettingError("scheduler", f"unknown scheduler {name!r}; choose one of "
                                    f"{', '.join(SCHEDULERS)}")


CHECKPOINT_NAME = "checkpoint.safetensors"


def checkpoint_file(path: str, setting: str = "resume") -> str:
    """``path`` if it is a file, ``path/checkpoint.safetensors`` if it is a folder holding one.

    Raises:
        SettingError: nothing there, or a folder without a checkpoint.
    """
    if os.path.isdir(path):
        inner = os.path.join(path, CHECKPOINT_NAME)
        if os.path.isfile(inner):
            return inner
        raise SettingError(setting, f"{path} is a folder without a {CHECKPOINT_NAME} in it; "
                                    "name the checkpoint file")
    if not os.path.exists(path):
        raise SettingError(setting, f"{path} does not exist")
    return path


def load_checkpoint(path: str, setting: str = "resume") -> dict:
    """Read a ``softgrad train`` checkpoint (a file, or a folder holding
    ``checkpoint.safetensors``), checking that it has every part.

    Raises:
        SettingError: missing, unreadable, or not a ``softgrad train`` checkpoint.
    """
    path = checkpoint_file(path, setting)
    try:
        ck = sg.load(path)
    except (OSError, ValueError) as exc:  # CheckpointError is a ValueError
        raise SettingError(setting, f"{path} is not a readable checkpoint: {exc}") from None
    missing = [k for k in ("model", "optimizer", "scheduler", "epoch", "rng_state", "config")
               if not isinstance(ck, dict) or k not in ck]
    if missing:
        raise SettingError(setting, f"{path} is not a softgrad train checkpoint: missing "
                                    f"{missing}")
    return ck


def describe_checkpoint(path: str) -> str:
    """``"mlp on digits, 3 of 15 epochs"``, or ``"not a softgrad train checkpoint"``."""
    try:
        ck = load_checkpoint(path)
        cfg = ck["config"]
        return f"{cfg['model']} on {cfg['dataset']}, {int(ck['epoch'])} of {cfg['epochs']} epochs"
    except (SettingError, KeyError, TypeError):
        return "not a softgrad train checkpoint"


def config_from_checkpoint(ck: dict, **overrides: Any) -> TrainConfig:
    """The checkpoint's config with ``overrides`` applied; only ``epochs`` may differ."""
    saved = TrainConfig(**{k: v for k, v in ck["config"].items()
                           if k in {f.name for f in dataclasses.fields(TrainConfig)}})
    for key, value in overrides.items():
        if value is None or key == "epochs":
            continue
        if getattr(saved, key) != value:
            raise SettingError(key, f"{value} differs from the checkpoint's "
                                    f"{getattr(saved, key)}; a resumed run keeps its settings "
                                    "(only the epochs may change)")
    if overrides.get("epochs") is not None:
        saved = dataclasses.replace(saved, epochs=int(overrides["epochs"]))
    return saved


def _guard_outputs(out: str | None, checkpoint: str | None, resume: str | None,
                   overwrite: bool, setting: str) -> None:
    """Refuse to replace another run's checkpoint or history (unless ``overwrite``)."""
    in_place = same_file(checkpoint, resume)
    if overwrite or in_place:
        return
    if checkpoint is not None and os.path.exists(checkpoint):
        if os.path.isdir(checkpoint):
            raise SettingError(setting, f"{checkpoint} is a folder, not a checkpoint file")
        raise SettingError(setting, f"{checkpoint} already holds another run "
                                    f"({describe_checkpoint(checkpoint)}); continue it with "
                                    f"--resume {checkpoint}, choose another folder, or "
                                    "overwrite it explicitly (--overwrite)")
    history = None if out is None else os.path.join(out, "history.json")
    if history is not None and os.path.exists(history):
        raise SettingError("out", f"{out} already holds another run's history.json; choose "
                                  "another folder, or overwrite it explicitly (--overwrite)")


def train(config: TrainConfig, out: str | None = "runs/train", checkpoint: str | None = None,
          resume: str | None = None, stop_after: int | None = None, data_dir: Any = None,
          show_progress: bool | None = None, log: Callable[[str], None] | None = None,
          overwrite: bool = False, download: bool = False,
          state: TrainState | None = None) -> TrainResult:
    """Train ``config.model`` on ``config.dataset``; checkpoint after every epoch.

    Args:
        config: the settings (when resuming, take them from :func:`config_from_checkpoint`).
        out: folder for ``history.json`` / ``history.csv`` (None: write no history).
        checkpoint: checkpoint path. Default: the ``resume`` file itself when it lies in
            ``out``, else ``<out>/checkpoint.safetensors``; None with ``out=None`` writes none.
        resume: a checkpoint (or a folder holding ``checkpoint.safetensors``) to continue.
        stop_after: stop after this epoch, as if interrupted (resume later with ``resume``).
        data_dir: where MNIST's IDX files are.
        show_progress: tqdm bar over the batches (None: only on a terminal).
        log: called with one line per epoch (e.g. ``print``); only on rank 0.
        overwrite: allow replacing a checkpoint or history of another run.
        download: fetch MNIST's IDX files into ``data_dir`` when they are missing.
        state: a :class:`TrainState` to keep up to date (read it after an interruption).
    Raises:
        SettingError: a setting that cannot work, found before any training: an output
            folder that cannot be written, another run's checkpoint in the way, a checkpoint
            that cannot be resumed, nothing left to train, a model the dataset does not fit.
    Only the main process (rank 0 under ``softgrad.distributed``) logs and writes files.
    """
    main = is_main_process()
    say = log if (log is not None and main) else (lambda msg: None)
    state = state if state is not None else TrainState()
    if resume is not None:
        resume = checkpoint_file(resume)
    if checkpoint is None and out is not None:
        beside = resume is not None and same_file(os.path.dirname(os.path.abspath(resume)), out)
        checkpoint = resume if beside else os.path.join(out, CHECKPOINT_NAME)
    state.checkpoint, state.out = checkpoint, out
    _guard_outputs(out, checkpoint, resume, overwrite,
                   "out" if out is not None and checkpoint is not None
                   and same_file(os.path.dirname(os.path.abspath(checkpoint)), out)
                   else "checkpoint")
    ck = None
    if resume is not None:
        state.doing = f"reading the checkpoint {resume}"
        ck = load_checkpoint(resume)
        start = int(ck["epoch"])
        state.saved_epoch, state.saved = start, resume
        if start >= config.epochs:
            raise SettingError("epochs", f"the checkpoint {resume} is already at epoch {start}, "
                                         f"so --epochs {config.epochs} leaves nothing to train; "
                                         f"ask for more than {start}")
        if stop_after is not None and stop_after <= start:
            raise SettingError("stop_after", f"{stop_after} is not after the checkpoint's epoch "
                                             f"{start}: nothing to train")
    if main:
        if out is not None:
            ensure_writable(out, "out")
        if checkpoint is not None:
            ensure_writable(os.path.dirname(os.path.abspath(checkpoint)), "checkpoint")
    state.doing = f"loading the dataset {config.dataset}"
    image = config.model not in ("mlp", "transformer")
    try:
        split = load_dataset(config.dataset, data_dir=data_dir, quick=config.quick,
                             seed=config.seed, image=image, download=download)
    except (FileNotFoundError, ImportError) as exc:
        raise SettingError("dataset", f"{config.dataset}: {exc}") from None
    state.doing = f"building the model {config.model}"
    sg.manual_seed(config.seed)
    try:
        model = build_model(config.model, split)
    except ValueError as exc:
        raise SettingError("model", str(exc)) from None
    opt = make_optimizer(config.optimizer, model.parameters(), config.lr)
    sched = _scheduler(config.scheduler, opt, config.epochs)
    result = TrainResult(config, model=model, checkpoint=checkpoint)
    start_epoch = 0
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        if sched is not None:
            sched.load_state_dict(ck["scheduler"])
        sg.set_rng_state(ck["rng_state"])
        start_epoch = int(ck["epoch"])
        result.history = [EpochLog(**e) for e in ck.get("history", [])]
        say(f"resumed from {resume} after epoch {start_epoch}")
    train_set, _ = split.datasets()
    try:
        net, loader, sampler = data_parallel(model, train_set, config.batch_size, config.seed)
    except ValueError as exc:
        raise SettingError("batch_size", str(exc)) from None
    last = config.epochs if stop_after is None else min(config.epochs, stop_after)
    for epoch in range(start_epoch, last):
        state.epoch = epoch + 1
        state.doing = f"training epoch {epoch + 1} of {config.epochs}"
        entry = _train_epoch(net, model, opt, loader, sampler, split, epoch,
                             show_progress and main)
        if sched is not None:
            sched.step()
        result.history.append(entry)
        if main and checkpoint is not None:
            state.doing = f"writing the checkpoint of epoch {epoch + 1} to {checkpoint}"
        say(f"epoch {epoch + 1}/{config.epochs}  loss {entry.train_loss:.6f}  "
            f"train acc {entry.train_acc:.4f}  test acc {entry.test_acc:.4f}  "
            f"({entry.seconds:.2f} s)")
        if main and checkpoint is not None:
            sg.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                     "scheduler": None if sched is None else sched.state_dict(),
                     "epoch": epoch + 1, "rng_state": sg.get_rng_state(),
                     "history": [asdict(e) for e in result.history],
                     "config": asdict(config)}, checkpoint)
            state.saved_epoch, state.saved = epoch + 1, checkpoint
        if main and out is not None:
            state.doing = f"writing the history of epoch {epoch + 1} to {out}"
            result.files = _write_history(result, out)
    state.doing = "finished"
    return result


def _train_epoch(net: Any, model: Any, opt: Any, loader: Any, sampler: Any, split: Any,
                 epoch: int, show_progress: bool | None) -> EpochLog:
    """One pass over the training set, then the test accuracy (summed over processes)."""
    t0 = time.perf_counter()
    model.train()
    if sampler is not None:
        sampler.set_epoch(epoch)
    loss_sum: float
    loss_sum = correct = seen = 0
    bar = progress(loader, show_progress, desc=f"epoch {epoch + 1}", total=len(loader))
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
    test_acc = accuracy(model, split.x_test, split.y_test, 1000)
    return EpochLog(epoch + 1, loss_sum / seen, correct / seen, test_acc,
                    time.perf_counter() - t0)


def _write_history(result: TrainResult, out: str) -> list[str]:
    report.ensure_dir(out)
    run = RunResult("train", result.config.dataset, result.config.model,
                    asdict(result.config), list(result.history),
                    sum(e.seconds for e in result.history))
    return [report.write_json(run.to_dict(), os.path.join(out, "history.json")),
            report.write_csv([run], os.path.join(out, "history.csv"))]
