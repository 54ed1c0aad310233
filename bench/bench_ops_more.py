"""Forward + backward time of the selection ops (sort, topk, median, index_add, scatter_reduce,
repeat_interleave, masked_select, cumprod) in softgrad and PyTorch, float32, one process.

Prints the median time of each op in both frameworks (their steps alternating, so load from
other processes hits both alike) and the ratio softgrad / PyTorch.

Usage:  python bench/bench_ops_more.py [--threads 1] [--repeats 20]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common


def cases(lib, x, idx, rep, mask):
    n = idx.shape[0]
    return {
        "sort(dim=1)": lambda t: t.sort(1).values,
        "topk(8, dim=1)": lambda t: t.topk(8, 1).values,
        "median(dim=1)": lambda t: t.median(1).values,
        "index_add(0)": lambda t: t.index_add(0, idx, t[:n] * 2.0),
        "scatter_reduce(amax)": lambda t: t.scatter_reduce(
            0, idx[:, None].expand(-1, t.shape[1]), t[:n] * 2.0, "amax"),
        "repeat_interleave": lambda t: t.repeat_interleave(rep, dim=0),
        "masked_select": lambda t: t.masked_select(mask),
        "cumprod(dim=1)": lambda t: (t * 1e-3 + 1).cumprod(1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--cpu-time", action="store_true",
                   help="time with the process CPU clock (with --threads 1: robust to other "
                        "processes taking the core)")
    args = p.parse_args()
    common.pin_threads(args.threads)
    import numpy as np
    import torch

    import softgrad as sg

    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 1024)).astype(np.float32)
    idx = rng.integers(0, 512, 256)
    rep = rng.integers(0, 4, 512)
    mask = rng.random((512, 1024)) > 0.5
    results = {}
    fns = {}
    for name, lib in (("softgrad", sg), ("torch", torch)):
        t = lib.tensor(x, requires_grad=True)
        for op, fn in cases(lib, t, lib.tensor(idx), lib.tensor(rep), lib.tensor(mask)).items():
            def step(t=t, fn=fn) -> None:
                t.grad = None
                fn(t).sum().backward()
            fns.setdefault(op, {})[name] = step
    for op, steps in fns.items():  # the frameworks alternate step by step, op by op
        results[op] = common.alternate(steps, args.repeats, warmup=2,
                                       clock=time.process_time if args.cpu_time
                                       else time.perf_counter)
    print(f"forward+backward, (512, 1024) float32, {args.threads} thread(s), "
          f"{'CPU' if args.cpu_time else 'wall'} time, median of "
          f"{args.repeats} alternating steps; ratio range: 10th-90th percentile of per-round "
          f"ratios")
    print(f"{'op':24s} {'softgrad':>10s} {'torch':>10s} {'ratio':>7s}  {'range':>11s}")
    for op, r in results.items():
        sgm, tm = statistics.median(r["softgrad"]), statistics.median(r["torch"])
        per = sorted(a / b for a, b in zip(r["softgrad"], r["torch"]))
        lo, hi = per[len(per) // 10], per[-1 - len(per) // 10]
        print(f"{op:24s} {sgm * 1e3:8.2f}ms {tm * 1e3:8.2f}ms {sgm / tm:7.2f}  "
              f"{lo:5.2f}-{hi:<5.2f}")


if __name__ == "__main__":
    main()
