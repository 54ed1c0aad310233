"""RAdam: Adam with a rectified adaptive learning rate."""
from __future__ import annotations

import math
from typing import Any

from softgrad import backend
from softgrad.optim.optimizer import Optimizer, _check_betas, _check_nonneg

np = backend.np


class RAdam(Optimizer):
    """RAdam, with PyTorch's update rule.

    ``m`` and ``v`` as in Adam. With ``rho_inf = 2/(1-b2) - 1`` and
    ``rho_t = rho_inf - 2 t b2**t / (1 - b2**t)``: while ``rho_t <= 5`` the step is plain
    momentum ``p -= lr * m/(1-b1**t)``; afterwards
    ``p -= lr * m/(1-b1**t) * sqrt(1-b2**t)/(sqrt(v)+eps) * r_t`` with the rectification
    ``r_t = sqrt((rho_t-4)(rho_t-2) rho_inf / ((rho_inf-4)(rho_inf-2) rho_t))``.
    ``weight_decay`` adds ``wd*p`` to g, or with ``decoupled_weight_decay`` scales
    ``p *= 1 - lr*wd`` first. ``foreach`` and ``capturable`` are accepted for PyTorch
    compatibility and ignored; ``differentiable=True`` raises NotImplementedError.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-3.
        betas: coefficients of the running averages. Default: (0.9, 0.999).
        eps: added to the denominator. Default: 1e-8.
        weight_decay: weight decay. Default: 0.
        decoupled_weight_decay: AdamW-style decay. Default: False.
        maximize: maximize the objective. Default: False.

    Example:
        >>> opt = sg.optim.RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False,
                 *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        _check_nonneg("learning rate", lr)
        _check_nonneg("epsilon", eps)
        betas = _check_betas(betas)
        _check_nonneg("weight_decay", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        rho_inf = 2 / (1 - beta2) - 1
        items = []
        for p, grad, st in self._params_to_step(group, "exp_avg", "exp_avg_sq"):
            step = st["step"]
            bias_correction2 = 1 - beta2**step
            rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
            rect = None
            if rho_t > 5.0:
                rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            arrays = (p._data, grad, st["exp_avg"]._data, st["exp_avg_sq"]._data)
            items.append((arrays, (lr, beta1, beta2, eps, wd, maximize, decoupled,
                                   1 - beta1**step, math.sqrt(bias_correction2), rect)))
        self._run_kernel(_radam_update, items, 2)


def _radam_update(pd: Any, g: Any, m: Any, v: Any, s0: Any, s1: Any, lr: float, beta1: float,
                  beta2: float, eps: float, wd: float, maximize: bool, decoupled: bool,
                  bias_correction1: float, sqrt_bc2: float, rect: float | None) -> None:
    """One RAdam update of ``pd`` in place (element-wise only: safe on any slice)."""
    Optimizer._adam_moments_(pd, g, m, v, lr, beta1, beta2, wd, maximize, decoupled, s0, s1)
    np.divide(m, bias_correction1, out=s0)       # bias-corrected m (g is no longer needed)
    s0 *= lr
    if rect is not None:
        np.sqrt(v, out=s1)                       # adaptive lr: sqrt(1 - b2**t) / (sqrt(v) + eps)
        s1 += eps
        np.divide(sqrt_bc2, s1, out=s1)
        s0 *= s1
        s0 *= rect
    pd -= s0
