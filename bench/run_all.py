"""Every softgrad benchmark side by side with PyTorch and PyDyNet, in one invocation.

Each (workload, framework) pair runs in its own subprocess with the same thread count, a
warm-up and several repeats, so peak RSS is that framework's own. Prints a table of medians,
the ratio to PyTorch and peak RSS; writes bench/results.json, bench/results.png (with
matplotlib) and the numbers section of bench/README.md.

Usage:
    python bench/run_all.py                       # full run (~8 min on 2 cores)
    python bench/run_all.py --quick               # smaller sizes (~2 min)
    python bench/run_all.py --only mlp_train,overhead --frameworks softgrad,torch
    python bench/run_all.py --busy --only lstm,gru,gpt  # beside a CPU-bound neighbour
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import busy  # noqa: E402
import common  # noqa: E402
import report  # noqa: E402

WORKLOADS = ("mlp_train", "mlp_infer", "lenet", "cnn", "resnet18", "conv512", "conv3d", "lstm",
             "gru", "gpt", "overhead", "mlp_rss", "ceiling")
SHORT = ("mlp_infer", "overhead", "lstm", "gru", "gpt", "conv512",
         "conv3d")  # short children: one more round
TITLES = {
    "mlp_train": "MLP training epoch 784-1024-1024-10, Adam, batch 128",
    "mlp_infer": "MLP inference, batch 1024 (time per forward)",
    "lenet": "LeNet-style CNN training epoch (Adam), batch 128",
    "cnn": "CIFAR-sized CNN training epoch (3x3 convs 32-32-64-64, BN, pooling; Adam), batch 128",
    "resnet18": "ResNet-18 training step on 32x32 inputs (SGD momentum), batch 32",
    "conv512": "3x3 conv 512->512 on 4x4, 2x2, 1x1 maps: forward + backward, batch 32",
    "conv3d": "Conv3d 4->16->32 (3x3x3) on 16^3 volumes: forward + backward, batch 8",
    "lstm": "LSTM(32->128), sequence 50, batch 64: time per training step (Adam)",
    "gru": "Bidirectional GRU(1->64), sequence 40, batch 64: time per training step (Adam)",
    "gpt": "GPT-style step: 2 blocks, d 128, causal SDPA, seq 64, batch 32, AdamW",
    "overhead": "Per-op overhead: 10 ops + sum + backward on 1x10",
    "mlp_rss": "RSS growth: 10 short MLP epochs, RSS epoch 10 vs epoch 2",
    "ceiling": "Ceiling: NumPy float32 GEMM at the MLP's shapes, element-wise bandwidth",
}
FULL = dict(samples=60000, repeats=2, budget_s=25.0, infer_iters=30, rss_samples=6400,
            overhead_iters=10000, lenet_samples=10000, lstm_steps=10, gru_steps=20,
            gpt_steps=5, cnn_samples=2560, conv_steps=5)
QUICK = dict(samples=12800, repeats=2, budget_s=15.0, infer_iters=20, rss_samples=1280,
             overhead_iters=2000, lenet_samples=2560, lstm_steps=4, gru_steps=8, gpt_steps=2,
             cnn_samples=1280, conv_steps=2)


def child_main(workload: str, framework: str, cfg: dict) -> None:
    """Child side: pin threads (unless ``threads`` is 0: the framework's default), run one
    workload, print one JSON line."""
    if cfg["threads"]:
        common.pin_threads(cfg["threads"])
    elif framework == "torch":  # its default count, passed on to torch.set_num_threads
        import torch

        cfg = dict(cfg, threads=torch.get_num_threads())
    else:
        cfg = dict(cfg, threads=os.cpu_count() or 1)
    import workloads
    import workloads_conv
    import workloads_nets
    import workloads_seq

    fn = (getattr(workloads, workload, None) or getattr(workloads_conv, workload, None)
          or getattr(workloads_nets, workload, None) or getattr(workloads_seq, workload))
    try:
        res = fn(framework, cfg)
    except Exception as exc:  # a framework that cannot run the workload is reported, not fatal
        res = {"skipped": f"{type(exc).__name__}: {exc}"[:200]}
    common.emit(res)


def run_child(workload: str, framework: str, cfg: dict,
              extra_env: dict | None = None) -> dict | None:
    """Run one workload in a subprocess with ``cfg["threads"]`` threads (0: no thread
    variables at all, the framework's default configuration)."""
    import subprocess

    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if cfg["threads"]:
            env[var] = str(cfg["threads"])
        else:
            env.pop(var, None)
    env["PYTHONWARNINGS"] = "ignore"
    env.update(extra_env or {})
    cmd = [sys.executable, os.path.abspath(__file__), "--child", workload, framework,
           "--cfg", json.dumps(cfg)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=common.REPO)
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-2:])
    return {"skipped": f"child failed (rc {proc.returncode}): {tail}"[:300]}


def _pool(old: dict | None, new: dict) -> dict:
    """Merge a further round's result into ``old``: timings pooled, peak RSS the maximum."""
    if old is None or "median_s" not in old:
        return new
    if "median_s" not in new:
        return old
    merged = dict(new)
    merged["times"] = old["times"] + new["times"]
    merged["median_s"] = statistics.median(merged["times"])
    merged["peak_rss_mib"] = max(old.get("peak_rss_mib", 0), new.get("peak_rss_mib", 0))
    for key in ("faults_per_step",):
        if key in old:
            merged[key] = min(old[key], new[key])
    for key in ("ceiling_fraction", "ceiling_gflops_here", "step_gflops_here"):
        if key in old and key in new:  # median of the rounds' load-robust estimates
            merged[key + "_rounds"] = old.get(key + "_rounds", [old[key]]) + [new[key]]
            merged[key] = statistics.median(merged[key + "_rounds"])
    if "gflops" in new:
        merged["gflops"] = new["gflops"] * new["median_s"] / merged["median_s"]
    if "samples_per_s" in new:
        merged["samples_per_s"] = 1024 / merged["median_s"]
    if "us_per_op" in new:
        merged["us_per_op"] = new["us_per_op"] * merged["median_s"] / new["median_s"]
    merged["rounds"] = old.get("rounds", 1) + 1
    return merged


def _numba_version() -> str | None:
    """numba's version when softgrad's fused optimizer kernels will use it, else None."""
    from importlib import metadata

    if os.environ.get("SOFTGRAD_NUMBA", "1").strip().lower() in ("0", "off", "no", "false"):
        return None
    try:
        return metadata.version("numba")
    except metadata.PackageNotFoundError:
        return None


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller sizes, 2 repeats (~2 min)")
    p.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    p.add_argument("--frameworks", default=",".join(common.FRAMEWORKS))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per workload")
    p.add_argument("--rounds", type=int, default=None,
                   help="run the frameworks' children this many times in turn (A B C A B C) "
                        "and pool their timings, so that load changes hit all alike "
                        "(default 2; 1 with --quick)")
    p.add_argument("--out", default=HERE, help="folder for results.json / results.png")
    p.add_argument("--no-readme", action="store_true", help="do not rewrite bench/README.md")
    p.add_argument("--busy", action="store_true",
                   help="run beside CPU-bound neighbour processes of its own: softgrad's default "
                        "configuration vs OMP_NUM_THREADS=1 vs PyTorch (writes results_busy.json)")
    p.add_argument("--neighbours", type=int, default=1, help="with --busy: neighbours to start")
    p.add_argument("--with-fixed", action="store_true",
                   help="with --busy: also softgrad with every core and no adaptation")
    p.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    p.add_argument("--cfg", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child_main(args.child[0], args.child[1], json.loads(args.cfg))
        return 0
    cfg = dict(QUICK if args.quick else FULL, threads=args.threads)
    cfg["rounds"] = args.rounds or (1 if args.quick else 2)
    if args.repeats:
        cfg["repeats"] = args.repeats
    selected = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in selected if w not in WORKLOADS]
    if unknown:
        p.error(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    if args.busy:
        return main_busy(args, [w for w in selected if w not in ("ceiling", "mlp_rss")], cfg)
    t_start = time.perf_counter()
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "mode": "quick" if args.quick else "full", "threads": args.threads,
            "python": platform.python_version(), "machine": platform.processor() or
            platform.machine(), "cpus": os.cpu_count(), "load_before": load_average(),
            "config": cfg, "command": "python bench/run_all.py " + " ".join(argv or sys.argv[1:]),
            "softgrad_env": {k: v for k, v in os.environ.items() if k.startswith("SOFTGRAD_")},
            "numba": _numba_version()}
    results: dict[str, dict] = {}
    for w in selected:
        fws = ["numpy"] if w == "ceiling" else frameworks
        results[w] = {}
        rounds = 1 if w in ("ceiling", "mlp_rss") else cfg["rounds"]
        if w in SHORT:
            rounds += 1
        for r in range(rounds):
            for fw in fws:
                t0 = time.perf_counter()
                print(f"[{time.perf_counter() - t_start:5.0f} s] {w} / {fw} (round {r + 1}/"
                      f"{rounds}) ...", file=sys.stderr, flush=True)
                results[w][fw] = _pool(results[w].get(fw), run_child(w, fw, cfg))
                print(f"         done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        print()
        print(report.table(TITLES[w], w, results[w]), flush=True)
    meta["load_after"] = load_average()
    meta["wall_s"] = round(time.perf_counter() - t_start, 1)
    summary = report.summary(results)
    print()
    print(report.summary_text(summary, meta))
    out = {"meta": meta, "summary": summary, "results": results}
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "results.json")
    with open(path + ".tmp", "w") as f:  # written whole, then renamed over the old file
        json.dump(out, f, indent=1)
    os.replace(path + ".tmp", path)
    png = report.chart(out, os.path.join(args.out, "results.png"))
    if png:
        print(f"chart: {png}")
    if not args.no_readme:
        report.write_readme(out, os.path.join(HERE, "README.md"))
    return 0


def main_busy(args: argparse.Namespace, selected: list[str], cfg: dict) -> int:
    """``--busy``: the workloads beside neighbours; tables, goal ratios, results_busy.json."""
    t_start = time.perf_counter()
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "mode": ("quick" if args.quick else "full") + " busy", "neighbours": args.neighbours,
            "cpus": os.cpu_count(), "load_before": load_average(), "config": cfg,
            "command": "python bench/run_all.py " + " ".join(sys.argv[1:])}
    results = busy.run(selected, cfg, run_child, _pool, args.neighbours, args.with_fixed,
                       log=lambda m: print(m, file=sys.stderr, flush=True))
    for w, rows in results.items():
        print()
        print(busy.table(TITLES[w], rows), flush=True)
    print()
    print(busy.summary_text(results))
    meta["load_after"] = load_average()
    meta["wall_s"] = round(time.perf_counter() - t_start, 1)
    out = {"meta": meta, "ratios": {w: busy.ratios(r) for w, r in results.items()},
           "results": results}
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "results_busy.json")
    with open(path + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
    os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
