"""GPT-style training step: softgrad vs PyTorch (same thread count, same shapes).

Model: token + learned position embeddings, ``--layers`` pre-norm blocks (LayerNorm, causal
self-attention through ``F.scaled_dot_product_attention(..., is_causal=True)`` with 4 heads,
LayerNorm, MLP d -> 4d -> d with GELU), a final LayerNorm and a linear LM head; cross-entropy
over every position; AdamW. d_model 128, vocabulary 128, sequence 64, batch 32. Both
frameworks run in one subprocess and alternate step by step; the ratio of the median step
times is reported.

Usage:  python bench/bench_gpt.py [--layers 2] [--steps 20] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

VOCAB, D, HEADS, SEQ, BATCH = 128, 128, 4, 64, 32


def make_data(seed: int = 0):
    """Token ids (BATCH, SEQ) and next-token targets, int64."""
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(0, VOCAB, size=(BATCH, SEQ + 1)).astype(np.int64)
    return ids[:, :-1].copy(), ids[:, 1:].copy()


def _model(lib, layers: int):
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
            self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
            self.fc1, self.fc2 = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

        def forward(self, x):
            B, T, _ = x.shape
            qkv = self.qkv(self.ln1(x)).reshape(B, T, 3, HEADS, D // HEADS).permute(2, 0, 3, 1,
                                                                                     4)
            y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(B, T, D))
            return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(VOCAB, D), nn.Embedding(SEQ, D)
            self.blocks = nn.ModuleList([Block() for _ in range(layers)])
            self.ln_f, self.head = nn.LayerNorm(D), nn.Linear(D, VOCAB, bias=False)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(lib.arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    return GPT()


def build(framework: str, layers: int = 2, threads: int = 1):
    """(wrap, step) for 'softgrad' or 'torch': one AdamW training step on (ids, targets)."""
    if framework == "softgrad":
        import softgrad as lib
    else:
        import torch as lib

        lib.set_num_threads(threads)
    lib.manual_seed(0)
    model = _model(lib, layers)
    opt = lib.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    F = lib.nn.functional

    def step(ids, targets):
        opt.zero_grad()
        logits = model(ids)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    return lib.from_numpy, step


def _steps(args: argparse.Namespace) -> dict:
    import functools

    ids, targets = make_data()
    steps = {}
    for fw in args.frameworks.split(","):
        wrap, step = build(fw, args.layers, args.threads)
        steps[fw] = functools.partial(step, wrap(ids), wrap(targets))
    return steps


def main() -> None:
    common.alternating_main(__file__, __doc__, _steps, lambda args: (
        f"GPT-style training step ({args.layers} layers, d {D}, {HEADS} heads, causal SDPA, "
        f"seq {SEQ}, batch {BATCH}, AdamW; {args.threads} thread(s)), steps alternating in "
        "one process"))


if __name__ == "__main__":
    main()
