"""Shared benchmark plumbing: thread pinning, timing, RSS, subprocess fan-out, tables.

Each framework runs in its own subprocess (same thread count, same warm-up and repeats) so
that peak memory (ru_maxrss) is measured cleanly; the parent prints the comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

FRAMEWORKS = ("softgrad", "torch", "pydynet")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, REPO)


def pin_threads(n: int) -> None:
    """Set BLAS/OpenMP thread counts before NumPy/torch are imported."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def parse_or_run_child(p: argparse.ArgumentParser,
                       child: Callable[[str, argparse.Namespace], None], threads: int = 1,
                       frameworks: str = "softgrad,torch") -> argparse.Namespace | None:
    """Add ``--threads``, ``--frameworks`` and the hidden ``--child`` to ``p`` and parse.

    In a child process (``--child FRAMEWORK``, see ``run_child``) pins the thread count, runs
    ``child(FRAMEWORK, args)`` and returns None; in the parent returns the parsed arguments.
    """
    p.add_argument("--threads", type=int, default=threads)
    p.add_argument("--frameworks", default=frameworks)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if not args.child:
        return args
    pin_threads(args.threads)
    child(args.child, args)
    return None


def run_each(script: str, frameworks: str, args: list[str], threads: int) -> dict:
    """``run_child`` for each comma-separated framework in turn, with progress on stderr."""
    rows = {}
    for fw in frameworks.split(","):
        print(f"running {fw} ...", file=sys.stderr)
        t0 = time.perf_counter()
        rows[fw] = run_child(script, fw, args, threads)
        print(f"  done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return rows


def rss_mib() -> float:
    """Current resident set size in MiB (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_repeats(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> list[float]:
    """Wall times of ``repeats`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def make_batches(wrap: Callable[[Any], Any], x: Any, y: Any, batch: int) -> list[tuple]:
    """Full ``batch``-sized (x, y) pairs of the arrays, each wrapped as a framework tensor."""
    return [(wrap(x[i:i + batch]), wrap(y[i:i + batch]))
            for i in range(0, len(x) - batch + 1, batch)]


def epoch_runner(batches: list[tuple], step: Callable[[Any, Any], Any],
                 faults: list[float]) -> Callable[[], None]:
    """A closure for one pass of ``step`` over ``batches``; appends minor faults per step."""
    def epoch() -> None:
        f0 = minor_faults()
        for xb, yb in batches:
            step(xb, yb)
        faults.append((minor_faults() - f0) / len(batches))

    return epoch


def alternate(steps: dict[str, Callable[[], Any]], repeats: int,
              warmup: int = 1, clock: Callable[[], float] = time.perf_counter
              ) -> dict[str, list[float]]:
    """Times of ``repeats`` rounds calling every step once, after ``warmup`` rounds.

    Interleaving the frameworks step by step lets load from other processes hit all alike.
    ``clock=time.process_time`` measures CPU time instead of wall time: with one thread it
    does not count the time other processes hold the core.
    """
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            t0 = clock()
            step()
            times[name].append(clock() - t0)
    return times


def alternating_rows(result: dict) -> dict[str, dict]:
    """Table rows from a child's ``{"times": {framework: times}, "peak_rss_mib": ...}``."""
    return {fw: {"times": t, "median_s": statistics.median(t),
                 "peak_rss_mib": result["peak_rss_mib"]} for fw, t in result["times"].items()}


def alternating_main(script: str, doc: str | None,
                     steps: Callable[[argparse.Namespace], dict[str, Callable[[], Any]]],
                     title: Callable[[argparse.Namespace], str]) -> None:
    """``main`` of a model benchmark with ``--layers`` and ``--steps``: the frameworks run in
    one child process and alternate step by step (``steps(args)``: a step closure per
    framework); the parent prints the table headed ``title(args)``."""
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--steps", type=int, default=20)

    def child(_: str, args: argparse.Namespace) -> None:
        emit({"times": alternate(steps(args), args.steps, warmup=2)})

    args = parse_or_run_child(p, child)
    if args is None:
        return
    r = run_child(script, "both", ["--layers", str(args.layers), "--steps", str(args.steps),
                                   "--frameworks", args.frameworks], args.threads)
    if r is None:
        sys.exit(1)
    print(table(title(args), alternating_rows(r)))


def per_call_s(fn: Callable[[], Any], reps: int, rounds: int = 1) -> float:
    """Seconds per call of ``fn``: best over ``rounds`` of ``reps`` calls, after one warm call."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def run_child(script: str, framework: str, args: list[str], threads: int) -> dict | None:
    """Run ``script --framework X`` in a subprocess; return its JSON result (or None)."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env["PYTHONWARNINGS"] = "ignore"
    cmd = [sys.executable, script, "--child", framework, "--threads", str(threads), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        print(f"  [{framework}] failed: {' | '.join(tail)}", file=sys.stderr)
        return None
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def emit(result: dict) -> None:
    """Child side: print the result as one JSON line."""
    result.setdefault("peak_rss_mib", round(peak_rss_mib(), 1))
    print(json.dumps(result))


def table(title: str, rows: dict[str, dict], ref: str = "torch", key: str = "median_s") -> str:
    """Format medians, the ratio to ``ref`` and peak RSS as a text table."""
    lines = [title, f"{'framework':<10} {'median':>10} {'min':>10} {'x ' + ref:>9} "
                    f"{'peak RSS':>10}"]
    base = rows.get(ref, {}).get(key)
    for name, r in rows.items():
        if r is None:
            lines.append(f"{name:<10} {'n/a':>10}")
            continue
        ratio = f"{r[key] / base:.2f}" if base else "n/a"
        lines.append(f"{name:<10} {_fmt(r[key]):>10} {_fmt(min(r['times'])):>10} {ratio:>9} "
                     f"{r.get('peak_rss_mib', 0):>7.0f} MiB")
    return "\n".join(lines)


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.3f} s"


def summarize(times: list[float]) -> dict:
    return {"times": times, "median_s": statistics.median(times)}
