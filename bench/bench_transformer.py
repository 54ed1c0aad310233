"""Transformer encoder training step: softgrad vs PyTorch (same thread count, same shapes).

Model: ``TransformerEncoder`` of ``--layers`` ``TransformerEncoderLayer(d_model=128,
nhead=4, dim_feedforward=256, dropout=0, batch_first=True)``, mean pooling, a linear head,
cross-entropy, Adam. Batch 32, sequence 64. Both frameworks run in one subprocess and
alternate step by step (so load from other processes hits both alike); the ratio of the
median step times is reported.

Usage:  python bench/bench_transformer.py [--layers 2] [--steps 20] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

D, HEADS, FF, SEQ, BATCH, OUT = 128, 4, 256, 64, 32, 10


def build(framework: str, layers: int, threads: int):
    """A training step closure for ``framework`` ('softgrad' or 'torch')."""
    import numpy as np

    if framework == "softgrad":
        import softgrad as lib
        import softgrad.nn.functional as F

        lib.manual_seed(0)
    else:
        import torch as lib
        import torch.nn.functional as F

        lib.set_num_threads(threads)
        lib.manual_seed(0)
    nn = lib.nn
    layer = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, batch_first=True)
    enc, head = nn.TransformerEncoder(layer, layers), nn.Linear(D, OUT)
    opt = lib.optim.Adam(list(enc.parameters()) + list(head.parameters()), lr=1e-3)
    rng = np.random.default_rng(0)
    xb = lib.tensor(rng.standard_normal((BATCH, SEQ, D)).astype(np.float32))
    yb = lib.tensor(rng.integers(0, OUT, size=BATCH).astype(np.int64))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(head(enc(xb).mean(1)), yb)
        loss.backward()
        opt.step()

    return step


def _steps(args: argparse.Namespace) -> dict:
    return {fw: build(fw, args.layers, args.threads) for fw in args.frameworks.split(",")}


def main() -> None:
    common.alternating_main(__file__, __doc__, _steps, lambda args: (
        f"{args.layers}-layer Transformer encoder training step (d_model {D}, {HEADS} heads, "
        f"seq {SEQ}, batch {BATCH}, Adam; {args.threads} thread(s)), steps alternating in one "
        "process"))


if __name__ == "__main__":
    main()
