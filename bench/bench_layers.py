"""Layer benchmarks: softgrad vs PyTorch, each framework in its own subprocess.

lenet: a LeNet-style CNN (conv 1->6 5x5, relu, maxpool 2, conv 6->16 5x5, relu, maxpool 2,
linear 256->120->84->10) trained on synthetic 28x28 digits (10,000 samples by default),
batch 128, SGD with momentum or Adam. One timed repeat is one epoch; the first epoch is an
untimed warm-up. Reports the median epoch time, the ratio to PyTorch, minor page faults per
training step and peak RSS. PyTorch runs with ``torch.set_num_threads(--threads)`` and the
BLAS/OpenMP thread variables are pinned to the same count for both frameworks. By default
both frameworks run in one process with their epochs alternating (so a busy machine slows
both alike); ``--isolated`` runs each in its own subprocess instead (clean peak RSS).

cnn: the same protocol for a small CIFAR-sized CNN (3x32x32 input; 3x3 convs with padding
32-32-64-64 channels, BatchNorm2d, max pooling, global average pooling), 2,560 samples.

Usage:  python bench/bench_layers.py lenet [--samples 10000] [--repeats 5] [--threads 1]
                                           [--optim sgd|adam] [--isolated]
        python bench/bench_layers.py cnn [--samples 2560] ...
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

BATCH = 128


# ---------------------------------------------------------------------- LeNet
def _blob_images(n: int, shape: tuple[int, int, int], seed: int):
    """n images of ``shape`` in 10 classes: a class-dependent pattern plus noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, size=n).astype(np.int64)
    protos = rng.standard_normal((10, *shape)).astype(np.float32)
    x = protos[y] + 2.0 * rng.standard_normal((n, *shape)).astype(np.float32)
    return x, y


def lenet_data(n: int, seed: int = 0):
    """Synthetic 28x28 'digits': a class-dependent blob pattern plus noise."""
    return _blob_images(n, (1, 28, 28), seed)


def cnn_data(n: int, seed: int = 0):
    """Synthetic 3x32x32 'images' for the CIFAR-sized CNN (same recipe as lenet_data)."""
    return _blob_images(n, (3, 32, 32), seed)


def _lenet_layers(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def _cnn_layers(nn):
    """A small CIFAR-sized CNN: 3x3 convs with padding, batch norm, max pooling, global
    average pooling."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(64, 10))


MODELS = {"lenet": (lenet_data, _lenet_layers), "cnn": (cnn_data, _cnn_layers)}


def build_lenet(fw: str, threads: int, optim: str, model_name: str = "lenet"):
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

    model = MODELS[model_name][1](nn)
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


def _lenet_runner(fw: str, args: argparse.Namespace):
    """An ``epoch()`` callable for one framework and the lists it fills."""
    x, y = MODELS[args.bench][0](args.samples)
    wrap, step = build_lenet(fw, args.threads, args.optim, args.bench)
    batches = [(wrap(x[i:i + BATCH]), wrap(y[i:i + BATCH]))
               for i in range(0, len(x) - BATCH + 1, BATCH)]
    stats: dict = {"faults": [], "losses": [], "steps": len(batches)}

    def epoch() -> None:
        f0 = common.minor_faults()
        for xb, yb in batches:
            loss = step(xb, yb)
        stats["faults"].append((common.minor_faults() - f0) / len(batches))
        stats["losses"].append(float(loss.item()))

    return epoch, stats


def _lenet_result(times: list[float], stats: dict) -> dict:
    res = common.summarize(times)
    res.update(steps=stats["steps"], faults_per_step=stats["faults"][-1],
               final_loss=stats["losses"][-1])
    return res


def lenet_child(fw: str, args: argparse.Namespace) -> None:
    epoch, stats = _lenet_runner(fw, args)
    common.emit(_lenet_result(common.time_repeats(epoch, args.repeats, warmup=1), stats))


def lenet_interleaved(args: argparse.Namespace) -> dict:
    """Both frameworks in this process, epochs alternating, so load changes hit both."""
    common.pin_threads(args.threads)
    fws = args.frameworks.split(",")
    runners = {fw: _lenet_runner(fw, args) for fw in fws}
    times: dict = {fw: [] for fw in fws}
    for r in range(args.repeats + 1):
        for fw in (fws if r % 2 == 0 else fws[::-1]):
            t0 = time.perf_counter()
            runners[fw][0]()
            if r:  # the first round is the warm-up
                times[fw].append(time.perf_counter() - t0)
    rows = {fw: _lenet_result(times[fw], runners[fw][1]) for fw in fws}
    for r in rows.values():
        r["peak_rss_mib"] = common.peak_rss_mib()  # one process: shared
    return rows


def lenet_main(args: argparse.Namespace) -> None:
    if args.isolated:
        passthrough = [args.bench, "--samples", str(args.samples), "--repeats",
                       str(args.repeats), "--optim", args.optim]
        rows = common.run_each(__file__, args.frameworks, passthrough, args.threads)
        how = "one subprocess each"
    else:
        rows = lenet_interleaved(args)
        how = "interleaved epochs in one process; RSS is the process peak"
    title = "LeNet" if args.bench == "lenet" else "CIFAR-sized CNN"
    print(common.table(f"{title} training epoch ({args.samples} samples, batch {BATCH}, "
                       f"{args.optim}, {args.threads} thread(s); {how})", rows))
    if hasattr(os, "getloadavg"):
        print("  load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
              + f" on {os.cpu_count()} CPUs")
    for fw, r in rows.items():
        if r:
            print(f"  {fw:<9} {r['median_s'] / r['steps'] * 1e3:7.2f} ms/step (median)  "
                  f"minor faults/step {r['faults_per_step']:.0f}  final loss "
                  f"{r['final_loss']:.3f}")


# ---------------------------------------------------------------------- entry point
CHILDREN = {"lenet": lenet_child, "cnn": lenet_child}
MAINS = {"lenet": lenet_main, "cnn": lenet_main}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bench", choices=sorted(MAINS), nargs="?", default="lenet")
    p.add_argument("--samples", type=int, default=None,
                   help="training samples (default 10000 for lenet, 2560 for cnn)")
    p.add_argument("--repeats", type=int, default=5, help="timed epochs after one warm-up")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--optim", choices=("sgd", "adam"), default="sgd")
    p.add_argument("--frameworks", default="softgrad,torch")
    p.add_argument("--isolated", action="store_true",
                   help="run each framework in its own subprocess (clean peak RSS) instead of "
                        "alternating epochs in one process (robust ratio on a busy machine)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.samples is None:
        args.samples = 10000 if args.bench == "lenet" else 2560
    if args.child:
        common.pin_threads(args.threads)
        CHILDREN[args.bench](args.child, args)
        return
    MAINS[args.bench](args)


if __name__ == "__main__":
    main()
