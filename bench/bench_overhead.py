"""Per-op overhead: 10,000 iterations of a tiny op chain with backward on 1x10 tensors.

The chain is 10 element-wise ops (mul, add, tanh, ...) then sum and backward, so the time
is dominated by framework bookkeeping rather than arithmetic.

Usage:  python bench/bench_overhead.py [--iters 10000]
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common


def chain(mod, x, w):
    y = x * w
    y = y + 1.0
    y = mod.tanh(y)
    y = y * y
    y = y - x
    y = mod.exp(y)
    y = y * 0.5
    y = y + w
    y = mod.sigmoid(y)
    y = y * x
    return y.sum()


def make_inputs(framework: str, threads: int) -> tuple:
    """(module, x, w) for ``framework``: two 1x10 float32 leaves that require grad."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((1, 10)).astype(np.float32)
    if framework == "softgrad":
        import softgrad as mod

        return mod, mod.tensor(a, requires_grad=True), mod.tensor(a * 0.5, requires_grad=True)
    if framework == "torch":
        import torch as mod

        mod.set_num_threads(threads)
        return mod, mod.tensor(a, requires_grad=True), mod.tensor(a * 0.5, requires_grad=True)
    import warnings

    warnings.filterwarnings("ignore")
    import pydynet as mod

    return (mod, mod.Tensor(a, requires_grad=True, dtype=np.float32),
            mod.Tensor(a * 0.5, requires_grad=True, dtype=np.float32))


def chain_loop(framework: str, threads: int, iters: int):
    """A closure running ``iters`` x (chain + backward + gradient reset)."""
    mod, x, w = make_inputs(framework, threads)

    def run() -> None:
        for _ in range(iters):
            chain(mod, x, w).backward()
            if framework == "pydynet":  # its engine needs zeroed (not None) gradients
                x.zero_grad()
                w.zero_grad()
            else:
                x.grad = None
                w.grad = None

    return run


def child(framework: str, args: argparse.Namespace) -> None:
    run = chain_loop(framework, args.threads, args.iters)
    times = common.time_repeats(run, args.repeats, warmup=1)
    common.emit(common.summarize(times))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--iters", type=int, default=10000)
    p.add_argument("--repeats", type=int, default=5)
    args = common.parse_or_run_child(p, child, threads=2, frameworks=",".join(common.FRAMEWORKS))
    if args is None:
        return
    rows = {fw: common.run_child(__file__, fw, ["--iters", str(args.iters), "--repeats",
                                                str(args.repeats)], args.threads)
            for fw in args.frameworks.split(",")}
    print(common.table(f"Per-op overhead: {args.iters} x (10 ops + sum + backward) on 1x10",
                       rows))


if __name__ == "__main__":
    main()
