"""``softgrad.nn.parallel``: data parallelism (``DistributedDataParallel`` across processes;
``DataParallel``/``data_parallel`` on the one device of a process)."""
from softgrad.nn.parallel.data_parallel import DataParallel, data_parallel
from softgrad.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
