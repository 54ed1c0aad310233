"""``run_all.py --busy``: the same workloads beside a CPU-bound neighbour of their own.

A neighbour is a separate process in its own session (as another user's job would be) that
spins one core with a pure-Python loop. Each workload then runs, in turn and in its own
subprocess, under these configurations:

* ``softgrad``: the default configuration (no thread variables set: softgrad's adaptive
  thread policy), what a user gets out of the box;
* ``softgrad-1t``: ``OMP_NUM_THREADS=1``, the best single-thread setting;
* ``torch`` / ``torch-1t``: PyTorch 2.13 (CPU) by default and with one thread;
* with ``--with-fixed``, ``softgrad-fixed``: every core for BLAS, no adaptation
  (``SOFTGRAD_ADAPTIVE_THREADS=0``), the behaviour before the policy existed.

The goals: the default within 1.2x of ``softgrad-1t`` and at least as fast as ``torch``.
"""
from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

# label -> (framework, thread count or 0 for the default, extra environment)
CONFIGS = {
    "softgrad": ("softgrad", 0, {}),
    "softgrad-1t": ("softgrad", 1, {}),
    "torch": ("torch", 0, {}),
    "torch-1t": ("torch", 1, {}),
}
FIXED = {"softgrad-fixed": ("softgrad", 0, {"SOFTGRAD_ADAPTIVE_THREADS": "0"})}
# spins one core; stops by itself once the process that started it is gone
SPIN = ("import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n"
        "    for _ in range(1000000):\n        pass\n")


def start_neighbours(n: int) -> list[subprocess.Popen]:
    """``n`` CPU-bound processes, each in a session of its own."""
    return [subprocess.Popen([sys.executable, "-c", SPIN], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(n)]


def stop_neighbours(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover
            p.kill()


def run(selected: list[str], cfg: dict, run_child: Callable[..., dict],
        pool: Callable[[dict | None, dict], dict], neighbours: int = 1,
        with_fixed: bool = False, log: Callable[[str], None] = print) -> dict:
    """Results ``{workload: {config label: result}}`` with the neighbours running."""
    configs = dict(CONFIGS, **(FIXED if with_fixed else {}))
    procs = start_neighbours(neighbours)
    results: dict[str, dict] = {}
    t_start = time.perf_counter()
    try:
        time.sleep(0.5)  # let the neighbours get going
        for w in selected:
            results[w] = {}
            for r in range(cfg["rounds"]):
                for label, (fw, threads, env) in configs.items():
                    log(f"[{time.perf_counter() - t_start:5.0f} s] {w} / {label} (round "
                        f"{r + 1}/{cfg['rounds']}) ...")
                    res = run_child(w, fw, dict(cfg, threads=threads), extra_env=env)
                    results[w][label] = pool(results[w].get(label), res)
    finally:
        stop_neighbours(procs)
    return results


def _ok(r: dict | None) -> bool:
    return isinstance(r, dict) and "median_s" in r


def ratios(rows: dict) -> dict[str, float]:
    """The goal ratios of one workload: default / best single thread, default / torch."""
    out = {}
    sg, one = rows.get("softgrad"), rows.get("softgrad-1t")
    if _ok(sg) and _ok(one):
        out["default_x_1t"] = sg["median_s"] / one["median_s"]
    for ref in ("torch", "torch-1t"):
        if _ok(sg) and _ok(rows.get(ref)):
            out[f"default_x_{ref.replace('-', '_')}"] = sg["median_s"] / rows[ref]["median_s"]
    if _ok(rows.get("softgrad-fixed")) and _ok(one):
        out["fixed_x_1t"] = rows["softgrad-fixed"]["median_s"] / one["median_s"]
    return out


def table(title: str, rows: dict) -> str:
    base = rows.get("softgrad-1t", {}).get("median_s") if _ok(rows.get("softgrad-1t")) else None
    tref = rows.get("torch", {}).get("median_s") if _ok(rows.get("torch")) else None
    lines = [title + " (beside a busy neighbour)",
             f"  {'config':<15} {'median':>11} {'min':>11} {'x sg-1t':>8} {'x torch':>8}"]
    for label, r in rows.items():
        if not _ok(r):
            why = r.get("skipped", "failed") if isinstance(r, dict) else "failed"
            lines.append(f"  {label:<15} {'skipped':>11}  ({why})")
            continue
        m = r["median_s"]
        a = f"{m / base:.2f}" if base else "n/a"
        b = f"{m / tref:.2f}" if tref else "n/a"
        lines.append(f"  {label:<15} {_fmt(m):>11} {_fmt(min(r['times'])):>11} {a:>8} {b:>8}")
    return "\n".join(lines)


def summary_text(results: dict) -> str:
    lines = ["Goals beside a busy neighbour: default <= 1.2x softgrad-1t, default <= 1.0x torch"]
    for w, rows in results.items():
        r = ratios(rows)
        parts = [f"{k} {v:.2f}" for k, v in r.items()]
        ok = r.get("default_x_1t", 9) <= 1.2 and r.get("default_x_torch", 9) <= 1.0
        lines.append(f"  {w:<10} {'ok  ' if ok else 'MISS'} " + ", ".join(parts))
    return "\n".join(lines)


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.3f} s"
