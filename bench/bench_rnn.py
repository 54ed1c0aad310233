"""Recurrent training step: softgrad vs PyTorch (same thread count, same shapes).

Model: ``LSTM`` (or ``GRU``) with ``--layers`` layers, batch_first, input 32, hidden 128,
a linear head on the last time step, cross-entropy, Adam. Sequence 50, batch 64. Each
framework runs in its own subprocess; ``--rounds`` alternates them to even out machine load,
and the reported time is the median over all timed steps.

Usage:  python bench/bench_rnn.py [--cell lstm] [--layers 1] [--steps 20] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

IN, HID, OUT, SEQ, BATCH = 32, 128, 10, 50, 64


def make_data(seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SEQ, IN)).astype(np.float32)
    y = rng.integers(0, OUT, size=BATCH).astype(np.int64)
    return x, y


def build_softgrad(cell: str, layers: int, bidirectional: bool):
    import softgrad as sg
    import softgrad.nn as nn
    import softgrad.nn.functional as F

    sg.manual_seed(0)
    rnn = getattr(nn, cell.upper())(IN, HID, num_layers=layers, batch_first=True,
                                    bidirectional=bidirectional)
    head = nn.Linear(HID * (2 if bidirectional else 1), OUT)
    opt = sg.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)

    def step(xb, yb):
        opt.zero_grad()
        out, _ = rnn(xb)
        loss = F.cross_entropy(head(out[:, -1]), yb)
        loss.backward()
        opt.step()

    return sg.from_numpy, step


def build_torch(cell: str, layers: int, bidirectional: bool, threads: int):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rnn = getattr(nn, cell.upper())(IN, HID, num_layers=layers, batch_first=True,
                                    bidirectional=bidirectional)
    head = nn.Linear(HID * (2 if bidirectional else 1), OUT)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)

    def step(xb, yb):
        opt.zero_grad()
        out, _ = rnn(xb)
        loss = F.cross_entropy(head(out[:, -1]), yb)
        loss.backward()
        opt.step()

    return torch.from_numpy, step


def child(framework: str, args: argparse.Namespace) -> None:
    x, y = make_data()
    if framework == "softgrad":
        wrap, step = build_softgrad(args.cell, args.layers, args.bidirectional)
    else:
        wrap, step = build_torch(args.cell, args.layers, args.bidirectional, args.threads)
    xb, yb = wrap(x), wrap(y)
    times = common.time_repeats(lambda: step(xb, yb), args.steps, warmup=3)
    common.emit(common.summarize(times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--steps", type=int, default=20, help="timed steps per round")
    p.add_argument("--rounds", type=int, default=2, help="alternating runs per framework")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--frameworks", default="softgrad,torch")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        common.pin_threads(args.threads)
        child(args.child, args)
        return
    passthrough = ["--cell", args.cell, "--layers", str(args.layers), "--steps",
                   str(args.steps)] + (["--bidirectional"] if args.bidirectional else [])
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
    kind = f"{args.layers}-layer {'bi' if args.bidirectional else ''}{args.cell.upper()}"
    print(common.table(f"{kind} training step (input {IN}, hidden {HID}, seq {SEQ}, batch "
                       f"{BATCH}, Adam; {args.threads} thread(s))", rows))


if __name__ == "__main__":
    main()
