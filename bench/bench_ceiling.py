"""The ceiling: NumPy float32 GEMM throughput at the MLP's shapes and element-wise bandwidth.

Prints the FLOP rate of each forward/backward GEMM of the 784-1024-1024-10 MLP at batch 128,
the weighted ceiling for a whole training step, the bandwidth of an element-wise pass, and,
when given the MLP epoch rate (``--mlp-gflops`` from bench_mlp.py), the fraction achieved.

Usage:  python bench/bench_ceiling.py [--threads 2] [--mlp-gflops X]
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_mlp
import common


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mlp-gflops", type=float, default=None)
    args = p.parse_args()
    common.pin_threads(args.threads)
    import numpy as np

    rng = np.random.default_rng(0)
    B = bench_mlp.BATCH
    total_flop, total_time = 0.0, 0.0
    print(f"NumPy {np.__version__} float32 GEMM at the MLP's shapes ({args.threads} threads)")
    for fin, fout, x, w, g in bench_mlp.gemm_operands(rng):
        for name, fn in (("fwd  x@W.T", lambda: x @ w.T), ("dW   g.T@x", lambda: g.T @ x),
                         ("dx   g@W", lambda: g @ w)):
            dt = common.per_call_s(fn, 50)
            flop = 2 * B * fin * fout
            total_flop += flop
            total_time += dt
            print(f"  {fin:>5}x{fout:<5} {name:<11} {flop / dt / 1e9:7.1f} GFLOP/s")
    ceiling = total_flop / total_time / 1e9
    print(f"GEMM-only ceiling for one training step: {ceiling:.1f} GFLOP/s")
    a = rng.standard_normal(2**24).astype(np.float32)
    out = np.empty_like(a)
    dt = common.per_call_s(lambda: np.multiply(a, 1.0001, out=out), 20)
    print(f"element-wise pass (read+write {a.nbytes * 2 / 2**20:.0f} MiB): "
          f"{a.nbytes * 2 / dt / 1e9:.1f} GB/s")
    if args.mlp_gflops:
        print(f"softgrad MLP epoch: {args.mlp_gflops:.1f} GFLOP/s = "
              f"{100 * args.mlp_gflops / ceiling:.0f}% of the GEMM ceiling")


if __name__ == "__main__":
    main()
