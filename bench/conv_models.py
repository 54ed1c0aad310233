"""Convolution-shaped benchmark models, built identically in softgrad and PyTorch.

Each builder takes the framework's ``nn`` namespace (``softgrad.nn`` or ``torch.nn``) and
returns the same architecture; ``make_step`` turns a model into one training step
(forward, cross-entropy or sum loss, backward, optimizer step).

- ``resnet18``: ResNet-18 for 32x32 inputs: a 3x3 stem conv (64 channels), four stages of
  two BasicBlocks (64, 128, 256, 512 channels; stages 2-4 start with a stride-2 conv and a
  1x1 stride-2 conv + BN shortcut), adaptive average pooling and a linear head.
- ``cnn``: the CIFAR-sized CNN of ``bench_layers.py cnn``.
- ``conv512``: 3x3 convolutions with 512 channels on 4x4, 2x2 and 1x1 maps (ResNet-18's last
  stage shapes), forward and backward.
- ``conv3d``: a small volumetric CNN: Conv3d 4->16 and 16->32 (3x3x3, padding 1, the second
  with stride 2) with ReLU on 16x16x16 volumes.
"""
from __future__ import annotations

from typing import Any

import numpy as np

RESNET_BATCH = 32
CONV512_BATCH = 32
CONV512_MAPS = (4, 2, 1)
CONV3D_BATCH = 8
CONV3D_INPUT = (4, 16, 16, 16)


def resnet18(nn: Any, num_classes: int = 10) -> Any:
    """ResNet-18 (BasicBlock, [2, 2, 2, 2]) for 32x32 inputs."""

    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.shortcut = None
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x: Any) -> Any:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            skip = x if self.shortcut is None else self.shortcut(x)
            return self.relu(out + skip)

    layers = [nn.Conv2d(3, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)]
    return nn.Sequential(*layers)


def cnn(nn: Any) -> Any:
    """The CIFAR-sized CNN: 3x3 convs 32-32-64-64 with BN, ReLU, max and average pooling."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(64, 10))


def lenet(nn: Any) -> Any:
    """The LeNet-style CNN of ``bench_layers.py lenet`` (28x28 input)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def conv512(nn: Any) -> Any:
    """One 512->512 3x3 convolution (padding 1), applied to each of the small maps."""
    return nn.Conv2d(512, 512, 3, padding=1, bias=False)


def conv3d(nn: Any) -> Any:
    """Conv3d 4->16 (3x3x3, pad 1), ReLU, Conv3d 16->32 (3x3x3, pad 1, stride 2), ReLU."""
    return nn.Sequential(nn.Conv3d(4, 16, 3, padding=1), nn.ReLU(),
                         nn.Conv3d(16, 32, 3, padding=1, stride=2), nn.ReLU())


def framework(name: str, threads: int) -> tuple:
    """(lib, nn, F) of ``name`` ('softgrad' or 'torch'), seeded, threads set."""
    if name == "torch":
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        torch.set_num_threads(threads)
        torch.manual_seed(0)
        return torch, nn, F
    import softgrad as sg
    import softgrad.nn as nn
    import softgrad.nn.functional as F

    sg.manual_seed(0)
    return sg, nn, F


DEFAULT_BATCH = {"lenet": 128, "cnn": 128, "resnet18": RESNET_BATCH, "conv512": CONV512_BATCH,
                 "conv3d": CONV3D_BATCH}


def data(kind: str, seed: int = 0, batch: int | None = None) -> list[np.ndarray]:
    """The input arrays of one step of ``kind`` (and the labels where there are any)."""
    rng = np.random.default_rng(seed)
    n = batch or DEFAULT_BATCH[kind]
    if kind == "lenet":
        return [rng.standard_normal((n, 1, 28, 28)).astype(np.float32),
                rng.integers(0, 10, n).astype(np.int64)]
    if kind in ("resnet18", "cnn"):
        return [rng.standard_normal((n, 3, 32, 32)).astype(np.float32),
                rng.integers(0, 10, n).astype(np.int64)]
    if kind == "conv512":
        return [rng.standard_normal((n, 512, s, s)).astype(np.float32) for s in CONV512_MAPS]
    if kind == "conv3d":
        return [rng.standard_normal((n,) + CONV3D_INPUT).astype(np.float32)]
    raise ValueError(f"unknown conv workload {kind!r}")


BUILDERS = {"resnet18": resnet18, "cnn": cnn, "lenet": lenet, "conv512": conv512,
            "conv3d": conv3d}


def make_step(name: str, kind: str, threads: int, batch: int | None = None) -> tuple:
    """(step, wrapped inputs) for one framework; ``step()`` runs one training step.

    resnet18 / cnn: cross-entropy, SGD with momentum. conv512 / conv3d: the sum of the
    outputs as loss (forward and backward of every layer, no optimizer).
    """
    lib, nn, F = framework(name, threads)
    model = BUILDERS[kind](nn)
    arrays = data(kind, batch=batch)
    wrap = lib.from_numpy
    if kind in ("resnet18", "cnn", "lenet"):
        x, y = wrap(arrays[0]), wrap(arrays[1])
        opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step() -> Any:
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step, model

    inputs = [wrap(a).requires_grad_() for a in arrays]

    def step() -> Any:
        for p in model.parameters():
            p.grad = None
        total = None
        for t in inputs:
            t.grad = None
            out = model(t).sum()
            total = out if total is None else total + out
        total.backward()
        return total
    return step, model
