"""``softgrad.optim.swa_utils``: weight averaging (SWA / EMA) with PyTorch's API.

:class:`AveragedModel` keeps a running average of a model's parameters (equal weights by
default, or any ``avg_fn`` / ``multi_avg_fn`` such as :func:`get_ema_multi_avg_fn`);
:class:`SWALR` anneals the learning rate to a constant SWA value; :func:`update_bn`
recomputes BatchNorm statistics for the averaged weights.

Example:
    >>> swa_model = sg.optim.swa_utils.AveragedModel(model)
    >>> swa_sched = sg.optim.swa_utils.SWALR(opt, swa_lr=0.05)
    >>> for epoch in range(epochs):
    ...     train_one_epoch()
    ...     if epoch >= swa_start:
    ...         swa_model.update_parameters(model); swa_sched.step()
    >>> sg.optim.swa_utils.update_bn(loader, swa_model)
"""
from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

from softgrad import backend, dtypes
from softgrad.autograd import grad_mode
from softgrad.creation import tensor
from softgrad.nn.modules.module import Module
from softgrad.nn.modules.normalization import _BatchNorm
from softgrad.optim.lr_base import LRScheduler, _per_group
from softgrad.optim.optimizer import Optimizer
from softgrad.tensor import Tensor

np = backend.np

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]

ParamList = list  # list[Tensor]


def _is_float(t: Tensor) -> bool:
    return t._data.dtype.kind in "fc"


def _store(dst: Tensor, value: Any) -> None:
    """Write ``value`` (array or Tensor) into ``dst`` in place, cast to its dtype."""
    arr = value._data if isinstance(value, Tensor) else value
    np.copyto(dst._data, arr, casting="unsafe")
    dst._version += 1


class _Scratch:
    """Reusable arrays, one per (shape, dtype, array type): averaging every training step
    allocates nothing after the first."""

    def __init__(self) -> None:
        self._bufs: dict = {}

    def like(self, a: Any) -> Any:
        key = (a.shape, a.dtype, type(a))
        buf = self._bufs.get(key)
        if buf is None:
            buf = self._bufs[key] = backend.xp_of(a).empty_like(a)
        return buf


def _lerp_into(avg: Tensor, cur: Tensor, weight: float, scratch: _Scratch) -> None:
    """``avg += weight * (cur - avg)`` in place (PyTorch's lerp rounding)."""
    Optimizer._lerp_(avg._data, cur._data, weight, scratch.like(avg._data))
    avg._version += 1


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable[[ParamList, ParamList, Any], None]:
    """In-place EMA over lists: ``ema = decay * ema + (1 - decay) * current``."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")

    scratch = _Scratch()

    def ema_update(ema_param_list: ParamList, current_param_list: ParamList, _: Any) -> None:
        with grad_mode.no_grad():
            if _is_float(ema_param_list[0]):
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    _lerp_into(p_ema, p_model, 1 - decay, scratch)
            else:
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    _store(p_ema, p_ema._data * decay + p_model._data * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable[[ParamList, ParamList, Any], None]:
    """In-place equal-weight average over lists: ``avg += (current - avg) / (n + 1)``."""

    scratch = _Scratch()

    def swa_update(averaged_param_list: ParamList, current_param_list: ParamList,
                   num_averaged: Any) -> None:
        n = _count(num_averaged)
        with grad_mode.no_grad():
            if _is_float(averaged_param_list[0]):
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    _lerp_into(p_avg, p_model, 1 / (n + 1), scratch)
            else:
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    _store(p_avg, p_avg._data + (p_model._data - p_avg._data) / (n + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable[[Tensor, Tensor, Any], Tensor]:
    """Per-tensor EMA: returns ``decay * ema + (1 - decay) * current``."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with grad_mode.no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable[[Tensor, Tensor, Any], Tensor]:
    """Per-tensor equal-weight average: returns ``avg + (current - avg) / (n + 1)``."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with grad_mode.no_grad():
            return averaged_param + (current_param - averaged_param) / (_count(num_averaged) + 1)

    return swa_update


def _count(n: Any) -> int:
    return int(n.item()) if hasattr(n, "item") else int(n)


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are a running average of ``model``'s.

    The first :meth:`update_parameters` copies the weights; later ones apply ``avg_fn``
    (per tensor, returning the new value) or ``multi_avg_fn`` (in place on lists grouped by
    device and dtype), by default the equal-weight average. ``n_averaged`` (an int64 buffer)
    counts the models averaged. Buffers are copied from ``model`` unless ``use_buffers``,
    which averages them with the parameters.

    Args:
        model: the module to average (deep-copied).
        device: where to keep the copy. Default: the model's.
        avg_fn: ``(averaged, current, n_averaged) -> Tensor``.
        multi_avg_fn: ``(averaged_list, current_list, n_averaged) -> None``.
        use_buffers: average buffers too. Default: False.

    Example:
        >>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999))
        >>> ema.update_parameters(model)
    """

    n_averaged: Tensor  # a buffer: how many models the average holds

    def __init__(self, model: Module, device: Any = None,
                 avg_fn: Callable[[Tensor, Tensor, Any], Tensor] | None = None,
                 multi_avg_fn: Callable[[ParamList, ParamList, Any], None] | None = None,
                 use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=dtypes.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers
        self._scratch = _Scratch()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Run the averaged copy."""
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights into the average."""
        mine: Iterable[Tensor]
        theirs: Iterable[Tensor]
        if self.use_buffers:
            mine = itertools.chain(self.module.parameters(), self.module.buffers())
            theirs = itertools.chain(model.parameters(), model.buffers())
        else:
            mine, theirs = self.parameters(), model.parameters()
        pairs = []
        first = _count(self.n_averaged) == 0
        for p_avg, p_model in zip(mine, theirs):
            current = Tensor._wrap(backend.to_device(p_model._data,
                                                     backend.device_of(p_avg._data)))
            if first:
                _store(p_avg, current)
            pairs.append((p_avg.detach(), current))
        if not first and pairs:
            self._average(pairs)
        if not self.use_buffers:
            for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                _store(b_avg, backend.to_device(b_model._data, backend.device_of(b_avg._data)))
        self.n_averaged._data += 1
        self.n_averaged._version += 1

    def _average(self, pairs: list[tuple[Tensor, Tensor]]) -> None:
        if self.avg_fn is not None:
            for p_avg, current in pairs:
                _store(p_avg, self.avg_fn(p_avg, current, self.n_averaged))
            return
        if self.multi_avg_fn is None:      # equal weights: avg += (current - avg) / (n + 1)
            n = _count(self.n_averaged)
            for p_avg, current in pairs:
                a = p_avg._data
                if a.dtype.kind in "fc":
                    diff = np.subtract(current._data, a, out=self._scratch.like(a))
                    diff /= n + 1
                    a += diff
                else:
                    _store(p_avg, a + (current._data - a) / (n + 1))
                p_avg._version += 1
            return
        groups: dict[tuple, tuple[list, list]] = {}
        for p_avg, current in pairs:          # PyTorch calls multi_avg_fn per device and dtype
            key = (str(p_avg.device), p_avg._data.dtype)
            groups.setdefault(key, ([], []))
            groups[key][0].append(p_avg)
            groups[key][1].append(current)
        for averaged, currents in groups.values():
            self.multi_avg_fn(averaged, currents, self.n_averaged)


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute the running statistics of every BatchNorm in ``model`` with one pass over
    ``loader`` (a cumulative average over its batches; each batch a tensor or a list/tuple
    whose first item is the input). Training mode and momenta are restored afterwards."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    try:
        with grad_mode.no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None:
                    batch = batch.to(device)
                model(batch)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate to ``swa_lr`` over ``anneal_epochs`` epochs
    (cosine or linear), then hold it.

    Args:
        optimizer: the optimizer whose learning rates are set.
        swa_lr: the final learning rate(s), one value or one per group.
        anneal_epochs: epochs of the annealing phase. Default: 10.
        anneal_strategy: ``'cos'`` or ``'linear'``. Default: ``'cos'``.
        last_epoch: index of the last epoch (-1 starts a new schedule).
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float],
                 anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        for lr, group in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._anneal_strategy = anneal_strategy
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t: float) -> float:
        """Fraction of the way to ``swa_lr`` at progress ``t`` in [0, 1]."""
        if self._anneal_strategy == "cos":
            return (1 - math.cos(math.pi * t)) / 2
        return t

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]
