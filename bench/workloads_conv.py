"""Convolution workloads of ``run_all.py`` (child side): the CIFAR-sized CNN epoch, a
ResNet-18 training step, 512-channel 3x3 convolutions on small maps and a Conv3d network.

The models come from ``conv_models.py`` (one builder for both frameworks); the CNN is the one
of ``bench_layers.py cnn``, trained for one epoch of synthetic 3x32x32 images with Adam.
"""
from __future__ import annotations

import common
import conv_models
from workloads import timed


def _steps(framework: str, kind: str, cfg: dict, batch: int | None = None) -> dict:
    """Time per step of ``kind`` (``cfg['conv_steps']`` steps per timed repeat), minor page
    faults per step and, through ``emit``, the child's peak RSS."""
    if framework not in ("softgrad", "torch"):
        return {"skipped": f"no {kind} model for {framework}"}
    step, _ = conv_models.make_step(framework, kind, cfg["threads"], batch)
    steps = cfg["conv_steps"]
    faults: list[float] = []

    def run() -> None:
        f0 = common.minor_faults()
        for _ in range(steps):
            step()
        faults.append((common.minor_faults() - f0) / steps)

    times = timed(run, cfg["repeats"], step, cfg["budget_s"])
    res = common.summarize([t / steps for t in times])
    res.update(steps=steps, batch=batch or conv_models.DEFAULT_BATCH[kind],
               faults_per_step=min(faults))
    return res


def resnet18(framework: str, cfg: dict) -> dict:
    """One ResNet-18 training step (SGD with momentum) on 32x32 inputs."""
    return _steps(framework, "resnet18", cfg, cfg.get("resnet_batch"))


def conv512(framework: str, cfg: dict) -> dict:
    """Forward + backward of a 512->512 3x3 convolution on 4x4, 2x2 and 1x1 maps."""
    return _steps(framework, "conv512", cfg, cfg.get("conv512_batch"))


def conv3d(framework: str, cfg: dict) -> dict:
    """Forward + backward of two Conv3d layers (4->16->32 channels) on 16^3 volumes."""
    return _steps(framework, "conv3d", cfg, cfg.get("conv3d_batch"))


def cnn(framework: str, cfg: dict) -> dict:
    """One epoch of the CIFAR-sized CNN (Adam, batch 128) on synthetic 3x32x32 images."""
    if framework not in ("softgrad", "torch"):
        return {"skipped": f"no CNN model for {framework}"}
    import bench_layers

    x, y = bench_layers.cnn_data(cfg["cnn_samples"])
    wrap, step = bench_layers.build_lenet(framework, cfg["threads"], "adam", "cnn")
    batch = cfg.get("cnn_batch", bench_layers.BATCH)
    batches = common.make_batches(wrap, x, y, batch)
    faults: list[float] = []
    epoch = common.epoch_runner(batches, step, faults)
    res = common.summarize(timed(epoch, cfg["repeats"], lambda: step(*batches[0]),
                                 cfg["budget_s"]))
    res["samples"] = len(batches) * batch
    res["faults_per_step"] = min(faults)
    return res
