"""MLP training epoch and inference throughput: softgrad vs PyTorch vs PyDyNet.

Model: 784-1024-1024-10, ReLU, a residual add before the last layer, Adam, batch 128,
cross-entropy, on synthetic MNIST-shaped data (60,000 samples by default). Also reports
model FLOP/s and, per epoch, RSS growth (epoch 2 vs last) and minor page faults per step.

Usage:  python bench/bench_mlp.py [--samples 60000] [--epochs 3] [--threads 2]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

IN, HID, OUT, BATCH = 784, 1024, 10, 128


def flops_per_sample() -> float:
    """Forward+backward FLOPs of the three matmuls (2*in*out forward, x3 with backward)."""
    macs = IN * HID + HID * HID + HID * OUT
    return 2 * macs * 3


def make_data(n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    # drawn as float32 directly: a float64 draw + astype would set every process's peak RSS
    x = rng.standard_normal((n, IN), dtype=np.float32)
    y = rng.integers(0, OUT, size=n).astype(np.int64)
    return x, y


# ---------------------------------------------------------------------- per framework
def build_softgrad():
    import softgrad as sg
    import softgrad.nn as nn
    import softgrad.nn.functional as F

    sg.manual_seed(0)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(IN, HID), nn.Linear(HID, HID), nn.Linear(HID, OUT)

        def forward(self, x):
            h = F.relu(self.fc1(x))
            return self.fc3(F.relu(self.fc2(h)) + h)

    model = MLP()
    opt = sg.optim.Adam(model.parameters(), lr=1e-3)

    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()

    def infer(xb):
        with sg.no_grad():
            return model(xb)

    return sg.from_numpy, step, infer


def build_torch(threads: int):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(IN, HID), nn.Linear(HID, HID), nn.Linear(HID, OUT)

        def forward(self, x):
            h = F.relu(self.fc1(x))
            return self.fc3(F.relu(self.fc2(h)) + h)

    model = MLP()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()

    def infer(xb):
        with torch.no_grad():
            return model(xb)

    return torch.from_numpy, step, infer


def build_pydynet():
    import warnings

    warnings.filterwarnings("ignore")
    import pydynet as pdn
    import pydynet.nn as nn
    import pydynet.nn.functional as F
    import pydynet.optim as optim

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(IN, HID, dtype="float32")
            self.fc2 = nn.Linear(HID, HID, dtype="float32")
            self.fc3 = nn.Linear(HID, OUT, dtype="float32")

        def forward(self, x):
            h = F.relu(self.fc1(x))
            return self.fc3(F.relu(self.fc2(h)) + h)

    model = MLP()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

    def infer(xb):
        with pdn.no_grad():
            return model(xb)

    return (lambda a: pdn.Tensor(a, dtype=a.dtype)), step, infer


# ---------------------------------------------------------------------- child
def child(framework: str, args: argparse.Namespace) -> None:
    x, y = make_data(args.samples)
    if framework == "softgrad":
        wrap, step, infer = build_softgrad()
    elif framework == "torch":
        wrap, step, infer = build_torch(args.threads)
    else:
        wrap, step, infer = build_pydynet()
    batches = [(wrap(x[i:i + BATCH]), wrap(y[i:i + BATCH]))
               for i in range(0, len(x) - BATCH + 1, BATCH)]

    rss_after: list[float] = []
    faults: list[float] = []

    def epoch():
        f0 = common.minor_faults()
        for xb, yb in batches:
            step(xb, yb)
        faults.append((common.minor_faults() - f0) / len(batches))
        rss_after.append(common.rss_mib())

    times = common.time_repeats(epoch, args.epochs, warmup=1)
    res = common.summarize(times)
    res["gflops"] = flops_per_sample() * len(batches) * BATCH / res["median_s"] / 1e9
    res["rss_growth_pct"] = 100 * (rss_after[-1] / rss_after[0] - 1) if len(rss_after) > 1 else 0
    res["faults_per_step"] = faults[-1]
    xi = wrap(x[:1024])
    inf = common.time_repeats(lambda: [infer(xi) for _ in range(20)], args.epochs, warmup=1)
    res["infer"] = common.summarize([t / 20 for t in inf])
    common.emit(res)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--samples", type=int, default=60000)
    p.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frameworks", default=",".join(common.FRAMEWORKS))
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        common.pin_threads(args.threads)
        child(args.child, args)
        return
    passthrough = ["--samples", str(args.samples), "--epochs", str(args.epochs)]
    rows = {}
    for fw in args.frameworks.split(","):
        print(f"running {fw} ...", file=sys.stderr)
        t0 = time.perf_counter()
        rows[fw] = common.run_child(__file__, fw, passthrough, args.threads)
        print(f"  done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(common.table(f"MLP training epoch ({args.samples} samples, batch {BATCH}, "
                       f"{args.threads} threads)", rows))
    for fw, r in rows.items():
        if r:
            print(f"  {fw:<9} {r['gflops']:6.1f} GFLOP/s  RSS growth {r['rss_growth_pct']:+.1f}%"
                  f"  minor faults/step {r['faults_per_step']:.0f}")
    inf_rows = {fw: (r["infer"] | {"peak_rss_mib": r["peak_rss_mib"]}) if r else None
                for fw, r in rows.items()}
    print()
    print(common.table("MLP inference, batch 1024 (per forward)", inf_rows))


if __name__ == "__main__":
    main()
