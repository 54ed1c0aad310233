"""Adam (with AMSGrad, L2 or decoupled weight decay)."""
from __future__ import annotations

import math
from typing import Any

from softgrad import backend
from softgrad.optim import _fused
from softgrad.optim.optimizer import Optimizer, _check_nonneg

np = backend.np


class Adam(Optimizer):
    """Adam, with PyTorch's update rule.

    ``m = b1*m + (1-b1)*g``, ``v = b2*v + (1-b2)*g*g`` (``vmax = max(vmax, v)`` with amsgrad),
    ``p -= lr/(1-b1**t) * m / (sqrt(v)/sqrt(1-b2**t) + eps)``. ``weight_decay`` adds
    ``wd*p`` to g, or with ``decoupled_weight_decay`` scales ``p *= 1 - lr*wd`` (AdamW).

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-3.
        betas: coefficients of the running averages. Default: (0.9, 0.999).
        eps: added to the denominator. Default: 1e-8.
        weight_decay: weight decay. Default: 0.
        amsgrad: use the maximum of past second moments. Default: False.
        maximize: maximize the objective. Default: False.
        decoupled_weight_decay: AdamW-style decay. Default: False.

    Example:
        >>> opt = sg.optim.Adam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        _check_nonneg("learning rate", lr)
        _check_nonneg("epsilon", eps)
        _check_nonneg("weight_decay", weight_decay)
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
        decoupled = group.get("decoupled_weight_decay", False)
        moments = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")[:3 if amsgrad else 2]
        items = []
        for p, grad, st in self._params_to_step(group, *moments):
            arrays: tuple = (p._data, grad, st["exp_avg"]._data, st["exp_avg_sq"]._data)
            if amsgrad:
                arrays += (st["max_exp_avg_sq"]._data,)
            items.append((arrays, (lr, beta1, beta2, eps, wd, maximize, decoupled, st["step"])))
        fused = _fused.adam_kernel() if items else None
        if fused is not None:
            fast = [it for it in items if _fused.fusable(it[0])]
            if fast:
                try:
                    self._run_kernel(fused, fast, 0)
                    items = [it for it in items if not _fused.fusable(it[0])]
                except Exception:  # pragma: no cover - numba rejected the call before any write
                    _fused.disable()
        self._run_kernel(_amsgrad_update if amsgrad else _adam_update, items, 2)


def _adam_update(p: Any, g: Any, m: Any, v: Any, s0: Any, s1: Any, *hp: Any) -> None:
    _update(p, g, m, v, None, s0, s1, *hp)


def _amsgrad_update(p: Any, g: Any, m: Any, v: Any, vmax: Any, s0: Any, s1: Any,
                    *hp: Any) -> None:
    _update(p, g, m, v, vmax, s0, s1, *hp)


def _update(pd: Any, g: Any, m: Any, v: Any, vmax: Any, s0: Any, s1: Any, lr: float,
            beta1: float, beta2: float, eps: float, wd: float, maximize: bool,
            decoupled: bool, step: float) -> None:
    """One Adam update of ``pd`` in place (element-wise only: safe on any slice)."""
    if decoupled:
        if wd:
            pd *= 1 - lr * wd
        g = Optimizer._grad_with_decay(g, pd, 0, maximize, s0)
    else:
        g = Optimizer._grad_with_decay(g, pd, wd, maximize, s0)
    np.subtract(g, m, out=s1)                # m += (1 - b1) * (g - m)
    s1 *= 1 - beta1
    m += s1
    v *= beta2                               # v = b2 * v + (1 - b2) * g * g
    np.multiply(g, g, out=s1)
    s1 *= 1 - beta2
    v += s1
    if vmax is not None:
        np.maximum(vmax, v, out=vmax)
        v = vmax
    step_size = lr / (1 - beta1**step)
    np.sqrt(v, out=s1)
    s1 /= math.sqrt(1 - beta2**step)
    s1 += eps
    np.divide(m, s1, out=s1)
    s1 *= step_size
    pd -= s1
