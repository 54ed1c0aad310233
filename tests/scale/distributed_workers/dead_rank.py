"""Worker: a rank that dies or hangs mid-training; the others must exit with a clear error.

Run as ``mpiexec -n N python dead_rank.py MODE``; MODE is ``kill`` (the last rank is killed by
SIGKILL), ``hang`` (the last rank stops, SIGSTOP) or ``leave`` (the last rank stops training
and exits normally). The collective timeout is 2 s.
"""
from __future__ import annotations

import os
import signal
import sys
import time

import softgrad as sg
import softgrad.distributed as dist
from softgrad.distributed import process_group
import softgrad.nn.functional as F
from softgrad import nn


def main() -> None:
    mode = sys.argv[1]
    # start-up (imports, the initial broadcast) may be slow on a loaded machine: a generous
    # deadline until every process is in the loop, then the 2 s one under test
    dist.init_process_group("mpi", timeout=60.0)
    rank, world = dist.get_rank(), dist.get_world_size()
    sg.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2)))
    dist.barrier()
    process_group._state.timeout = 2.0
    opt = sg.optim.SGD(model.parameters(), lr=0.1)
    for step in range(1000):
        if rank == world - 1 and step == 3:
            print(f"rank {rank}: dying ({mode}) at step {step}", flush=True)
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            elif mode == "hang":
                os.kill(os.getpid(), signal.SIGSTOP)
            else:
                return
        opt.zero_grad()
        F.cross_entropy(model(sg.randn(4, 4)), sg.randint(0, 2, (4,))).backward()
        opt.step()
        time.sleep(0.01)
    print(f"rank {rank}: finished all steps (should not happen)", flush=True)


if __name__ == "__main__":
    main()
