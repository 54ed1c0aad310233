"""Worker: values of all_reduce / broadcast / all_gather / barrier and DistributedSampler.

Run as ``mpiexec -n N python collectives.py OUT_DIR``; rank r writes OUT_DIR/rank{r}.json.
"""
from __future__ import annotations

import json
import sys

import softgrad as sg
import softgrad.distributed as dist
import softgrad.nn as nn
from softgrad.utils.data import DistributedSampler


def main() -> None:
    out: dict = {}
    out["initialized_before"] = dist.is_initialized()
    dist.init_process_group(timeout=20)
    r, n = dist.get_rank(), dist.get_world_size()
    out.update(rank=r, world=n, initialized=dist.is_initialized(), backend=dist.get_backend())

    t = sg.tensor([float(r), 1.0])
    dist.all_reduce(t)
    out["sum"], out["sum_dtype"] = t.tolist(), str(t.dtype)
    t = sg.tensor([float(r), 2.0], dtype=sg.float64)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    out["avg"] = t.tolist()
    t = sg.tensor([r + 1, -r])
    dist.all_reduce(t, op=dist.ReduceOp.PRODUCT)
    out["prod"] = t.tolist()
    t = sg.tensor([float(r), -float(r)])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    out["max"] = t.tolist()
    t = sg.tensor([float(r), -float(r)])
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    out["min"] = t.tolist()
    base = sg.arange(6, dtype=sg.float32).reshape(2, 3) * (r + 1)
    t = base.T  # a non-contiguous view: reduced through a copy, written back in place
    dist.all_reduce(t)
    out["transposed"], out["base_after"] = t.tolist(), base.tolist()
    t = sg.tensor([float(r)] * 3)
    work = dist.all_reduce(t, async_op=True)
    work.wait()
    out["async"], out["async_done"] = t.tolist(), work.is_completed()

    src = n - 1
    t = sg.arange(4) * (r + 10)
    dist.broadcast(t, src=src)
    out["broadcast"] = t.tolist()

    gathered = [sg.zeros(2, 2) for _ in range(n)]
    dist.all_gather(gathered, sg.full((2, 2), float(r)) + sg.eye(2))
    out["all_gather"] = [g.tolist() for g in gathered]

    # DDP: parameters from rank 0 at construction; buffers from rank 0 before each forward
    for broadcast_buffers in (True, False):
        sg.manual_seed(r)  # a different initialisation on every rank
        model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
        ddp = nn.parallel.DistributedDataParallel(model, broadcast_buffers=broadcast_buffers)
        out[f"weight_sum_{broadcast_buffers}"] = model[0].weight.sum().item()
        model[1].running_mean.data[...] = float(r + 1)
        ddp.eval()
        with sg.no_grad():
            ddp(sg.randn(2, 3))
        out[f"bn_mean_{broadcast_buffers}"] = model[1].running_mean.tolist()
    out["ddp_state_keys"] = sorted(ddp.state_dict())[:2]

    dist.barrier()
    sampler = DistributedSampler(range(11), shuffle=True, seed=3)
    sampler.set_epoch(2)
    out["sampler"] = list(sampler)
    out["sampler_rank"], out["sampler_replicas"] = sampler.rank, sampler.num_replicas
    dist.destroy_process_group()
    out["initialized_after"] = dist.is_initialized()
    with open(f"{sys.argv[1]}/rank{r}.json", "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
