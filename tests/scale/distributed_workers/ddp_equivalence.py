"""Worker: one epoch of DDP training equals single-process training on the combined batches.

Run as ``mpiexec -n N python ddp_equivalence.py OUT_DIR``; rank r writes OUT_DIR/rank{r}.json.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import softgrad as sg
import softgrad.distributed as dist
import softgrad.nn.functional as F
from softgrad import nn
from softgrad.utils.data import DataLoader, DistributedSampler, TensorDataset

GLOBAL_BATCH, N, EPOCH = 8, 40, 1


def make_model(seed: int) -> nn.Module:
    sg.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 3)).double().to(DEVICE)


DEVICE = "cpu"


def train(model: nn.Module, loader: DataLoader, sampler: DistributedSampler, accum: bool,
          ddp: nn.Module | None = None) -> None:
    """SGD with momentum; with ``accum`` each batch is two half-batches (no_sync on the first)."""
    net = ddp if ddp is not None else model
    opt = sg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    sampler.set_epoch(EPOCH)
    for x, y in loader:
        x, y = x.to(DEVICE), y.to(DEVICE)
        opt.zero_grad()
        if accum:
            h = len(x) // 2
            ctx = ddp.no_sync() if ddp is not None else _null()
            with ctx:
                (F.cross_entropy(net(x[:h]), y[:h]) * 0.5).backward()
            (F.cross_entropy(net(x[h:]), y[h:]) * 0.5).backward()
        else:
            F.cross_entropy(net(x), y).backward()
        opt.step()


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None


def main() -> None:
    global DEVICE
    out_dir = sys.argv[1]
    if "--fake-cuda" in sys.argv:  # the model on the NumPy-backed stand-in GPU of the tests
        sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the checkout
        from tests.helpers import fake_cuda

        fake_cuda.install()
        DEVICE = "cuda"
    accum = "--accum" in sys.argv
    cap = 0.0005 if "--small-buckets" in sys.argv else 25.0
    dist.init_process_group("mpi", timeout=30)
    rank, world = dist.get_rank(), dist.get_world_size()
    rng = np.random.default_rng(123)
    ds = TensorDataset(sg.tensor(rng.standard_normal((N, 5))), sg.tensor(rng.integers(0, 3, N)))

    # data parallel: each rank starts from different weights; DDP broadcasts rank 0's
    model = make_model(seed=100 + rank)
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=cap)
    sampler = DistributedSampler(ds, shuffle=True, seed=7)
    train(model, DataLoader(ds, batch_size=GLOBAL_BATCH // world, sampler=sampler), sampler,
          accum, ddp)
    # single process on the combined batches (same permutation, global batch size)
    ref = make_model(seed=100)
    ref_sampler = DistributedSampler(ds, num_replicas=1, rank=0, shuffle=True, seed=7)
    train(ref, DataLoader(ds, batch_size=GLOBAL_BATCH, sampler=ref_sampler), ref_sampler, accum)

    on_device = all(p.device == DEVICE and (p.grad is None or p.grad.device == DEVICE)
                    for p in model.parameters())
    err = max(float(np.abs(a.detach().numpy() - b.detach().numpy()).max())
              for a, b in zip(model.parameters(), ref.parameters()))
    moved = max(float(np.abs(a.detach().numpy() - b.detach().numpy()).max())
                for a, b in zip(model.parameters(), make_model(seed=100).parameters()))
    flat = sg.cat([p.detach().reshape(-1) for p in model.parameters()])
    gathered = [sg.zeros_like(flat) for _ in range(world)]
    dist.all_gather(gathered, flat)
    spread = max(float(np.abs(g.numpy() - flat.numpy()).max()) for g in gathered)
    with open(f"{out_dir}/rank{rank}.json", "w") as f:
        json.dump({"rank": rank, "world": world, "max_error": err, "moved": moved,
                   "rank_spread": spread, "buckets": len(ddp._buckets),
                   "overlapped": ddp.overlapped_buckets, "on_device": on_device}, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
