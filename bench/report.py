"""Tables, target checks, the PNG chart and bench/README.md for ``run_all.py`` results."""
from __future__ import annotations

from typing import Any

TARGETS = [  # (summary key, comparison, limit, text)
    ("mlp_train_x_torch", "<=", 1.0, "MLP epoch <= 1.0x PyTorch"),
    ("mlp_train_x_pydynet", "<", 1.0, "MLP epoch below PyDyNet"),
    ("mlp_ceiling_fraction", ">=", 0.5, "MLP step >= 50% of GEMM ceiling (interleaved)"),
    ("mlp_epoch_over_ceiling_workload", ">=", 0.5, "MLP epoch / ceiling workload >= 50%"),
    ("mlp_infer_x_torch", "<=", 1.0, "MLP inference <= 1.0x PyTorch"),
    ("overhead_x_torch", "<=", 0.8, "per-op overhead <= 0.8x PyTorch"),
    ("mlp_peak_rss_x_torch", "<=", 1.0, "MLP epoch peak RSS <= PyTorch's"),
    ("rss_growth_pct", "<=", 5.0, "RSS epoch 10 within 5% of epoch 2"),
    ("lenet_x_torch", "<=", 1.0, "LeNet training <= 1.0x PyTorch"),
    ("cnn_x_torch", "<=", 1.2, "CIFAR-sized CNN <= 1.2x PyTorch"),
    ("resnet18_x_torch", "<=", 1.5, "ResNet-18 step <= 1.5x PyTorch"),
    ("resnet18_peak_rss_x_torch", "<=", 1.0, "ResNet-18 peak RSS <= PyTorch's"),
    ("conv512_x_torch", "<=", 1.5, "3x3 conv 512ch, 1x1-4x4 maps <= 1.5x"),
    ("conv3d_x_torch", "<=", 1.2, "Conv3d <= 1.2x PyTorch"),
    ("lstm_x_torch", "<=", 1.0, "LSTM step <= 1.0x PyTorch"),
    ("gru_x_torch", "<=", 1.0, "GRU (small matrices) step <= 1.0x PyTorch"),
    ("gpt_x_torch", "<=", 1.0, "GPT-style step <= 1.0x PyTorch"),
]
CONV_WORKLOADS = ("lenet", "cnn", "resnet18", "conv512", "conv3d")


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.3f} s"


def _ok(r: Any) -> bool:
    return isinstance(r, dict) and "median_s" in r


def _framework_rows(rows: dict):
    """(framework, result, ratio to torch as text, why it has no timing or None) per row."""
    base = rows.get("torch", {}).get("median_s") if _ok(rows.get("torch")) else None
    for fw, r in rows.items():
        if not _ok(r):
            yield fw, r, "", r.get("skipped", "failed") if isinstance(r, dict) else "failed"
        else:
            yield fw, r, f"{r['median_s'] / base:.2f}" if base else "n/a", None


def table(title: str, workload: str, rows: dict[str, dict]) -> str:
    """Text table: median, min, ratio to torch, peak RSS and a workload-specific extra."""
    if workload == "ceiling":
        r = rows.get("numpy") or {}
        if not _ok(r):
            return f"{title}\n  n/a: {r.get('skipped', 'failed')}"
        lines = [title] + [f"  {k:<14} {v:7.1f} GFLOP/s" for k, v in
                           r["per_gemm_gflops"].items()]
        lines.append(f"  GEMM-only ceiling for one training step: {r['gemm_gflops']:.1f} GFLOP/s")
        lines.append(f"  element-wise pass bandwidth: {r['bandwidth_gbs']:.1f} GB/s")
        return "\n".join(lines)
    lines = [title, f"  {'framework':<10} {'median':>11} {'min':>11} {'x torch':>8} "
                    f"{'peak RSS':>10}  extra"]
    for fw, r, ratio, why in _framework_rows(rows):
        if why is not None:
            lines.append(f"  {fw:<10} {'skipped':>11}  ({why})")
            continue
        lines.append(f"  {fw:<10} {_fmt(r['median_s']):>11} {_fmt(min(r['times'])):>11} "
                     f"{ratio:>8} {r.get('peak_rss_mib', 0):>6.0f} MiB  {_extra(workload, r)}")
    return "\n".join(lines)


def _extra(workload: str, r: dict) -> str:
    if workload == "mlp_train":
        ceil = ""
        if "ceiling_fraction" in r:
            ceil = (f" (interleaved steps: {r['step_gflops_here']:.0f} vs GEMM-only "
                    f"{r['ceiling_gflops_here']:.0f} GFLOP/s = {100 * r['ceiling_fraction']:.0f}%)")
        return f"{r['gflops']:.1f} GFLOP/s{ceil}, {r['faults_per_step']:.0f} minor faults/step"
    if workload == "mlp_infer":
        return f"{r['samples_per_s']:.0f} samples/s, {r['faults_per_step']:.0f} minor faults/step"
    if workload == "overhead":
        return f"{r['iters']} iters, {r['us_per_op']:.1f} us/op"
    if workload == "mlp_rss":
        return (f"RSS {r['rss_mib'][1]:.0f} -> {r['rss_mib'][9]:.0f} MiB "
                f"({r['rss_growth_pct']:+.1f}%)")
    if workload in ("lenet", "cnn"):
        return f"{r['samples']} samples, {r.get('faults_per_step', 0):.0f} minor faults/step"
    if workload in CONV_WORKLOADS:
        return (f"time per step, batch {r.get('batch', '?')}, "
                f"{r.get('faults_per_step', 0):.0f} minor faults/step")
    return ""


def summary(results: dict[str, dict]) -> dict[str, float]:
    """The headline numbers: softgrad's ratios to PyTorch/PyDyNet and the ceiling fraction."""
    out: dict[str, float] = {}
    for w in ("mlp_train", "mlp_infer", "overhead", "lstm", "gru", "gpt") + CONV_WORKLOADS:
        rows = results.get(w, {})
        sg = rows.get("softgrad")
        if not _ok(sg):
            continue
        for ref in ("torch", "pydynet"):
            if _ok(rows.get(ref)):
                out[f"{w}_x_{ref}"] = round(sg["median_s"] / rows[ref]["median_s"], 3)
    res = results.get("resnet18", {})
    if _ok(res.get("softgrad")) and _ok(res.get("torch")):
        out["resnet18_peak_rss_x_torch"] = round(
            res["softgrad"]["peak_rss_mib"] / res["torch"]["peak_rss_mib"], 3)
    mlp = results.get("mlp_train", {})
    if _ok(mlp.get("softgrad")):
        out["mlp_gflops"] = round(mlp["softgrad"]["gflops"], 1)
        if _ok(mlp.get("torch")):
            out["mlp_peak_rss_x_torch"] = round(
                mlp["softgrad"]["peak_rss_mib"] / mlp["torch"]["peak_rss_mib"], 3)
        ceil = results.get("ceiling", {}).get("numpy")
        if _ok(ceil):
            out["gemm_ceiling_gflops"] = round(ceil["gemm_gflops"], 1)
        # the fraction from training steps interleaved with GEMM-only steps in the softgrad
        # process itself (load-robust); else epoch rate / the separate ceiling workload
        if "gemm_ceiling_gflops" in out:
            out["mlp_epoch_over_ceiling_workload"] = round(
                mlp["softgrad"]["gflops"] / out["gemm_ceiling_gflops"], 3)
        if "ceiling_fraction" in mlp["softgrad"]:
            out["mlp_ceiling_fraction"] = round(mlp["softgrad"]["ceiling_fraction"], 3)
        elif "gemm_ceiling_gflops" in out:
            out["mlp_ceiling_fraction"] = round(
                mlp["softgrad"]["gflops"] / out["gemm_ceiling_gflops"], 3)
    rss = results.get("mlp_rss", {}).get("softgrad")
    if _ok(rss):
        out["rss_growth_pct"] = round(rss["rss_growth_pct"], 2)
    return out


def check_targets(s: dict[str, float]) -> list[tuple[str, str, str]]:
    """(target text, measured, 'met'/'MISSED'/'not measured') for each target."""
    rows = []
    for key, op, limit, text in TARGETS:
        if key not in s:
            rows.append((text, "-", "not measured"))
            continue
        v = s[key]
        met = {"<=": v <= limit, "<": v < limit, ">=": v >= limit}[op]
        shown = f"{v:+.1f}%" if key.endswith("pct") else f"{v:.2f}"
        rows.append((text, shown, "met" if met else "MISSED"))
    return rows


def summary_text(s: dict[str, float], meta: dict) -> str:
    lines = [f"Summary ({meta['mode']} run, {meta['threads']} threads, load average "
             f"{meta['load_before']} before / {meta['load_after']} after, {meta['wall_s']} s)"]
    lines += [f"  {text:<40} {shown:>8}  {state}" for text, shown, state in check_targets(s)]
    return "\n".join(lines)


def chart(out: dict, path: str) -> str | None:
    """Bar chart of each framework's time relative to PyTorch, per workload (log scale)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        return None
    res = out["results"]
    workloads = [w for w in ("mlp_train", "mlp_infer", "lenet", "cnn", "resnet18", "conv512",
                             "conv3d", "lstm", "overhead") if _ok(res.get(w, {}).get("torch"))]
    if not workloads:
        return None
    fws = ["softgrad", "torch", "pydynet"]
    fig, ax = plt.subplots(figsize=(max(8, len(workloads)), 4))
    width = 0.8 / len(fws)
    for i, fw in enumerate(fws):
        vals = []
        for w in workloads:
            r, base = res[w].get(fw), res[w]["torch"]["median_s"]
            vals.append(r["median_s"] / base if _ok(r) else 0.0)
        xs = [j + (i - 1) * width for j in range(len(workloads))]
        bars = ax.bar(xs, vals, width, label=fw)
        for b, v in zip(bars, vals):
            if v:
                ax.annotate(f"{v:.2f}", (b.get_x() + b.get_width() / 2, v), ha="center",
                            va="bottom", fontsize=7)
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels(workloads)
    ax.set_yscale("log")
    from matplotlib.ticker import ScalarFormatter

    for axis in (ax.yaxis,):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(ScalarFormatter())
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_ylabel("time relative to PyTorch (lower is better)")
    m = out["meta"]
    ax.set_title(f"softgrad vs PyTorch vs PyDyNet, {m['threads']} threads, {m['mode']} run, "
                 f"{m['date']}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def markdown_tables(out: dict) -> str:
    res, lines = out["results"], []
    for w, rows in res.items():
        if w == "ceiling":
            r = rows.get("numpy")
            if _ok(r):
                lines.append(f"- GEMM ceiling at the MLP's shapes: **{r['gemm_gflops']:.0f} "
                             f"GFLOP/s**; element-wise bandwidth: "
                             f"**{r['bandwidth_gbs']:.0f} GB/s**")
            continue
        lines += ["", f"**{w}**", "", "| framework | median | x PyTorch | peak RSS | notes |",
                  "|---|---:|---:|---:|---|"]
        for fw, r, ratio, why in _framework_rows(rows):
            if why is not None:
                lines.append(f"| {fw} | skipped | | | {why} |")
                continue
            lines.append(f"| {fw} | {_fmt(r['median_s'])} | {ratio} | "
                         f"{r.get('peak_rss_mib', 0):.0f} MiB | {_extra(w, r)} |")
    return "\n".join(lines)


def write_readme(out: dict, path: str) -> None:
    m, s = out["meta"], out["summary"]
    targets = "\n".join(f"| {t} | {v} | {state} |" for t, v, state in check_targets(s))
    load = float(m["load_before"].split()[0] if m["load_before"] != "n/a" else 0)
    machine = ("a shared, loaded machine: ratios measured side by side in one run are what to "
               "compare" if load > 1.5 else "a quiet machine")
    text = f"""# softgrad benchmarks

`run_all.py` runs the same work with softgrad, PyTorch (CPU) and PyDyNet, each framework in
its own subprocess with the same thread count (`--threads`, default 2: `OMP_NUM_THREADS`,
`OPENBLAS_NUM_THREADS`, `MKL_NUM_THREADS` and `torch.set_num_threads`), one warm-up and
several timed repeats. It prints median times, the ratio to PyTorch and each process's peak
RSS, and writes `results.json`, `results.png` and this file.

```
python bench/run_all.py            # full run, about 8 minutes on 2 cores
python bench/run_all.py --quick    # smaller sizes, about 2 minutes
python bench/run_all.py --only mlp_train,overhead --frameworks softgrad,torch
```

Workloads: `mlp_train` (784-1024-1024-10 MLP with ReLU and a residual add, Adam, batch 128,
cross-entropy, one epoch of synthetic MNIST-shaped data), `mlp_infer` (the same MLP, batch
1024, no autograd), `lenet` (LeNet-style CNN epoch on 28x28 images, batch 128, Adam), `cnn`
(CIFAR-sized CNN epoch: 3x3 convs 32-32-64-64 with BatchNorm, ReLU, max and average pooling,
3x32x32 images, batch 128, Adam), `resnet18` (one ResNet-18 training step on 32x32 inputs,
batch 32: BasicBlocks, BatchNorm, stride-2 downsampling with 1x1 conv shortcuts, adaptive
average pooling, SGD with momentum; its peak RSS is compared too), `conv512` (forward +
backward of a 3x3 512->512 conv on 4x4, 2x2 and 1x1 maps, batch 32: ResNet's last stage),
`conv3d` (forward + backward of Conv3d 4->16->32, 3x3x3, on 8 volumes of 16^3), `lstm`
(one training step of LSTM(32->128) over 50 steps, batch 64, Adam), `gru` (one training step
of a bidirectional GRU(1->64) over 40 steps, batch 64, Adam: small matrices), `gpt` (one
training step of a GPT-style model, `bench_gpt.py`: 2 pre-norm blocks, d 128, causal
`scaled_dot_product_attention`, GELU MLP, seq 64, batch 32, AdamW), `overhead` (10
element-wise ops + sum + backward on 1x10 tensors, repeated), `mlp_rss` (RSS after 10 short
epochs vs after epoch 2) and `ceiling` (NumPy float32 GEMM at the MLP's shapes, element-wise
bandwidth).
`python bench/run_all.py --busy [--only lstm,gru,gpt] [--with-fixed]` runs the workloads
beside a CPU-bound neighbour process of its own (a pure-Python loop in its own session):
softgrad's default configuration (no thread variables: the adaptive thread policy) against
`OMP_NUM_THREADS=1` and PyTorch, default and single-threaded; it writes `results_busy.json`.
The goals there: the default within 1.2x of one thread, and no slower than PyTorch.

The fraction of the GEMM ceiling is given two ways: the epoch's model FLOP/s over the
`ceiling` workload's GEMM rate (two separate measurements, sensitive to load changes), and,
inside the softgrad MLP process, 150 training steps each followed by a step of only its nine
GEMMs at the same shapes: median GEMM-only time / median step time (load-robust).

Environment: `SOFTGRAD_NUMBA=0` turns off the optional numba-fused optimizer kernels,
`SOFTGRAD_MALLOC=default` leaves glibc's malloc thresholds alone (see the main README).

## Latest numbers

{m['date']}, `{m['command'].strip()}`, {m['mode']} run, {m['threads']} threads on
{m['cpus']} CPUs, Python {m['python']}, fused optimizer kernels (numba):
{m.get('numba') or 'off'}; load average {m['load_before']} before and
{m['load_after']} after ({machine}).

| target | measured | |
|---|---:|---|
{targets}
{markdown_tables(out)}

![results](results.png)
"""
    with open(path, "w") as f:
        f.write(text)
