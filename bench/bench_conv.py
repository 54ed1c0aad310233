"""Convolution workloads, softgrad vs PyTorch: ResNet-18 step, CIFAR CNN step, 512-channel 3x3
convs on small maps, Conv3d (models in ``conv_models.py``).

By default both frameworks run in one process with their steps alternating, so a busy
machine slows both alike, and the ratio is printed per workload (a median over the repeats
and the range of per-round ratios). ``--isolated`` runs each framework in its own subprocess
instead, which also gives each one's own peak RSS.

Usage:  python bench/bench_conv.py [resnet18,cnn,conv512,conv3d] [--repeats 10]
                                   [--threads 2] [--isolated]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

KINDS = ("resnet18", "cnn", "conv512", "conv3d")


def _measure(steps: dict, repeats: int, warmup: int = 2,
             clock=time.perf_counter) -> dict[str, list[float]]:
    """Per-step times, frameworks alternating (order flipped every round)."""
    for _ in range(warmup):
        for s in steps.values():
            s()
    names = list(steps)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for n in (names if r % 2 == 0 else names[::-1]):
            t0 = clock()
            steps[n]()
            times[n].append(clock() - t0)
    return times


def child(fw: str, args: argparse.Namespace) -> None:
    """One framework in this process: step times, minor faults per step, peak RSS."""
    import conv_models

    step, _ = conv_models.make_step(fw, args.kind, args.threads)
    step()
    f0 = common.minor_faults()
    times = common.time_repeats(step, args.repeats, warmup=1)
    faults = (common.minor_faults() - f0) / (args.repeats + 1)
    res = common.summarize(times)
    res["faults_per_step"] = faults
    common.emit(res)


def interleaved(kind: str, args: argparse.Namespace) -> None:
    import conv_models

    fws = args.frameworks.split(",")
    steps = {fw: conv_models.make_step(fw, kind, args.threads)[0] for fw in fws}
    times = _measure(steps, args.repeats, clock=time.process_time if args.cpu_time
                     else time.perf_counter)
    med = {fw: statistics.median(t) for fw, t in times.items()}
    line = f"{kind:<9} " + "  ".join(f"{fw} {med[fw] * 1e3:8.2f} ms" for fw in fws)
    if "torch" in med and "softgrad" in med:
        rounds = sorted(a / b for a, b in zip(times["softgrad"], times["torch"]))
        lo, hi = rounds[len(rounds) // 10], rounds[-1 - len(rounds) // 10]
        line += f"   ratio {med['softgrad'] / med['torch']:.2f} (rounds {lo:.2f}-{hi:.2f})"
    print(line, flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kinds", nargs="?", default=",".join(KINDS))
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--isolated", action="store_true")
    p.add_argument("--cpu-time", action="store_true",
                   help="time with the process CPU clock (with --threads 1: robust to other "
                        "processes taking the cores; not for multithreaded runs)")
    p.add_argument("--kind", default=None, help=argparse.SUPPRESS)
    args = common.parse_or_run_child(p, child, threads=2)
    if args is None:
        return
    common.pin_threads(args.threads)
    print(f"{args.threads} thread(s), {args.repeats} repeats, load "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    for kind in args.kinds.split(","):
        if args.isolated:
            rows = common.run_each(__file__, args.frameworks,
                                   ["--kind", kind, "--repeats", str(args.repeats)],
                                   args.threads)
            print(common.table(kind, rows))
            for fw, r in rows.items():
                if r:
                    print(f"  {fw}: {r['faults_per_step']:.0f} minor faults/step")
        else:
            interleaved(kind, args)


if __name__ == "__main__":
    main()
