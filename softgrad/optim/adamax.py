"""Adamax: Adam with an infinity-norm second moment."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.optim.optimizer import Optimizer, _check_betas, _check_nonneg

np = backend.np


class Adamax(Optimizer):
    """Adamax, with PyTorch's update rule.

    ``g += wd*p``; ``m = b1*m + (1-b1)*g``; ``u = max(b2*u, |g| + eps)``;
    ``p -= lr / (1 - b1**t) * m / u``. ``foreach`` and ``capturable`` are accepted for PyTorch
    compatibility and ignored; ``differentiable=True`` raises NotImplementedError.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 2e-3.
        betas: coefficients of the running average and of the decayed maximum.
            Default: (0.9, 0.999).
        eps: added to ``|g|``. Default: 1e-8.
        weight_decay: L2 penalty. Default: 0.
        maximize: maximize the objective. Default: False.

    Example:
        >>> opt = sg.optim.Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        _check_nonneg("learning rate", lr)
        _check_nonneg("epsilon", eps)
        betas = _check_betas(betas)
        _check_nonneg("weight_decay", weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, maximize = group["weight_decay"], group["maximize"]
        items = []
        for p, grad, st in self._params_to_step(group, "exp_avg", "exp_inf"):
            clr = lr / (1 - beta1 ** st["step"])
            arrays = (p._data, grad, st["exp_avg"]._data, st["exp_inf"]._data)
            items.append((arrays, (beta1, beta2, eps, wd, maximize, clr)))
        self._run_kernel(_adamax_update, items, 2)


def _adamax_update(pd: Any, g: Any, m: Any, u: Any, s0: Any, s1: Any, beta1: float,
                   beta2: float, eps: float, wd: float, maximize: bool, clr: float) -> None:
    """One Adamax update of ``pd`` in place (element-wise only: safe on any slice)."""
    g = Optimizer._grad_with_decay(g, pd, wd, maximize, s0)
    Optimizer._lerp_(m, g, 1 - beta1, s1)
    u *= beta2                                   # u = max(b2 * u, |g| + eps)
    np.abs(g, out=s1)
    s1 += eps
    np.maximum(u, s1, out=u)
    np.divide(m, u, out=s1)
    s1 *= -clr
    pd += s1
