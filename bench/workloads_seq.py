"""Sequence-model workloads of ``run_all.py`` (child side): a GRU with small matrices and a
GPT-style training step. Each returns the time per training step (median over repeats of
``steps`` steps), like the LSTM workload.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from workloads import timed

# the example GRU classifier's shapes (softgrad train --model gru): one input channel read
# one step at a time by a bidirectional GRU of hidden size 64, mean over time, linear head
GRU_IN, GRU_HID, GRU_SEQ, GRU_BATCH, GRU_OUT = 1, 64, 40, 64, 10


def build_gru(framework: str, threads: int) -> tuple[Callable[[Any], Any], Callable]:
    """(wrap, step) for 'softgrad' or 'torch': bidirectional GRU(1 -> 64), Adam."""
    if framework == "softgrad":
        import softgrad as lib
    else:
        import torch as lib

        lib.set_num_threads(threads)
    lib.manual_seed(0)
    nn, F = lib.nn, lib.nn.functional
    rnn = nn.GRU(GRU_IN, GRU_HID, batch_first=True, bidirectional=True)
    head = nn.Linear(2 * GRU_HID, GRU_OUT)
    opt = lib.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=3e-3)

    def step(xb: Any, yb: Any) -> None:
        opt.zero_grad()
        out, _ = rnn(xb)
        F.cross_entropy(head(out.mean(1)), yb).backward()
        opt.step()

    return lib.from_numpy, step


def _gru_data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((GRU_BATCH, GRU_SEQ, GRU_IN)).astype(np.float32)
    y = rng.integers(0, GRU_OUT, size=GRU_BATCH).astype(np.int64)
    return x, y


def _per_step(step: Callable[[], None], cfg: dict, steps: int) -> dict:
    def run() -> None:
        for _ in range(steps):
            step()

    times = [t / steps for t in timed(run, cfg["repeats"], step, cfg["budget_s"])]
    return {"times": times, "median_s": statistics.median(times), "steps": steps}


def gru(framework: str, cfg: dict) -> dict:
    """Time per training step of a bidirectional GRU(1 -> 64), sequence 40, batch 64."""
    if framework not in ("softgrad", "torch"):
        return {"skipped": f"no GRU workload for {framework}"}
    x, y = _gru_data()
    wrap, step = build_gru(framework, cfg["threads"])
    xt, yt = wrap(x), wrap(y)
    return _per_step(lambda: step(xt, yt), cfg, cfg.get("gru_steps", 20))


def gpt(framework: str, cfg: dict) -> dict:
    """Time per training step of bench_gpt.py's model: 2 pre-norm blocks, d 128, causal
    SDPA, seq 64, batch 32, AdamW."""
    if framework not in ("softgrad", "torch"):
        return {"skipped": f"no GPT workload for {framework}"}
    import bench_gpt

    ids, targets = bench_gpt.make_data()
    wrap, step = bench_gpt.build(framework, 2, cfg["threads"])
    a, b = wrap(ids), wrap(targets)
    return _per_step(lambda: step(a, b), cfg, cfg.get("gpt_steps", 5))
