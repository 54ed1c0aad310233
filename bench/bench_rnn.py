"""Recurrent training step: softgrad vs PyTorch (same thread count, same shapes).

Model: ``LSTM`` (or ``GRU``) with ``--layers`` layers, batch_first, input 32, hidden 128,
a linear head on the last time step, cross-entropy, Adam. Sequence 50, batch 64.

By default both frameworks run in one subprocess and alternate step by step, so that load
from other processes on a shared machine hits both alike; the ratio of the median step times
is reported. ``--separate`` runs each framework in its own subprocess instead (``--rounds``
times, alternating), which also gives a clean peak RSS per framework.

Usage:  python bench/bench_rnn.py [--cell lstm] [--layers 1] [--steps 30] [--threads 1]
        [--separate --rounds 2]
"""
from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

IN, HID, OUT, SEQ, BATCH = 32, 128, 10, 50, 64


def make_data(seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SEQ, IN)).astype(np.float32)
    y = rng.integers(0, OUT, size=BATCH).astype(np.int64)
    return x, y


def build(framework: str, cell: str, layers: int, bidirectional: bool, threads: int = 1):
    """(wrap, step) of the training step for ``framework`` ('softgrad' or 'torch')."""
    if framework == "softgrad":
        import softgrad as lib
        import softgrad.nn.functional as F
    else:
        import torch as lib
        import torch.nn.functional as F

        lib.set_num_threads(threads)
    lib.manual_seed(0)
    nn = lib.nn
    rnn = getattr(nn, cell.upper())(IN, HID, num_layers=layers, batch_first=True,
                                    bidirectional=bidirectional)
    head = nn.Linear(HID * (2 if bidirectional else 1), OUT)
    opt = lib.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)

    def step(xb, yb):
        opt.zero_grad()
        out, _ = rnn(xb)
        loss = F.cross_entropy(head(out[:, -1]), yb)
        loss.backward()
        opt.step()

    return lib.from_numpy, step


def _steps(frameworks: list[str], args: argparse.Namespace) -> dict:
    """One argument-free training step closure per framework, on the same data."""
    x, y = make_data()
    steps = {}
    for fw in frameworks:
        wrap, step = build(fw, args.cell, args.layers, args.bidirectional, args.threads)
        steps[fw] = functools.partial(step, wrap(x), wrap(y))
    return steps


def child(framework: str, args: argparse.Namespace) -> None:
    if framework == "both":  # all frameworks in one process, alternating steps
        steps = _steps(args.frameworks.split(","), args)
        common.emit({"times": common.alternate(steps, args.steps, warmup=3)})
        return
    step = _steps([framework], args)[framework]
    times = common.time_repeats(step, args.steps, warmup=3)
    common.emit(common.summarize(times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--steps", type=int, default=30, help="timed steps (per round)")
    p.add_argument("--separate", action="store_true",
                   help="one subprocess per framework instead of alternating steps in one")
    p.add_argument("--rounds", type=int, default=2, help="with --separate: runs per framework")
    args = common.parse_or_run_child(p, child)
    if args is None:
        return
    passthrough = ["--cell", args.cell, "--layers", str(args.layers), "--steps",
                   str(args.steps), "--frameworks", args.frameworks] + (
                       ["--bidirectional"] if args.bidirectional else [])
    kind = f"{args.layers}-layer {'bi' if args.bidirectional else ''}{args.cell.upper()}"
    title = (f"{kind} training step (input {IN}, hidden {HID}, seq {SEQ}, batch {BATCH}, "
             f"Adam; {args.threads} thread(s))")
    if not args.separate:
        r = common.run_child(__file__, "both", passthrough, args.threads)
        if r is None:
            sys.exit(1)
        print(common.table(title + ", steps alternating in one process",
                           common.alternating_rows(r)))
        return
    fws = args.frameworks.split(",")
    collected: dict[str, dict | None] = {fw: {"times": [], "peak_rss_mib": 0.0} for fw in fws}
    for _ in range(args.rounds):
        for fw in fws:
            r = common.run_child(__file__, fw, passthrough, args.threads)
            if r is None or collected[fw] is None:
                collected[fw] = None
                continue
            collected[fw]["times"] += r["times"]
            collected[fw]["peak_rss_mib"] = max(collected[fw]["peak_rss_mib"],
                                                r["peak_rss_mib"])
    rows = {}
    for fw, r in collected.items():
        rows[fw] = None if r is None else r | {"median_s": statistics.median(r["times"])}
    print(common.table(title, rows))


if __name__ == "__main__":
    main()
