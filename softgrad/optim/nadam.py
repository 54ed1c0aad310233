"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.optim.optimizer import Optimizer, _check_betas, _check_nonneg

np = backend.np


class NAdam(Optimizer):
    """NAdam, with PyTorch's update rule.

    At step ``t``: ``mu_t = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))``, the running
    product ``mu_product *= mu_t``; ``m`` and ``v`` as in Adam; with
    ``denom = sqrt(v / (1 - b2**t)) + eps``::

        p -= lr * (1 - mu_t) / (1 - mu_product) * g / denom
        p -= lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / denom

    ``weight_decay`` adds ``wd*p`` to g, or with ``decoupled_weight_decay`` scales
    ``p *= 1 - lr*wd`` first. ``foreach`` and ``capturable`` are accepted for PyTorch
    compatibility and ignored (they choose kernels, not the result); ``differentiable=True``
    raises NotImplementedError.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 2e-3.
        betas: coefficients of the running averages. Default: (0.9, 0.999).
        eps: added to the denominator. Default: 1e-8.
        weight_decay: weight decay. Default: 0.
        momentum_decay: momentum decay ``psi``. Default: 4e-3.
        decoupled_weight_decay: AdamW-style decay (NAdamW). Default: False.
        maximize: maximize the objective. Default: False.

    Example:
        >>> opt = sg.optim.NAdam(model.parameters(), lr=2e-3)
    """

    _scalar_state = ("step", "mu_product")

    def __init__(self, params: Any, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_nonneg("learning rate", lr)
        _check_nonneg("epsilon", eps)
        betas = _check_betas(betas)
        _check_nonneg("weight_decay", weight_decay)
        _check_nonneg("momentum_decay", momentum_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, psi, maximize = group["weight_decay"], group["momentum_decay"], group["maximize"]
        decoupled = group["decoupled_weight_decay"]
        items = []
        for p, grad, st in self._params_to_step(group, "exp_avg", "exp_avg_sq", mu_product=1.0):
            step = st["step"]
            mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
            mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
            st["mu_product"] *= mu
            mu_product = st["mu_product"]
            c_grad = -lr * (1.0 - mu) / (1.0 - mu_product)
            c_avg = -lr * mu_next / (1.0 - mu_product * mu_next)
            arrays = (p._data, grad, st["exp_avg"]._data, st["exp_avg_sq"]._data)
            items.append((arrays, (lr, beta1, beta2, eps, wd, maximize, decoupled,
                                   1 - beta2**step, c_grad, c_avg)))
        self._run_kernel(_nadam_update, items, 2)


def _nadam_update(pd: Any, g: Any, m: Any, v: Any, s0: Any, s1: Any, lr: float, beta1: float,
                  beta2: float, eps: float, wd: float, maximize: bool, decoupled: bool,
                  bias_correction2: float, c_grad: float, c_avg: float) -> None:
    """One NAdam update of ``pd`` in place (element-wise only: safe on any slice)."""
    g = Optimizer._adam_moments_(pd, g, m, v, lr, beta1, beta2, wd, maximize, decoupled, s0, s1)
    np.divide(v, bias_correction2, out=s1)       # denom
    np.sqrt(s1, out=s1)
    s1 += eps
    np.divide(g, s1, out=s0)
    s0 *= c_grad
    pd += s0
    np.divide(m, s1, out=s0)
    s0 *= c_avg
    pd += s0
