"""Layer benchmarks: softgrad vs PyTorch, each framework in its own subprocess.

lenet: a LeNet-style CNN (conv 1->6 5x5, relu, maxpool 2, conv 6->16 5x5, relu, maxpool 2,
linear 256->120->84->10) trained on synthetic 28x28 digits (10,000 samples by default),
batch 128, SGD with momentum or Adam. One timed repeat is one epoch; the first epoch is an
untimed warm-up. Reports the median epoch time, the ratio to PyTorch, minor page faults per
training step and peak RSS. PyTorch runs with ``torch.set_num_threads(--threads)`` and the
BLAS/OpenMP thread variables are pinned to the same count for both frameworks.

Usage:  python bench/bench_layers.py lenet [--samples 10000] [--repeats 5] [--threads 1]
                                           [--optim sgd|adam]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

BATCH = 128


# ---------------------------------------------------------------------- LeNet
def lenet_data(n: int, seed: int = 0):
    """Synthetic 28x28 'digits': a class-dependent blob pattern plus noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, size=n).astype(np.int64)
    protos = rng.standard_normal((10, 1, 28, 28)).astype(np.float32)
    x = protos[y] + 2.0 * rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    return x, y


def build_lenet(fw: str, threads: int, optim: str):
    """(to_tensor, step) for one framework; step(xb, yb) runs one training step."""
    if fw == "torch":
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        torch.set_num_threads(threads)
        torch.manual_seed(0)
        lib, wrap = torch, torch.from_numpy
    else:
        import softgrad as sg
        import softgrad.nn as nn
        import softgrad.nn.functional as F

        sg.manual_seed(0)
        lib, wrap = sg, sg.from_numpy

    model = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))
    if optim == "adam":
        opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    return wrap, step


def lenet_child(fw: str, args: argparse.Namespace) -> None:
    x, y = lenet_data(args.samples)
    wrap, step = build_lenet(fw, args.threads, args.optim)
    batches = [(wrap(x[i:i + BATCH]), wrap(y[i:i + BATCH]))
               for i in range(0, len(x) - BATCH + 1, BATCH)]
    faults: list[float] = []
    losses: list[float] = []

    def epoch():
        f0 = common.minor_faults()
        for xb, yb in batches:
            loss = step(xb, yb)
        faults.append((common.minor_faults() - f0) / len(batches))
        losses.append(float(loss.item()))

    times = common.time_repeats(epoch, args.repeats, warmup=1)
    res = common.summarize(times)
    res["steps"] = len(batches)
    res["faults_per_step"] = faults[-1]
    res["final_loss"] = losses[-1]
    common.emit(res)


def lenet_main(args: argparse.Namespace) -> None:
    passthrough = ["lenet", "--samples", str(args.samples), "--repeats", str(args.repeats),
                   "--optim", args.optim]
    rows = {}
    for fw in args.frameworks.split(","):
        print(f"running {fw} ...", file=sys.stderr)
        t0 = time.perf_counter()
        rows[fw] = common.run_child(__file__, fw, passthrough, args.threads)
        print(f"  done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(common.table(f"LeNet training epoch ({args.samples} samples, batch {BATCH}, "
                       f"{args.optim}, {args.threads} thread(s))", rows))
    for fw, r in rows.items():
        if r:
            print(f"  {fw:<9} {r['median_s'] / r['steps'] * 1e3:7.2f} ms/step  minor faults/step "
                  f"{r['faults_per_step']:.0f}  final loss {r['final_loss']:.3f}")


# ---------------------------------------------------------------------- entry point
CHILDREN = {"lenet": lenet_child}
MAINS = {"lenet": lenet_main}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bench", choices=sorted(MAINS), nargs="?", default="lenet")
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--repeats", type=int, default=5, help="timed epochs after one warm-up")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--optim", choices=("sgd", "adam"), default="sgd")
    p.add_argument("--frameworks", default="softgrad,torch")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        common.pin_threads(args.threads)
        CHILDREN[args.bench](args.child, args)
        return
    MAINS[args.bench](args)


if __name__ == "__main__":
    main()
