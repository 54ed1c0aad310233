"""Adagrad."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.optim.optimizer import Optimizer, _check_nonneg

np = backend.np


class Adagrad(Optimizer):
    """Adagrad, with PyTorch's update rule.

    ``sum += g*g``; ``p -= clr * g / (sqrt(sum) + eps)`` with
    ``clr = lr / (1 + (t - 1) * lr_decay)``. State is created when parameters are added.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-2.
        lr_decay: learning-rate decay. Default: 0.
        weight_decay: L2 penalty. Default: 0.
        initial_accumulator_value: starting value of ``sum``. Default: 0.
        eps: added to the denominator. Default: 1e-10.
        maximize: maximize the objective. Default: False.
    """

    def __init__(self, params: Any, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        for name, value in (("learning rate", lr), ("lr_decay", lr_decay),
                            ("weight_decay", weight_decay),
                            ("initial_accumulator_value", initial_accumulator_value),
                            ("epsilon", eps)):
            _check_nonneg(name, value)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _init_group_state(self, group: dict[str, Any]) -> None:
        for p in group["params"]:
            st = self.state[p]
            st["step"] = 0.0
            st["sum"] = self._new_state(p, group["initial_accumulator_value"])

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p, grad, st in self._params_to_step(group):  # state created with the group
            pd = p._data
            s0, s1 = self._scratch(pd, 0), self._scratch(pd, 1)
            g = self._grad_with_decay(grad, pd, wd, maximize, s0)
            clr = lr / (1 + (st["step"] - 1) * lr_decay)
            acc = st["sum"]._data
            np.multiply(g, g, out=s1)
            acc += s1
            np.sqrt(acc, out=s1)
            s1 += eps
            np.divide(g, s1, out=s1)
            s1 *= clr
            pd -= s1
