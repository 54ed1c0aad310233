"""The workloads of ``run_all.py``, one function each, run inside a child process.

Every function takes the framework name and a config dict and returns a JSON-friendly dict
(``times`` and ``median_s`` at least, or ``skipped`` with a reason). The child prints it
together with its own peak RSS, so each framework's memory is measured alone.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import common
import bench_mlp


def timed(fn: Callable[[], Any], repeats: int, warmup: Callable[[], Any] | None = None,
          budget_s: float = 1e9) -> list[float]:
    """Wall times of up to ``repeats`` calls of ``fn`` after one ``warmup`` call.

    Stops early (keeping at least one timing) once ``budget_s`` seconds have been spent, so a
    slow framework cannot stretch the whole run.
    """
    (warmup or fn)()
    times: list[float] = []
    start = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s:
            break
    return times


# ---------------------------------------------------------------------- MLP
def _mlp_batches(framework: str, samples: int, threads: int):
    x, y = bench_mlp.make_data(samples)
    wrap, step, infer = bench_mlp.build(framework, threads)
    batches = common.make_batches(wrap, x, y, bench_mlp.BATCH)
    return batches, step, infer, wrap, x


def mlp_train(framework: str, cfg: dict) -> dict:
    """One epoch of MLP training (Adam, batch 128); also minor page faults per step."""
    batches, step, _, _, _ = _mlp_batches(framework, cfg["samples"], cfg["threads"])
    faults: list[float] = []
    epoch = common.epoch_runner(batches, step, faults)

    def warm() -> None:
        for xb, yb in batches[:20]:
            step(xb, yb)

    times = timed(epoch, cfg["repeats"], warm, cfg["budget_s"])
    res = common.summarize(times)
    n = len(batches) * bench_mlp.BATCH
    res["samples"] = n
    res["gflops"] = bench_mlp.flops_per_sample() * n / res["median_s"] / 1e9
    res["faults_per_step"] = min(faults)
    if framework == "softgrad":
        res.update(_ceiling_fraction(batches, step))
    return res


def _ceiling_fraction(batches: list, step: Callable) -> dict:
    """Fraction of the GEMM ceiling the training step reaches, robust to machine load.

    Alternates one training step with one step of just its nine GEMMs (NumPy, same shapes),
    timing each; model FLOPs/s over GEMM-only FLOPs/s = GEMM time / step time, compared as
    medians of interleaved steps so that load changes hit both alike.
    """
    import statistics

    import numpy as np

    B = bench_mlp.BATCH
    mats = bench_mlp.gemm_operands(np.random.default_rng(1))

    def gemms() -> None:
        for _, _, x, w, g in mats:
            x @ w.T
            g.T @ x
            g @ w

    t_step, t_gemm = [], []
    for xb, yb in batches[:150]:
        t0 = time.perf_counter()
        step(xb, yb)
        t1 = time.perf_counter()
        gemms()
        t_gemm.append(time.perf_counter() - t1)
        t_step.append(t1 - t0)
    ts, tg = statistics.median(t_step), statistics.median(t_gemm)
    flop = bench_mlp.flops_per_sample() * B
    return {"ceiling_fraction": tg / ts, "ceiling_gflops_here": flop / tg / 1e9,
            "step_gflops_here": flop / ts / 1e9}


def mlp_infer(framework: str, cfg: dict) -> dict:
    """Forward passes of the MLP at batch 1024 without autograd (time per forward)."""
    _, _, infer, wrap, x = _mlp_batches(framework, 1024, cfg["threads"])
    xi, n = wrap(x[:1024]), cfg["infer_iters"]
    infer(xi)
    f0 = common.minor_faults()
    times = timed(lambda: [infer(xi) for _ in range(n)], cfg["repeats"])
    res = common.summarize([t / n for t in times])
    res["faults_per_step"] = (common.minor_faults() - f0) / (n * (len(times) + 1))
    res["samples_per_s"] = 1024 / res["median_s"]
    return res


def mlp_rss(framework: str, cfg: dict) -> dict:
    """RSS after each of 10 short epochs: growth from epoch 2 to epoch 10."""
    batches, step, _, _, _ = _mlp_batches(framework, cfg["rss_samples"], cfg["threads"])
    rss: list[float] = []
    t0 = time.perf_counter()
    for _ in range(10):
        for xb, yb in batches:
            step(xb, yb)
        rss.append(common.rss_mib())
    res = {"times": [time.perf_counter() - t0], "median_s": time.perf_counter() - t0}
    res["rss_mib"] = [round(r, 1) for r in rss]
    res["rss_growth_pct"] = 100 * (rss[9] / rss[1] - 1)
    return res


# ---------------------------------------------------------------------- per-op overhead
def overhead(framework: str, cfg: dict) -> dict:
    """``iters`` x (10 element-wise ops + sum + backward) on 1x10 tensors."""
    import bench_overhead

    iters = cfg["overhead_iters"]
    run = bench_overhead.chain_loop(framework, cfg["threads"], iters)
    res = common.summarize(timed(run, cfg["repeats"], budget_s=cfg["budget_s"]))
    res["iters"] = iters
    res["us_per_op"] = res["median_s"] / iters / 12 * 1e6  # 10 ops + sum + backward seed
    return res


# ---------------------------------------------------------------------- ceiling
def gemm_ceiling() -> dict:
    """NumPy float32 GEMM rate (best of 3) of the MLP's nine training-step products."""
    import numpy as np

    B = bench_mlp.BATCH
    total_flop = total_time = 0.0
    per_gemm = {}
    for fin, fout, x, w, g in bench_mlp.gemm_operands(np.random.default_rng(0)):
        for name, fn in (("fwd", lambda: x @ w.T), ("dW", lambda: g.T @ x),
                         ("dx", lambda: g @ w)):
            # best of 3 rounds: the ceiling, not the noise
            best = common.per_call_s(fn, 40, rounds=3)
            flop = 2 * B * fin * fout
            total_flop += flop
            total_time += best
            per_gemm[f"{fin}x{fout} {name}"] = round(flop / best / 1e9, 1)
    return {"gemm_gflops": total_flop / total_time / 1e9, "per_gemm_gflops": per_gemm,
            "step_gemm_s": total_time}


def ceiling(framework: str, cfg: dict) -> dict:
    """NumPy float32 GEMM rate at the MLP's shapes and the bandwidth of an element-wise pass."""
    import numpy as np

    res = gemm_ceiling()
    a = np.random.default_rng(0).standard_normal(2**24).astype(np.float32)
    out = np.empty_like(a)
    best = common.per_call_s(lambda: np.multiply(a, 1.0001, out=out), 1, rounds=10)
    res.update(times=[res["step_gemm_s"]], median_s=res["step_gemm_s"],
               bandwidth_gbs=a.nbytes * 2 / best / 1e9)
    return res
