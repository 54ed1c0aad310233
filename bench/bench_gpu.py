"""softgrad on a GPU (CuPy) against softgrad on the CPU and PyTorch on CPU and CUDA.

Workloads (the same as bench_mlp.py and run_all.py's lenet):
  * mlp:   784-1024-1024-10 MLP with a residual add, Adam, batch 128, one epoch;
  * lenet: LeNet-style CNN (conv 5x5 -> pool -> conv 5x5 -> pool -> 3 linear), Adam, batch
           128, one epoch on 28x28 images.
Every configuration gets one warm-up epoch, then ``--repeats`` timed epochs; GPU timings end
with a device synchronisation. Prints epoch times and the speed-up of each configuration over
softgrad on the CPU.

Needs an NVIDIA GPU with CuPy (the ``cuda`` extra: ``pip install cupy-cuda12x``); torch CUDA is
used when ``torch.cuda.is_available()``. Without a GPU the script stops with a clear message.

Usage:  python bench/bench_gpu.py [--samples 12800] [--lenet-samples 6400] [--repeats 3]
                                  [--threads 16] [--workloads mlp,lenet]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

IN, HID, OUT, BATCH = 784, 1024, 10, 128


def _data(kind: str, n: int) -> tuple:
    import numpy as np

    rng = np.random.default_rng(0)
    shape = (n, IN) if kind == "mlp" else (n, 1, 28, 28)
    return (rng.standard_normal(shape).astype(np.float32),
            rng.integers(0, OUT, size=n).astype(np.int64))


def _models(nn: Any, F: Any) -> dict:
    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(IN, HID), nn.Linear(HID, HID)
            self.fc3 = nn.Linear(HID, OUT)

        def forward(self, x: Any) -> Any:
            h = F.relu(self.fc1(x))
            return self.fc3(F.relu(self.fc2(h)) + h)

    class LeNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
            self.f1, self.f2, self.f3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

        def forward(self, x: Any) -> Any:
            x = F.max_pool2d(F.relu(self.c1(x)), 2)
            x = F.max_pool2d(F.relu(self.c2(x)), 2)
            x = x.reshape(x.shape[0], -1)
            return self.f3(F.relu(self.f2(F.relu(self.f1(x)))))

    return {"mlp": MLP, "lenet": LeNet}


def _build(framework: str, kind: str, device: str, x: Any, y: Any,
           threads: int = 1) -> tuple[Callable, Callable]:
    """(epoch, sync) for 'softgrad' or 'torch' on ``device``; epoch returns the last loss."""
    if framework == "softgrad":
        import softgrad as lib
        import softgrad.nn.functional as F

        def wrap(a: Any) -> Any:
            return lib.tensor(a, device=device)
    else:
        import torch as lib
        import torch.nn.functional as F

        lib.set_num_threads(threads)

        def wrap(a: Any) -> Any:
            return lib.from_numpy(a).to(device)
    lib.manual_seed(0)
    model = _models(lib.nn, F)[kind]().to(device)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    batches = common.make_batches(wrap, x, y, BATCH)

    def epoch() -> float:
        for xb, yb in batches:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
        return loss.item()  # also waits for the device

    def sync() -> None:
        if device != "cpu":
            lib.cuda.synchronize()

    return epoch, sync


def _time(epoch: Callable, sync: Callable, repeats: int) -> dict:
    epoch()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        loss = epoch()
        sync()
        times.append(time.perf_counter() - t0)
    return {"best_s": min(times), "median_s": statistics.median(times), "loss": loss}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=12800, help="MLP samples per epoch")
    p.add_argument("--lenet-samples", type=int, default=6400, help="LeNet samples per epoch")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="CPU threads for the CPU runs (default: all cores)")
    p.add_argument("--workloads", default="mlp,lenet")
    args = p.parse_args()
    common.pin_threads(args.threads)

    import softgrad as sg

    if not sg.cuda.is_available():
        print("bench_gpu.py needs an NVIDIA GPU and CuPy: install the 'cuda' extra "
              "(pip install cupy-cuda12x) on a machine with a GPU. Here "
              "softgrad.cuda.is_available() is False, so nothing was measured.", file=sys.stderr)
        return 2
    try:
        import torch

        torch_cuda = torch.cuda.is_available()
    except ImportError:
        torch, torch_cuda = None, False
    from softgrad import backend

    dev = backend._cupy.cuda.runtime.getDeviceProperties(0)["name"]
    dev = dev.decode() if isinstance(dev, bytes) else dev
    print(f"GPU: {dev}; CuPy {backend._cupy.__version__}; torch "
          f"{torch.__version__ if torch else 'absent'} (CUDA {'yes' if torch_cuda else 'no'}); "
          f"CPU runs with {args.threads} threads")
    for kind in args.workloads.split(","):
        x, y = _data(kind, args.samples if kind == "mlp" else args.lenet_samples)
        runs = ["softgrad cpu", "softgrad cuda"]
        if torch is not None:
            runs += ["torch cpu"] + (["torch cuda"] if torch_cuda else [])
        rows = {}
        for name in runs:
            print(f"  running {kind} / {name} ...", file=sys.stderr, flush=True)
            framework, device = name.split()
            rows[name] = _time(*_build(framework, kind, device, x, y, args.threads),
                               args.repeats)
        n = (len(x) // BATCH) * BATCH
        base = rows["softgrad cpu"]["best_s"]
        print(f"\n{kind}: one epoch of {n} samples, batch {BATCH}, Adam")
        print(f"  {'configuration':<15} {'best':>10} {'median':>10} {'samples/s':>11} "
              f"{'x softgrad cpu':>15} {'final loss':>11}")
        for name, r in rows.items():
            print(f"  {name:<15} {r['best_s']:>9.3f}s {r['median_s']:>9.3f}s "
                  f"{n / r['best_s']:>11.0f} {base / r['best_s']:>14.2f}x {r['loss']:>11.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
