"""bench/run_all.py plumbing: workloads run (tiny sizes), rounds pool, targets are checked."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = str(Path(__file__).resolve().parents[2] / "bench")
sys.path.insert(0, BENCH)

import report  # noqa: E402
import run_all  # noqa: E402
import workloads  # noqa: E402

TINY = dict(run_all.QUICK, threads=1, repeats=2, overhead_iters=20, rss_samples=256,
            samples=512, infer_iters=2, budget_s=5.0, rounds=1)


def test_softgrad_workloads_run_at_tiny_sizes() -> None:
    over = workloads.overhead("softgrad", TINY)
    assert over["iters"] == 20 and len(over["times"]) == 2 and over["median_s"] > 0
    train = workloads.mlp_train("softgrad", TINY)
    assert train["samples"] == 512 and train["gflops"] > 0
    assert 0 < train["ceiling_fraction"] < 5
    rss = workloads.mlp_rss("softgrad", TINY)
    assert len(rss["rss_mib"]) == 10


def test_conv_workloads_run_at_tiny_sizes() -> None:
    import workloads_conv

    cfg = dict(TINY, conv_steps=1, resnet_batch=2, conv512_batch=1, conv3d_batch=1,
               cnn_samples=16, cnn_batch=8, repeats=1)
    for name in ("resnet18", "conv512", "conv3d", "cnn"):
        res = getattr(workloads_conv, name)("softgrad", cfg)
        assert res["median_s"] > 0 and len(res["times"]) == 1, name
        assert res["faults_per_step"] >= 0
    assert "skipped" in workloads_conv.resnet18("pydynet", cfg)
    rows = {"resnet18": {"softgrad": {"times": [2.0], "median_s": 2.0, "peak_rss_mib": 300},
                         "torch": {"times": [1.0], "median_s": 1.0, "peak_rss_mib": 400}}}
    s = report.summary(rows)
    assert s["resnet18_x_torch"] == 2.0 and s["resnet18_peak_rss_x_torch"] == 0.75
    states = {text: state for text, _, state in report.check_targets(s)}
    assert states["ResNet-18 step <= 1.5x PyTorch"] == "MISSED"
    assert states["ResNet-18 peak RSS <= PyTorch's"] == "met"


def test_pool_merges_rounds() -> None:
    a = {"times": [1.0, 3.0], "median_s": 2.0, "peak_rss_mib": 10, "faults_per_step": 4,
         "ceiling_fraction": 0.5, "ceiling_gflops_here": 100, "step_gflops_here": 50}
    b = {"times": [2.0], "median_s": 2.0, "peak_rss_mib": 12, "faults_per_step": 1,
         "ceiling_fraction": 0.7, "ceiling_gflops_here": 90, "step_gflops_here": 63}
    m = run_all._pool(a, b)
    assert m["times"] == [1.0, 3.0, 2.0] and m["median_s"] == 2.0
    assert m["peak_rss_mib"] == 12 and m["faults_per_step"] == 1
    assert m["ceiling_fraction"] == pytest.approx(0.6)
    assert run_all._pool(None, b) is b
    assert run_all._pool(a, {"skipped": "x"}) is a


def test_summary_and_targets() -> None:
    def r(t, **kw):
        return {"times": [t], "median_s": t, "peak_rss_mib": kw.pop("rss", 100), **kw}

    results = {
        "mlp_train": {"softgrad": r(6.0, gflops=120.0, rss=200, ceiling_fraction=0.7),
                      "torch": r(8.0, gflops=90.0, rss=500), "pydynet": r(7.5, gflops=96.0)},
        "overhead": {"softgrad": r(2.0, iters=10, us_per_op=1.0),
                     "torch": r(1.0, iters=10, us_per_op=1.0),
                     "pydynet": {"skipped": "n/a"}},
        "ceiling": {"numpy": r(0.01, gemm_gflops=160.0, bandwidth_gbs=30.0,
                               per_gemm_gflops={})},
    }
    s = report.summary(results)
    assert s["mlp_train_x_torch"] == 0.75 and s["mlp_train_x_pydynet"] == 0.8
    assert s["overhead_x_torch"] == 2.0 and s["mlp_peak_rss_x_torch"] == 0.4
    assert s["mlp_ceiling_fraction"] == 0.7 and s["mlp_epoch_over_ceiling_workload"] == 0.75
    states = {text: state for text, _, state in report.check_targets(s)}
    assert states["MLP epoch <= 1.0x PyTorch"] == "met"
    assert states["per-op overhead <= 0.8x PyTorch"] == "MISSED"
    assert states["LeNet training <= 1.0x PyTorch"] == "not measured"
    assert states["ResNet-18 peak RSS <= PyTorch's"] == "not measured"
    text = report.table("t", "overhead", results["overhead"])
    assert "2.00" in text and "skipped" in text


def test_sequence_workloads_run_at_tiny_sizes() -> None:
    import workloads_seq

    cfg = dict(TINY, gru_steps=1, gpt_steps=1)
    for fn in (workloads_seq.gru, workloads_seq.gpt):
        res = fn("softgrad", cfg)
        assert len(res["times"]) == 2 and res["median_s"] > 0 and res["steps"] == 1
    assert "skipped" in workloads_seq.gru("pydynet", cfg)


def test_busy_mode_ratios_table_and_neighbours() -> None:
    import busy

    def r(t):
        return {"times": [t], "median_s": t}

    rows = {"softgrad": r(1.1), "softgrad-1t": r(1.0), "torch": r(2.2), "torch-1t": r(1.1),
            "softgrad-fixed": {"skipped": "x"}}
    ratios = busy.ratios(rows)
    assert ratios["default_x_1t"] == pytest.approx(1.1)
    assert ratios["default_x_torch"] == pytest.approx(0.5)
    assert ratios["default_x_torch_1t"] == pytest.approx(1.0)
    assert "skipped" in busy.table("t", rows)
    assert "ok" in busy.summary_text({"w": rows})
    assert "MISS" in busy.summary_text({"w": dict(rows, softgrad=r(1.5))})
    procs = busy.start_neighbours(1)
    try:
        assert procs[0].poll() is None  # spinning
    finally:
        busy.stop_neighbours(procs)
    assert procs[0].poll() is not None


def test_busy_run_passes_thread_configurations_to_children() -> None:
    import busy

    calls = []

    def fake_child(w, fw, cfg, extra_env=None):
        calls.append((w, fw, cfg["threads"], dict(extra_env or {})))
        return {"times": [1.0], "median_s": 1.0}

    res = busy.run(["lstm"], dict(TINY, rounds=1), fake_child, run_all._pool, neighbours=0,
                   with_fixed=True, log=lambda m: None)
    assert set(res["lstm"]) == {"softgrad", "softgrad-1t", "torch", "torch-1t", "softgrad-fixed"}
    assert ("lstm", "softgrad", 0, {}) in calls and ("lstm", "torch", 1, {}) in calls
    assert ("lstm", "softgrad", 0, {"SOFTGRAD_ADAPTIVE_THREADS": "0"}) in calls
