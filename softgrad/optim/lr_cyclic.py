"""CyclicLR: the learning rate cycles between two bounds (and momentum inversely)."""
from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any

from softgrad.optim.lr_base import _MomentumCycling, _per_group
from softgrad.optim.optimizer import Optimizer


class CyclicLR(_MomentumCycling):
    """Cyclical learning rates (Smith, 2017), stepped once per batch, as in PyTorch.

    Each cycle rises linearly from ``base_lr`` to ``max_lr`` over ``step_size_up`` steps and
    falls back over ``step_size_down`` steps; the amplitude is scaled per cycle
    (``'triangular'``: 1, ``'triangular2'``: halved each cycle) or per step
    (``'exp_range'``: ``gamma**step``), or by ``scale_fn`` applied to the cycle number or the
    step count (``scale_mode``). With ``cycle_momentum`` the momentum (Adam: beta1) moves
    inversely between ``max_momentum`` and ``base_momentum``.

    Args:
        optimizer: the optimizer whose learning rates are set.
        base_lr: lower bound(s), one value or one per group.
        max_lr: upper bound(s).
        step_size_up: steps of the rising half. Default: 2000.
        step_size_down: steps of the falling half. Default: ``step_size_up``.
        mode: ``'triangular'``, ``'triangular2'`` or ``'exp_range'``. Default: ``'triangular'``.
        gamma: base of ``'exp_range'``. Default: 1.0.
        scale_fn: custom amplitude scale (overrides ``mode``). Default: None.
        scale_mode: ``'cycle'`` or ``'iterations'`` for ``scale_fn``. Default: ``'cycle'``.
        cycle_momentum: cycle momentum too. Default: True.
        base_momentum: lower momentum bound(s). Default: 0.8.
        max_momentum: upper momentum bound(s). Default: 0.9.
        last_epoch: index of the last batch (-1 starts a new schedule).

    Example:
        >>> sched = sg.optim.lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1)
        >>> for batch in loader:
        ...     train_batch(batch); sched.step()
    """

    _exclude = ("optimizer", "_scale_fn_custom")

    def __init__(self, optimizer: Optimizer, base_lr: float | list[float],
                 max_lr: float | list[float], step_size_up: int = 2000,
                 step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None,
                 scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.8,
                 max_momentum: float | list[float] = 0.9, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self._init_momentum_cycling(optimizer)
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for hi, lo, group in zip(self.max_momentums, self.base_momentums,
                                         optimizer.param_groups):
                    self._set_momentum(group, hi)
                    group["max_momentum"], group["base_momentum"] = hi, lo
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        """Built-in modes fix their scale mode (cycle count or step count)."""
        if self._scale_fn_custom is None:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def scale_fn(self, x: float) -> float:
        """The amplitude scale at cycle (or step) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (top - base) * scale_factor * scale
               for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, lo, hi in zip(self.optimizer.param_groups, self.base_momentums,
                                     self.max_momentums):
                self._set_momentum(group, hi - (hi - lo) * scale_factor * scale)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer; a custom ``scale_fn`` is kept only as the
        ``__dict__`` of a callable object (functions and lambdas are not saved)."""
        state = super().state_dict()
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = (fn.__dict__.copy() if fn is not None
                                     and not isinstance(fn, types.FunctionType) else None)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        fn_state = state_dict.pop("_scale_fn_custom", None)
        super().load_state_dict(state_dict)
        if fn_state is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn_state)
        self._init_scale_fn()
