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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

IN, HID, OUT, BATCH = 784, 1024, 10, 128


def flops_per_sample() -> float:
    """Forward+backward FLOPs of the three matmuls (2*in*out forward, x3 with backward)."""
    macs = IN * HID + HID * HID + HID * OUT
    return 2 * macs * 3


def gemm_operands(rng) -> list[tuple]:
    """(fin, fout, x, w, g) per layer at batch BATCH: the operands of the nine GEMMs of one
    training step (forward x @ w.T, weight gradient g.T @ x, input gradient g @ w)."""
    import numpy as np

    out = []
    for fin, fout in ((IN, HID), (HID, HID), (HID, OUT)):
        out.append((fin, fout, rng.standard_normal((BATCH, fin)).astype(np.float32),
                    rng.standard_normal((fout, fin)).astype(np.float32),
                    rng.standard_normal((BATCH, fout)).astype(np.float32)))
    return out


def make_data(n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    # drawn as float32 directly: a float64 draw + astype would set every process's peak RSS
    x = rng.standard_normal((n, IN), dtype=np.float32)
    y = rng.integers(0, OUT, size=n).astype(np.int64)
    return x, y


# ---------------------------------------------------------------------- per framework
def _mlp(nn, F, **kw):
    """784-1024-1024-10 with ReLU and a residual add before the last layer."""

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(IN, HID, **kw)
            self.fc2 = nn.Linear(HID, HID, **kw)
            self.fc3 = nn.Linear(HID, OUT, **kw)

        def forward(self, x):
            h = F.relu(self.fc1(x))
            return self.fc3(F.relu(self.fc2(h)) + h)

    return MLP()


def build(framework: str, threads: int = 1):
    """(wrap, step, infer) for 'softgrad', 'torch' or 'pydynet'."""
    if framework == "pydynet":
        return build_pydynet()
    if framework == "softgrad":
        import softgrad as lib
        import softgrad.nn.functional as F
    else:
        import torch as lib
        import torch.nn.functional as F

        lib.set_num_threads(threads)
    lib.manual_seed(0)
    model = _mlp(lib.nn, F)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)

    def step(xb, yb):
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()

    def infer(xb):
        with lib.no_grad():
            return model(xb)

    return lib.from_numpy, step, infer


def build_pydynet():
    import warnings

    warnings.filterwarnings("ignore")
    import pydynet as pdn
    import pydynet.nn as nn
    import pydynet.nn.functional as F
    import pydynet.optim as optim

    model = _mlp(nn, F, dtype="float32")
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
    wrap, step, infer = build(framework, args.threads)
    batches = common.make_batches(wrap, x, y, BATCH)

    rss_after: list[float] = []
    faults: list[float] = []
    one_pass = common.epoch_runner(batches, step, faults)

    def epoch():
        one_pass()
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
    args = common.parse_or_run_child(p, child, threads=2, frameworks=",".join(common.FRAMEWORKS))
    if args is None:
        return
    passthrough = ["--samples", str(args.samples), "--epochs", str(args.epochs)]
    rows = common.run_each(__file__, args.frameworks, passthrough, args.threads)
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
