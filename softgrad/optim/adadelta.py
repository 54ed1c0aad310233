"""Adadelta."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.optim.optimizer import Optimizer, _check_nonneg

np = backend.np


class Adadelta(Optimizer):
    """Adadelta, with PyTorch's update rule.

    ``sq = rho*sq + (1-rho)*g*g``; ``delta = sqrt(acc + eps) / sqrt(sq + eps) * g``;
    ``acc = rho*acc + (1-rho)*delta*delta``; ``p -= lr * delta``.

    Args:
        params: parameters or parameter groups.
        lr: scale of the update. Default: 1.0.
        rho: smoothing constant. Default: 0.9.
        eps: added inside the square roots. Default: 1e-6.
        weight_decay: L2 penalty. Default: 0.
        maximize: maximize the objective. Default: False.
    """

    def __init__(self, params: Any, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_nonneg("learning rate", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_nonneg("epsilon", eps)
        _check_nonneg("weight_decay", weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        capturable=capturable, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        for p, grad, st in self._params_to_step(group, "square_avg", "acc_delta"):
            pd = p._data
            s0, s1, s2 = self._scratch(pd, 0), self._scratch(pd, 1), self._scratch(pd, 2)
            g = self._grad_with_decay(grad, pd, wd, maximize, s0)
            sq, acc = st["square_avg"]._data, st["acc_delta"]._data
            sq *= rho
            np.multiply(g, g, out=s1)
            s1 *= 1 - rho
            sq += s1
            np.add(sq, eps, out=s1)                  # std
            np.sqrt(s1, out=s1)
            np.add(acc, eps, out=s2)                 # delta = sqrt(acc + eps) / std * g
            np.sqrt(s2, out=s2)
            s2 /= s1
            s2 *= g
            acc *= rho
            np.multiply(s2, s2, out=s1)
            s1 *= 1 - rho
            acc += s1
            s2 *= lr
            pd -= s2
