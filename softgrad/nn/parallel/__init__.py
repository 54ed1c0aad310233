"""``softgrad.nn.parallel``: data parallelism across processes."""
from softgrad.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
