"""The ``softgrad`` command: argument parsing, dispatch, and what the user is told.

    softgrad experiments [--out DIR] [--quick] [--datasets ...] [--seed N]
    softgrad train --model mlp --dataset digits --epochs 10 [--resume PATH] ...

Also runs as ``python -m softgrad``. ``main(argv)`` returns the exit status, so tests call it
in-process: 0 done, 2 a problem with the command line (one line on stderr naming the option),
1 an unexpected failure (its traceback, then a line saying what was being done and where the
files are), 130 interrupted (saying where the last checkpoint is and how to resume).
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn


class UsageError(Exception):
    """A problem with the command line; ``option`` names the option at fault."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{option}: {problem}" if option else problem)


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (``softgrad train: error: ...``), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(kind: Callable[[str], Any], test: Callable[[Any], bool], what: str) -> Any:
    """An argparse type: ``kind(text)`` that passes ``test``, else 'expected WHAT, got TEXT'."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not test(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what  # argparse names the type in some messages
    return parse


_positive_int = _number(int, lambda v: v >= 1, "a whole number of at least 1")
_seed = _number(int, lambda v: 0 <= v < 2 ** 63, "a whole number from 0 to 2**63 - 1")
_positive_float = _number(float, lambda v: 0 < v < float("inf"), "a positive number")


def _version() -> str:
    from softgrad import __version__

    return __version__


def _add_experiments(sub: argparse._SubParsersAction) -> None:
    from softgrad.experiments.data import DATASETS
    from softgrad.experiments.runner import EXPERIMENTS

    p = sub.add_parser(
        "experiments", help="run the seed experiments; write a table, CSV/JSON logs and plots",
        description="Output layer and loss, hidden activation and depth (per-layer gradient "
                    "norms), the Jacobian view and the example models, on breast_cancer, "
                    "digits and MNIST-1D (and MNIST when its IDX files are in --data-dir). "
                    "Prints a line per finished run; writes the files when all have finished. "
                    "About 35 s of CPU time (42 trainings, one thread).")
    p.add_argument("--out", default="runs/experiments",
                   help="output folder (default: %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 2 epochs, fewer samples and runs (about 6 s of CPU time)")
    p.add_argument("--datasets", nargs="+", choices=DATASETS, metavar="NAME",
                   help=f"datasets to use, from {', '.join(DATASETS)} (default: all but mnist, "
                        "plus mnist when its files are present)")
    p.add_argument("--experiments", nargs="+", choices=EXPERIMENTS, default=list(EXPERIMENTS),
                   metavar="NAME", help=f"which experiments, from {', '.join(EXPERIMENTS)} "
                                        "(default: all)")
    p.add_argument("--seed", type=_seed, default=0, help="seed (default: %(default)s)")
    p.add_argument("--epochs", type=_positive_int, help="override every experiment's epochs")
    p.add_argument("--threads", type=_positive_int, default=1,
                   help="BLAS threads (default: %(default)s; these small networks gain nothing "
                        "from more, and one thread keeps the numbers independent of the "
                        "machine's core count)")
    _add_data_options(p)
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_experiments)


def _add_data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="folder with MNIST's IDX files (default: $SOFTGRAD_DATA "
                                      "or ./data)")
    p.add_argument("--download", action="store_true",
                   help="download MNIST's IDX files into --data-dir when they are missing")


def _add_train(sub: argparse._SubParsersAction) -> None:
    from softgrad.experiments.data import DATASETS
    from softgrad.experiments.models import MODELS
    from softgrad.experiments.train import SCHEDULERS
    from softgrad.experiments.trainer import OPTIMIZERS

    p = sub.add_parser(
        "train", help="train a model on a dataset, checkpointing every epoch",
        description="Train with cross-entropy; a checkpoint {model, optimizer, scheduler, "
                    "epoch, rng state} is written after every epoch. --resume continues a run "
                    "bit for bit, writing beside the checkpoint it resumed from. Each model "
                    "starts from its own recipe (dataset, epochs, lr, batch size): mlp and "
                    "lenet on digits, cnn1d and gru on mnist1d, transformer on a generated "
                    "sequence task; adam.")
    p.add_argument("--model", choices=MODELS, help="model (default: mlp)")
    p.add_argument("--dataset", choices=DATASETS, help="dataset (default: the model's)")
    p.add_argument("--epochs", type=_positive_int, help="total epochs (default: the model's)")
    p.add_argument("--lr", type=_positive_float, help="learning rate (default: the model's)")
    p.add_argument("--batch-size", type=_positive_int, help="batch size (default: the model's)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help="optimizer (default: adam)")
    p.add_argument("--scheduler", choices=SCHEDULERS, help="lr schedule (default: the model's)")
    p.add_argument("--seed", type=_seed, help="seed (default: 0)")
    p.add_argument("--quick", action="store_true", default=None, help="smaller datasets")
    p.add_argument("--out", help="folder for history.json/csv and the checkpoint (default: "
                                 "the resumed checkpoint's folder, else runs/train)")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="checkpoint file (default: the resumed one, else "
                        "OUT/checkpoint.safetensors)")
    p.add_argument("--resume", metavar="PATH",
                   help="continue from this checkpoint (or a folder holding "
                        "checkpoint.safetensors)")
    p.add_argument("--overwrite", action="store_true",
                   help="allow replacing another run's checkpoint and history")
    p.add_argument("--stop-after", type=_positive_int, metavar="K",
                   help="stop after epoch K, as if interrupted (continue with --resume)")
    _add_data_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_train)


def build_parser() -> argparse.ArgumentParser:
    """The ``softgrad`` argument parser."""
    parser = _Parser(prog="softgrad",
                     description="softgrad: a small deep-learning framework on NumPy.")
    parser.add_argument("--version", action="version", version=f"softgrad {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_experiments(sub)
    _add_train(sub)
    return parser


def _option_error(exc: Any) -> UsageError:
    """A :class:`~softgrad.experiments.checks.SettingError` as the option it is about."""
    return UsageError("--" + exc.setting.replace("_", "-"), exc.message)


def _check_datasets(names: Sequence[str], args: argparse.Namespace, option: str) -> None:
    from softgrad.experiments.data import missing_requirement

    for name in names:
        problem = missing_requirement(name, args.data_dir, args.download)
        if problem:
            hint = ("; point --data-dir at them, or add --download to fetch them"
                    if name == "mnist" else "")
            raise UsageError(option, f"{name} {problem}{hint}")


# ------------------------------------------------------------------------------- experiments
def _run_experiments(args: argparse.Namespace) -> int:
    from softgrad.experiments.checks import SettingError
    from softgrad.experiments.progress import emit
    from softgrad.experiments.rank import is_main_process
    from softgrad.experiments.runner import ExperimentsReport, resolve_datasets, run_experiments

    main = is_main_process()
    _check_datasets(resolve_datasets(args.datasets, args.data_dir), args, "--datasets")
    rep = ExperimentsReport()
    try:
        run_experiments(out=args.out if main else None, quick=args.quick,
                        datasets=args.datasets, seed=args.seed, experiments=args.experiments,
                        epochs=args.epochs, data_dir=args.data_dir, plots=not args.no_plots,
                        show_progress=False if args.no_progress else None,
                        log=emit if main else None, download=args.download,
                        threads=args.threads, report_to=rep)
    except SettingError as exc:
        raise _option_error(exc) from None
    except KeyboardInterrupt:
        _say(f"interrupted while {rep.doing}; {rep.trained} of {rep.planned} runs had "
             f"finished. The files are written only when all runs finish, so nothing was "
             f"written to {args.out}; run the command again to start over.")
        return 130
    except Exception:
        traceback.print_exc()
        _say(f"softgrad experiments: unexpected error while {rep.doing} (after {rep.trained} "
             f"of {rep.planned} runs); " + (f"files written: {', '.join(rep.files)}"
                                            if rep.files else f"nothing was written to "
                                                              f"{args.out}"))
        return 1
    if main:
        for view in rep.jacobians[:1]:
            print(view.format())
            print()
        if rep.results:
            print(rep.table())
        shared = len(rep.results) - rep.trained
        print(f"\n{rep.trained} runs" + (f" ({shared} more rows share a run)" if shared else "")
              + f" in {rep.wall_time:.1f} s", end="")
        print(f"; wrote {len(rep.files)} files to {args.out}" if rep.files else "", flush=True)
    return 0


# ------------------------------------------------------------------------------------- train
def _train_paths(args: argparse.Namespace) -> tuple[str | None, str, str | None]:
    """``(resume file, out folder, checkpoint file or None for the default)``: a resumed run
    writes beside the checkpoint it resumed from unless --out or --checkpoint say otherwise."""
    from softgrad.experiments.train import checkpoint_file

    resume = checkpoint_file(args.resume) if args.resume else None
    if args.out is not None:
        return resume, args.out, args.checkpoint
    if resume is not None:
        return resume, os.path.dirname(os.path.abspath(resume)), args.checkpoint or resume
    return None, "runs/train", args.checkpoint


def _resume_command(ck: str, out: str | None, args: argparse.Namespace) -> str:
    """The command that continues a run whose newest checkpoint is ``ck``."""
    words = ["softgrad", "train", "--resume", ck]
    if out is not None and os.path.abspath(out) != os.path.dirname(os.path.abspath(ck)):
        words += ["--out", out, "--checkpoint", ck]
    if args.data_dir:
        words += ["--data-dir", args.data_dir]
    return " ".join(shlex.quote(w) for w in words)


def _where(state: Any, args: argparse.Namespace) -> str:
    """Where the run's files are and how to go on from them, in one sentence."""
    if state.saved is None:
        return ("no checkpoint had been written yet (the first comes after epoch 1), so "
                "nothing was saved; run the same command again to start over")
    return (f"the last checkpoint is {state.saved} (after epoch {state.saved_epoch}); "
            f"resume with: {_resume_command(state.saved, state.out, args)}")


def _run_train(args: argparse.Namespace) -> int:
    from softgrad.experiments.checks import SettingError
    from softgrad.experiments.progress import emit
    from softgrad.experiments.rank import is_main_process
    from softgrad.experiments.train import (TrainState, config_from_checkpoint,
                                            load_checkpoint, recipe, train)

    given = {"dataset": args.dataset, "epochs": args.epochs,
             "lr": args.lr, "batch_size": args.batch_size, "optimizer": args.optimizer,
             "scheduler": args.scheduler, "seed": args.seed, "quick": args.quick}
    state = TrainState()
    main = is_main_process()
    try:
        resume, out, checkpoint = _train_paths(args)
        if resume is not None:
            ck = load_checkpoint(resume)
            config = config_from_checkpoint(ck, model=args.model, **given)
            done = int(ck["epoch"])
            if args.epochs is None and done >= config.epochs:
                raise UsageError("--resume", f"{resume} holds a finished run ({done} of "
                                             f"{config.epochs} epochs): nothing to train; add "
                                             f"--epochs N with N above {done} to train further")
        else:
            config = recipe(args.model or "mlp", **given)
        _check_datasets([config.dataset], args, "--dataset")
        result = train(config, out=out, checkpoint=checkpoint, resume=resume,
                       stop_after=args.stop_after, data_dir=args.data_dir,
                       show_progress=False if args.no_progress else None,
                       log=emit, overwrite=args.overwrite, download=args.download,
                       state=state)
    except SettingError as exc:
        raise _option_error(exc) from None
    except UsageError:
        raise
    except KeyboardInterrupt:
        if main:
            _say(f"interrupted while {state.doing}; {_where(state, args)}")
        return 130
    except Exception:
        if main:
            traceback.print_exc()
            _say(f"softgrad train: unexpected error while {state.doing}; {_where(state, args)}")
        return 1
    if result.history and main:
        last = result.history[-1]
        print(f"{config.model} on {config.dataset}: test accuracy {last.test_acc:.4f} "
              f"after {last.epoch} epoch{'s' if last.epoch > 1 else ''}; checkpoint "
              f"{result.checkpoint}", flush=True)
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return the exit status.

    A problem with the command line (a bad value, a file that is not there, an output folder
    that cannot be written, another run's checkpoint in the way) prints one line to stderr
    naming the option, and returns 2 before any work starts.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument (already printed)
        return int(exc.code or 0)
    if args.command == "train":  # under mpiexec -n N: data-parallel, rank 0 prints and saves
        try:
            from softgrad.distributed import init_from_launcher
        except ImportError:  # no distributed support: one process
            init_from_launcher = None  # type: ignore[assignment]
        if init_from_launcher is not None:
            init_from_launcher()
    try:
        return int(args.func(args))
    except UsageError as exc:
        _say(f"softgrad {args.command}: error: {exc}")
        return 2
    except KeyboardInterrupt:  # outside a run (while importing, say)
        _say(f"softgrad {args.command}: interrupted before any work started")
        return 130
