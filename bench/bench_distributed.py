"""Data-parallel throughput versus process count, the measured allreduce cost, and a projection.

Trains a 784-1024-1024-10 MLP (1.86 M parameters, 7.5 MB of float32 gradients) with SGD
(momentum 0.9) on synthetic data for one epoch per repeat, at a fixed global batch:
  * 1 process, 1 BLAS thread (the baseline),
  * 1 process, 2 BLAS threads (the other way to use two cores),
  * N processes under mpiexec, 1 thread each, with DistributedDataParallel (N = 2 by default),
    with the default 25 MB gradient bucket (one allreduce per step) and with 1 MB buckets
    (allreduces start during backward).
Then, under mpiexec -n 2, times all_reduce of 0.25 ... 16 MB float32 buffers and fits
time = latency + size * cost_per_MB. From the baseline's compute time per sample and the fit it
projects step time for more processes on one machine and over a network (ring allreduce:
2 (P-1) latencies + 2 (P-1)/P * size * cost_per_MB, no overlap assumed) and prints the speed-up.

Usage:  python bench/bench_distributed.py [--samples 8192] [--batch 128] [--repeats 3]
                                          [--procs 2] [--net-gbps 10]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

IN, HID, OUT = 784, 1024, 10
SIZES_MB = (0.25, 1.0, 4.0, 16.0)


def _mpiexec() -> str:
    local = Path(sys.executable).parent / "mpiexec"
    if local.exists():
        return str(local)
    import shutil

    found = shutil.which("mpiexec")
    if not found:
        sys.exit("mpiexec not found: install the 'mpi' extra (mpi4py and the mpich wheel)")
    return found


# ---------------------------------------------------------------------- worker side
def worker(args: argparse.Namespace) -> None:
    import numpy as np

    import softgrad as sg
    import softgrad.nn.functional as F
    from softgrad import nn

    distributed = args.worker != "single"
    rank, world = 0, 1
    if distributed:
        import softgrad.distributed as dist

        dist.init_process_group("mpi", timeout=120)
        rank, world = dist.get_rank(), dist.get_world_size()
    if args.worker == "allreduce":
        return allreduce_worker(dist, rank)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.samples, IN)).astype(np.float32)
    y = rng.integers(0, OUT, size=args.samples).astype(np.int64)
    local = args.batch // world
    sg.manual_seed(0)
    model = nn.Sequential(nn.Linear(IN, HID), nn.ReLU(), nn.Linear(HID, HID), nn.ReLU(),
                          nn.Linear(HID, OUT))
    net = (nn.parallel.DistributedDataParallel(model, bucket_cap_mb=args.bucket_mb)
           if distributed else model)
    wait_s = [0.0]
    if distributed:
        finish = net._finish

        def timed_finish() -> None:
            t0 = time.perf_counter()
            finish()
            wait_s[0] += time.perf_counter() - t0

        net._finish = timed_finish
    opt = sg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    starts = [s + rank * local for s in range(0, args.samples - args.batch + 1, args.batch)]
    batches = [(sg.from_numpy(x[s:s + local]), sg.from_numpy(y[s:s + local])) for s in starts]

    def epoch() -> None:
        for xb, yb in batches:
            opt.zero_grad()
            F.cross_entropy(net(xb), yb).backward()
            opt.step()

    times = common.time_repeats(epoch, args.repeats, warmup=1)
    if distributed:  # the slowest process sets the pace
        t = sg.tensor(times, dtype=sg.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        times = t.tolist()
    if rank == 0:
        steps = len(batches)
        common.emit({"times": times, "median_s": statistics.median(times), "steps": steps,
                     "samples": steps * args.batch, "world": world,
                     "sync_wait_ms_per_step": 1e3 * wait_s[0] / (steps * (args.repeats + 1)),
                     "grad_mb": sum(p.numel() for p in model.parameters()) * 4 / 1e6})


def allreduce_worker(dist, rank: int) -> None:
    """Time softgrad's all_reduce (polled, with deadline) and mpi4py's blocking Allreduce."""
    import numpy as np

    import softgrad as sg
    from softgrad.distributed import process_group

    comm = process_group._state.comm
    rows = []
    for mb in SIZES_MB:
        t = sg.ones(int(mb * 1e6 / 4))
        buf = np.ones(int(mb * 1e6 / 4), dtype=np.float32)
        reps = 30 if mb < 4 else 10
        ours, raw = [], []
        for _ in range(reps):
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(t)
            ours.append(time.perf_counter() - t0)
            dist.barrier()
            t0 = time.perf_counter()
            comm.Allreduce(process_group._state.mpi.IN_PLACE, buf)
            raw.append(time.perf_counter() - t0)
        rows.append((mb, min(ours), statistics.median(ours), min(raw), statistics.median(raw)))
    if rank == 0:
        common.emit({"allreduce": rows})


# ---------------------------------------------------------------------- parent side
def launch(n: int | None, threads: int, mode: str, args: argparse.Namespace,
           bucket_mb: float = 25.0) -> dict:
    env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONPATH=common.REPO)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    cmd = [sys.executable, __file__, "--worker", mode, "--samples", str(args.samples),
           "--batch", str(args.batch), "--repeats", str(args.repeats),
           "--bucket-mb", str(bucket_mb)]
    if n is not None:
        cmd = [_mpiexec(), "-n", str(n)] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} ... failed:\n{(proc.stderr or proc.stdout)[-2000:]}")
    return json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])


def fit(rows: list) -> tuple[float, float]:
    """Least-squares (latency s, seconds per MB) of time = a + b * MB."""
    xs, ys = [r[0] for r in rows], [r[1] for r in rows]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return max(my - b * mx, 0.0), b


def ring_allreduce_s(p: int, mb: float, latency: float, per_mb: float) -> float:
    if p == 1:
        return 0.0
    return 2 * (p - 1) * latency + 2 * (p - 1) / p * mb * per_mb


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", type=int, default=8192)
    p.add_argument("--batch", type=int, default=128, help="global batch (split over processes)")
    p.add_argument("--repeats", type=int, default=3, help="timed epochs after one warm-up")
    p.add_argument("--procs", type=int, default=2, help="processes of the data-parallel run")
    p.add_argument("--net-gbps", type=float, default=10.0, help="network for the projection")
    p.add_argument("--net-latency-us", type=float, default=30.0)
    p.add_argument("--bucket-mb", type=float, default=25.0, help=argparse.SUPPRESS)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        common.pin_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        worker(args)
        return

    print(f"MLP {IN}-{HID}-{HID}-{OUT}, SGD, global batch {args.batch}, "
          f"{args.samples} samples/epoch; os.cpu_count()={os.cpu_count()}", flush=True)
    runs = [("1 process x 1 thread", None, 1, "single"),
            ("1 process x 2 threads", None, 2, "single"),
            (f"{args.procs} processes x 1 thread (DDP)", args.procs, 1, "ddp"),
            (f"{args.procs} processes, 1 MB buckets", args.procs, 1, "ddp1")]
    results = {}
    for name, n, threads, mode in runs:
        bucket = 1.0 if mode == "ddp1" else 25.0
        results[name] = launch(n, threads, mode.rstrip("1"), args, bucket)
        print(f"  ran {name}", file=sys.stderr, flush=True)
    base = results[runs[0][0]]
    print(f"\n{'configuration':<34} {'best':>9} {'median':>9} {'samples/s':>10} "
          f"{'speed-up':>9} {'sync wait/step':>15}")
    for name, r in results.items():
        wait = f"{r['sync_wait_ms_per_step']:.2f} ms" if "sync_wait_ms_per_step" in r else "-"
        best = min(r["times"])
        print(f"{name:<34} {best:>8.3f}s {r['median_s']:>8.3f}s {r['samples'] / best:>10.0f} "
              f"{min(base['times']) / best:>8.2f}x {wait:>15}")

    ar = launch(2, 1, "allreduce", args)["allreduce"]
    latency, per_mb = fit([(r[0], r[1]) for r in ar])
    print("\nall_reduce (float32, SUM) between 2 processes on this machine, best / median of "
          "repeats:")
    print(f"  {'size':>8} {'softgrad all_reduce':>24} {'mpi4py Allreduce':>22} {'ms/MB':>7}")
    for mb, best, med, rbest, rmed in ar:
        print(f"  {mb:5.2f} MB {best * 1e3:9.3f} / {med * 1e3:8.3f} ms {rbest * 1e3:9.3f} / "
              f"{rmed * 1e3:8.3f} ms {best * 1e3 / mb:7.3f}")
    print(f"  fit of the best times: {latency * 1e6:.0f} us + {per_mb * 1e3:.3f} ms/MB "
          f"({1 / per_mb / 1e3:.2f} GB/s effective)")

    grad_mb = base["grad_mb"]
    step_1 = min(base["times"]) / base["steps"]  # one step on the global batch, one core
    net_per_mb = 1 / (args.net_gbps * 1e3 / 8)  # s per MB
    net_lat = args.net_latency_us * 1e-6
    links = (("this machine", latency, per_mb), (f"{args.net_gbps:g} Gb/s", net_lat, net_per_mb))
    print(f"\nProjection (compute measured: {step_1 * 1e3:.1f} ms per step of {args.batch} on "
          f"one core, scaled linearly with the batch; {grad_mb:.1f} MB of gradients; ring "
          f"allreduce with the latency and cost above, no overlap): speed-up over one process")
    batches = (args.batch, 8 * args.batch)
    head = "  ".join(f"{f'{name}, B={b}':>22}" for b in batches for name, _, _ in links)
    print(f"{'processes':>9}  {head}")
    for procs in (2, 4, 8, 16, 32, 64):
        cells = []
        for b in batches:
            compute = step_1 * b / args.batch
            for _, lat, pmb in links:
                step = compute / procs + ring_allreduce_s(procs, grad_mb, lat, pmb)
                cells.append(f"{compute / step:>21.1f}x")
        print(f"{procs:>9}  " + "  ".join(cells))
    ratio = step_1 / ring_allreduce_s(2, grad_mb, net_lat, net_per_mb)
    print(f"\nData parallelism pays while the compute of a step, divided by P, stays above the "
          f"allreduce of the gradients: at B={args.batch} one step computes for "
          f"{ratio:.1f}x the time of one {args.net_gbps:g} Gb/s allreduce; a larger global "
          f"batch, more FLOPs per parameter (CNNs) or a faster link raise that ratio.")


if __name__ == "__main__":
    main()
