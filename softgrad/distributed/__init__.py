"""``softgrad.distributed``: data-parallel collectives over MPI (``mpi4py``, imported lazily).

Launch with ``mpiexec -n N python script.py``; in the script::

    import softgrad.distributed as dist
    dist.init_process_group("mpi")
    t = sg.ones(3)
    dist.all_reduce(t)            # every process now holds N * ones(3)
"""
from softgrad.distributed.collectives import (ReduceOp, Work, all_gather, all_reduce, barrier,
                                              broadcast)
from softgrad.distributed.process_group import (DistBackendError, destroy_process_group,
                                                get_backend, get_rank, get_world_size,
                                                init_from_launcher, init_process_group,
                                                is_available, is_initialized, is_mpi_available,
                                                launched_world_size)

__all__ = ["DistBackendError", "ReduceOp", "Work", "all_gather", "all_reduce", "barrier",
           "broadcast", "destroy_process_group", "get_backend", "get_rank", "get_world_size",
           "init_from_launcher", "init_process_group", "is_available", "is_initialized",
           "is_mpi_available", "launched_world_size"]
