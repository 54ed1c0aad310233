"""The ``softgrad`` command: argument parsing and dispatch only.

    softgrad experiments [--out DIR] [--quick] [--datasets ...] [--seed N]
    softgrad train --model mlp --dataset digits --epochs 10 [--resume PATH] ...

Also runs as ``python -m softgrad``. ``main(argv)`` returns the exit status, so tests call it
in-process.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _add_experiments(sub: argparse._SubParsersAction) -> None:
    from softgrad.experiments.data import DATASETS
    from softgrad.experiments.runner import EXPERIMENTS

    p = sub.add_parser(
        "experiments", help="run the seed experiments; write a table, CSV/JSON logs and plots",
        description="Output layer and loss, hidden activation and depth (per-layer gradient "
                    "norms), and the Jacobian view, on breast_cancer, digits and MNIST-1D "
                    "(and MNIST when its IDX files are in --data-dir).")
    p.add_argument("--out", default="runs/experiments",
                   help="output folder (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="a few epochs, fewer samples")
    p.add_argument("--datasets", nargs="+", choices=DATASETS, metavar="NAME",
                   help=f"datasets to use, from {', '.join(DATASETS)} (default: all but mnist, "
                        "plus mnist when its files are present)")
    p.add_argument("--experiments", nargs="+", choices=EXPERIMENTS, default=list(EXPERIMENTS),
                   metavar="NAME", help=f"which experiments, from {', '.join(EXPERIMENTS)} "
                                        "(default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    p.add_argument("--epochs", type=_positive_int, help="override every experiment's epochs")
    p.add_argument("--data-dir", help="folder with MNIST's IDX files (default: $SOFTGRAD_DATA "
                                      "or ./data)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_experiments)


def _add_train(sub: argparse._SubParsersAction) -> None:
    from softgrad.experiments.data import DATASETS
    from softgrad.experiments.models import MODELS
    from softgrad.experiments.train import SCHEDULERS
    from softgrad.experiments.trainer import OPTIMIZERS

    p = sub.add_parser(
        "train", help="train a model on a dataset, checkpointing every epoch",
        description="Train with cross-entropy; a checkpoint {model, optimizer, scheduler, "
                    "epoch, rng state} is written after every epoch. --resume continues a run "
                    "bit for bit. Each model starts from its own recipe (dataset, epochs, lr, "
                    "batch size): mlp and lenet on digits, cnn1d and gru on mnist1d, "
                    "transformer on a generated sequence task; adam.")
    p.add_argument("--model", choices=MODELS, help="model (default: mlp)")
    p.add_argument("--dataset", choices=DATASETS, help="dataset (default: the model's)")
    p.add_argument("--epochs", type=_positive_int, help="total epochs (default: the model's)")
    p.add_argument("--lr", type=_positive_float, help="learning rate (default: the model's)")
    p.add_argument("--batch-size", type=_positive_int, help="batch size (default: the model's)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help="optimizer (default: adam)")
    p.add_argument("--scheduler", choices=SCHEDULERS, help="lr schedule (default: the model's)")
    p.add_argument("--seed", type=int, help="seed (default: 0)")
    p.add_argument("--quick", action="store_true", default=None, help="smaller datasets")
    p.add_argument("--out", default="runs/train",
                   help="folder for history.json/csv and the checkpoint (default: %(default)s)")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="checkpoint file (default: OUT/checkpoint.safetensors)")
    p.add_argument("--resume", metavar="PATH", help="continue from this checkpoint")
    p.add_argument("--stop-after", type=_positive_int, metavar="K",
                   help="stop after epoch K, as if interrupted (continue with --resume)")
    p.add_argument("--data-dir", help="folder with MNIST's IDX files")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_run_train)


def build_parser() -> argparse.ArgumentParser:
    """The ``softgrad`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="softgrad", description="softgrad: a small deep-learning framework on NumPy.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_experiments(sub)
    _add_train(sub)
    return parser


def _run_experiments(args: argparse.Namespace) -> int:
    from softgrad.experiments.rank import is_main_process
    from softgrad.experiments.runner import run_experiments

    main = is_main_process()
    rep = run_experiments(out=args.out if main else None, quick=args.quick,
                          datasets=args.datasets, seed=args.seed, experiments=args.experiments,
                          epochs=args.epochs, data_dir=args.data_dir, plots=not args.no_plots,
                          show_progress=False if args.no_progress else None,
                          log=print if main else None)
    if main:
        for view in rep.jacobians[:1]:
            print(view.format())
            print()
        if rep.results:
            print(rep.table())
        print(f"\n{len(rep.results)} runs in {rep.wall_time:.1f} s", end="")
        print(f"; wrote {len(rep.files)} files to {args.out}" if rep.files else "")
    return 0


def _run_train(args: argparse.Namespace) -> int:
    from softgrad.experiments.train import config_from_checkpoint, load_checkpoint, recipe, train

    given = {"dataset": args.dataset, "epochs": args.epochs,
             "lr": args.lr, "batch_size": args.batch_size, "optimizer": args.optimizer,
             "scheduler": args.scheduler, "seed": args.seed, "quick": args.quick}
    if args.resume:
        config = config_from_checkpoint(load_checkpoint(args.resume), model=args.model, **given)
    else:
        config = recipe(args.model or "mlp", **given)
    result = train(config, out=args.out, checkpoint=args.checkpoint, resume=args.resume,
                   stop_after=args.stop_after, data_dir=args.data_dir,
                   show_progress=False if args.no_progress else None, log=print)
    if result.history:
        last = result.history[-1]
        from softgrad.experiments.rank import is_main_process

        if is_main_process():
            print(f"{config.model} on {config.dataset}: test accuracy {last.test_acc:.4f} "
                  f"after {last.epoch} epochs; checkpoint {result.checkpoint}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return the exit status.

    Errors in the inputs (unknown dataset, bad checkpoint, missing files) print one line to
    stderr and return 2 instead of a traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":  # under mpiexec -n N: data-parallel, rank 0 prints and saves
        try:
            from softgrad.distributed import init_from_launcher
        except ImportError:  # no distributed support: one process
            init_from_launcher = None
        if init_from_launcher is not None:
            init_from_launcher()
    try:
        return int(args.func(args))
    except (ValueError, FileNotFoundError, ImportError) as exc:
        print(f"softgrad {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        print("interrupted", file=sys.stderr)
        return 130
