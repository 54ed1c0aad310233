"""Collectives on Tensors, in place, with PyTorch's signatures: all_reduce, broadcast, all_gather.

Each collective starts a non-blocking MPI operation on a host buffer and waits on it with the
process group's deadline (see :func:`softgrad.distributed.process_group.wait`). Tensors on a GPU
are staged through host memory.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any

from softgrad import backend
from softgrad.distributed import process_group as pg
from softgrad.tensor import Tensor

np = backend.np


class ReduceOp(enum.Enum):
    """How :func:`all_reduce` combines the processes' tensors."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


def _mpi_op(op: Any) -> Any:
    MPI = pg._state.mpi
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a softgrad.distributed.ReduceOp, got {op!r}")
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}[op]


class Work:
    """A started collective: ``wait()`` finishes it (``async_op=True`` returns one)."""

    def __init__(self, request: Any, what: str, done: Callable[[], None] | None = None) -> None:
        self.request, self.what, self._done, self._finished = request, what, done, False

    def is_completed(self) -> bool:
        """True once the operation has finished (does not run the finishing step)."""
        if self._finished:
            return True
        try:
            return bool(self.request.Test())
        except pg._state.mpi.Exception as exc:
            pg._fail(f"{self.what} failed: {exc.Get_error_string()}; a peer process probably "
                     "died")
            raise  # unreachable: _fail raises

    def wait(self, timeout: Any = None) -> bool:
        """Block until done (raises :class:`DistBackendError` after the group's timeout)."""
        if not self._finished:
            pg.wait(self.request, self.what, None if timeout is None else pg._seconds(timeout))
            self._finished = True
            if self._done is not None:
                self._done()
        return True


def _check_tensor(tensor: Any, name: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name} must be a softgrad Tensor, got {type(tensor).__name__}")


def _host_buffer(tensor: Tensor) -> tuple[Any, bool]:
    """(a C-contiguous host array with the tensor's values, whether it must be copied back)."""
    data = tensor._data
    if type(data) is np.ndarray and data.flags.c_contiguous:
        return data, False
    return np.ascontiguousarray(backend.to_numpy(data)), True


def _write_back(tensor: Tensor, host: Any) -> None:
    data = tensor._data
    if backend.device_of(data) == "cpu":
        data[...] = host
    else:
        data[...] = backend.xp_of(data).asarray(host)


def _finish(work: Work, async_op: bool) -> Any:
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Combine ``tensor`` across all processes, in place; every process gets the result.

    Args:
        tensor: the local values; overwritten with the reduction (any shape, same on all ranks).
        op: ``ReduceOp.SUM`` (default), ``AVG``, ``PRODUCT``, ``MIN`` or ``MAX``.
        async_op: return a :class:`Work` to ``wait()`` on instead of blocking.
    Example:
        >>> t = sg.tensor([float(dist.get_rank())]); dist.all_reduce(t)   # 0 + 1 + ... + n-1
    """
    _check_tensor(tensor, "tensor")
    comm = pg._comm()
    mpi_op = _mpi_op(op)
    buf, copy_back = _host_buffer(tensor)
    request = comm.Iallreduce(pg._state.mpi.IN_PLACE, buf, op=mpi_op)
    n = comm.Get_size()

    def done() -> None:
        if op is ReduceOp.AVG:
            if buf.dtype.kind == "f":
                np.multiply(buf, buf.dtype.type(1.0 / n), out=buf)
            else:
                np.floor_divide(buf, n, out=buf)
        if copy_back:
            _write_back(tensor, buf)
        tensor._version += 1

    return _finish(Work(request, f"all_reduce({op.name}) of shape {tuple(tensor.shape)}", done),
                   async_op)


def broadcast(tensor: Tensor, src: int, group: Any = None, async_op: bool = False) -> Work | None:
    """Copy ``tensor`` of process ``src`` into ``tensor`` of every process, in place."""
    _check_tensor(tensor, "tensor")
    comm = pg._comm()
    if not 0 <= int(src) < comm.Get_size():
        raise ValueError(f"src={src} is not a rank of a world of size {comm.Get_size()}")
    buf, copy_back = _host_buffer(tensor)
    request = comm.Ibcast(buf, root=int(src))

    def done() -> None:
        if copy_back:
            _write_back(tensor, buf)
        tensor._version += 1

    return _finish(Work(request, f"broadcast(src={src}) of shape {tuple(tensor.shape)}", done),
                   async_op)


def all_gather(tensor_list: Sequence[Tensor], tensor: Tensor, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Fill ``tensor_list[r]`` with ``tensor`` of process ``r``, on every process.

    Args:
        tensor_list: ``world_size`` tensors of ``tensor``'s shape and dtype (overwritten).
        tensor: this process's contribution.
    """
    _check_tensor(tensor, "tensor")
    comm = pg._comm()
    n = comm.Get_size()
    if len(tensor_list) != n:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors but the world "
                         f"has {n} processes")
    for i, t in enumerate(tensor_list):
        _check_tensor(t, f"tensor_list[{i}]")
        if tuple(t.shape) != tuple(tensor.shape) or t._data.dtype != tensor._data.dtype:
            raise ValueError(f"all_gather: tensor_list[{i}] has shape {tuple(t.shape)} and dtype "
                             f"{t.dtype}; expected {tuple(tensor.shape)} and {tensor.dtype}")
    send = np.ascontiguousarray(backend.to_numpy(tensor._data))
    recv = np.empty((n,) + send.shape, dtype=send.dtype)
    request = comm.Iallgather(send, recv)

    def done() -> None:
        for t, part in zip(tensor_list, recv):
            _write_back(t, part)
            t._version += 1

    return _finish(Work(request, f"all_gather of shape {tuple(tensor.shape)}", done), async_op)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Any:
    """Block until every process of the group reaches the barrier."""
    work = Work(pg._comm().Ibarrier(), "barrier")
    if async_op:
        return work
    work.wait()
    return None
