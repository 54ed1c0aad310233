"""``DistributedDataParallel``: one model replica per process, gradients averaged by allreduce.

Design: parameters that need gradients are packed, in reverse registration order (roughly
the order backward produces their gradients), into flat host buffers of one dtype of at most
``bucket_cap_mb``. A post-accumulate-grad hook on each parameter copies its gradient into its
bucket slot; when a bucket is full, its allreduce is started without blocking, so communication
overlaps the rest of backward. When backward has finished, a queued engine callback starts the
buckets still open (a missing gradient counts as zeros), waits for all of them and writes the
averaged gradients back into ``param.grad``. Each bucket carries one extra slot per parameter
counting the processes that produced a gradient for it, so a parameter unused on every process
keeps ``grad=None`` everywhere.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, cast

from softgrad import backend
from softgrad import distributed as dist
from softgrad.autograd import grad_mode
from softgrad.engine import backward as engine
from softgrad.nn.modules.module import Module
from softgrad.tensor import Tensor

np = backend.np


class _Bucket:
    """A flat host buffer holding the gradients of a few parameters, plus their use counts."""

    def __init__(self, params: list, dtype: Any) -> None:
        self.params = params
        self.offsets, total = [], 0
        for p in params:
            self.offsets.append(total)
            total += p._data.size
        self.size = total
        self.flat = np.zeros(total + len(params), dtype=dtype)  # grads, then use counts
        self.slot = {id(p): i for i, p in enumerate(params)}
        self.pending = len(params)
        self.work: Any = None

    def reset(self) -> None:
        self.pending = len(self.params)
        self.work = None
        self.flat[self.size:] = 0

    def put(self, i: int, grad: Any) -> None:
        off, p = self.offsets[i], self.params[i]
        self.flat[off:off + p._data.size] = backend.to_numpy(grad).reshape(-1)
        self.flat[self.size + i] = 1
        self.pending -= 1

    def fill_missing(self) -> None:
        """Zeros for parameters whose hook did not fire (no gradient on this process)."""
        for i, p in enumerate(self.params):
            if self.flat[self.size + i] == 0:
                off = self.offsets[i]
                self.flat[off:off + p._data.size] = 0
        self.pending = 0


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward`` averages gradients over all processes.

    Args:
        module: the model replica (the same architecture on every process).
        device_ids, output_device, dim: accepted for compatibility; unused.
        broadcast_buffers: copy rank 0's buffers to every process before each forward.
            Default: True.
        process_group: unused (the default group is used).
        bucket_cap_mb: the size of a gradient bucket in MiB. Default: 25.
        find_unused_parameters: accepted for compatibility; unused parameters are always
            handled (their gradient counts as zero where it is missing).
    Example:
        >>> dist.init_process_group("mpi")
        >>> model = nn.parallel.DistributedDataParallel(MLP())
        >>> loss_fn(model(x_local), y_local).backward()   # grads now averaged over processes
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, process_group: Any = None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel expects an nn.Module, got "
                            f"{type(module).__name__}")
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel needs the default process group: call "
                               "softgrad.distributed.init_process_group() first")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.bucket_cap_mb = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        if not self.bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self._world = dist.get_world_size()
        self._sync_module_states()
        params = [p for p in _unique(module.parameters()) if p.requires_grad]
        self._buckets = _make_buckets(params, int(self.bucket_cap_mb * 2 ** 20))
        self._where = {id(p): (b, b.slot[id(p)]) for b in self._buckets for p in b.params}
        self._handles = [p.register_post_accumulate_grad_hook(self._on_grad) for p in params]
        self._queued = False
        self._overlapped = 0
        self.overlapped_buckets = 0  # of the last backward: buckets started before it ended

    # ------------------------------------------------------------------ forward
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self.broadcast_buffers and self._world > 1:
            bufs = [b for _, b in self.module.named_buffers()]
            if bufs:
                _broadcast_flat(bufs)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside this context, backward only accumulates gradients locally."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ------------------------------------------------------------------ gradient hooks
    def _on_grad(self, param: Tensor) -> None:
        if not self.require_backward_grad_sync:
            return
        if not self._queued:
            self._queued = True
            engine.queue_callback(self._finish)
        bucket, i = self._where[id(param)]
        if bucket.work is not None:  # a second backward before the first finished syncing
            return
        bucket.put(i, cast(Tensor, param.grad)._data)  # the hook runs after accumulation
        if bucket.pending == 0:
            bucket.work = dist.all_reduce(_flat_tensor(bucket), async_op=True)
            self._overlapped += 1
        for b in self._buckets:  # let MPI progress the buckets already started
            if b.work is not None and not b.work._finished:
                b.work.is_completed()

    def _finish(self) -> None:
        """After backward: start the remaining buckets, wait, write averaged grads back."""
        self._queued = False
        self.overlapped_buckets, self._overlapped = self._overlapped, 0
        for b in self._buckets:
            if b.work is None:
                b.fill_missing()
                b.work = dist.all_reduce(_flat_tensor(b), async_op=True)
        scale = 1.0 / self._world
        with grad_mode.no_grad():
            for b in self._buckets:
                b.work.wait()
                flat = b.flat
                for i, p in enumerate(b.params):
                    if flat[b.size + i] == 0:
                        continue  # no process produced a gradient
                    off = b.offsets[i]
                    avg = flat[off:off + p._data.size].reshape(p._data.shape)
                    avg = avg * avg.dtype.type(scale)
                    if backend.device_of(p._data) != "cpu":
                        avg = backend.to_device(avg, p.device)
                    if p.grad is None:
                        p.grad = Tensor._wrap(avg)
                    else:
                        p.grad._data[...] = avg
                b.reset()

    def extra_repr(self) -> str:
        return f"world_size={self._world}, buckets={len(self._buckets)}"

    def _sync_module_states(self) -> None:
        """Rank 0's parameters and buffers, copied to every process."""
        if self._world > 1:
            states = list(_unique(self.module.parameters()))
            states += [b for _, b in self.module.named_buffers()]
            if states:
                _broadcast_flat(states)


def _unique(tensors: Any) -> Iterator[Tensor]:
    seen: set[int] = set()
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            yield t


def _make_buckets(params: list, cap_bytes: int) -> list:
    """Group parameters (reverse order) into buckets of one dtype and at most ``cap_bytes``."""
    buckets: list = []
    open_: dict[Any, list] = {}
    sizes: dict[Any, int] = {}
    for p in reversed(params):
        key = p._data.dtype
        cur = open_.setdefault(key, [])
        if cur and sizes[key] + p._data.nbytes > cap_bytes:
            buckets.append(_Bucket(cur, key))
            cur = open_[key] = []
            sizes[key] = 0
        cur.append(p)
        sizes[key] = sizes.get(key, 0) + p._data.nbytes
    buckets += [_Bucket(v, k) for k, v in open_.items() if v]
    return buckets


def _flat_tensor(bucket: _Bucket) -> Tensor:
    return Tensor._wrap(bucket.flat)


def _broadcast_flat(tensors: list) -> None:
    """Broadcast many tensors from rank 0 with one message per dtype."""
    by_dtype: dict[Any, list] = {}
    for t in tensors:
        by_dtype.setdefault(t._data.dtype, []).append(t)
    for dtype, group in by_dtype.items():
        flat = np.concatenate([backend.to_numpy(t._data).reshape(-1) for t in group]).astype(
            dtype, copy=False)
        dist.broadcast(Tensor._wrap(flat), src=0)
        off = 0
        for t in group:
            n = t._data.size
            part = flat[off:off + n].reshape(t._data.shape)
            if backend.device_of(t._data) != "cpu":
                part = backend.to_device(part, t.device)
            t._data[...] = part
            off += n
