"""ASGD: averaged stochastic gradient descent."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.optim.optimizer import Optimizer, _check_nonneg

np = backend.np


class ASGD(Optimizer):
    """Averaged SGD, with PyTorch's update rule.

    ``g += wd*p``; ``p *= 1 - lambd*eta``; ``p -= eta*g``; the average
    ``ax += mu * (p - ax)`` (``ax = p`` while ``mu == 1``); then
    ``eta = lr / (1 + lambd*lr*t)**alpha`` and ``mu = 1 / max(1, t - t0)``. The averaged
    parameters are ``optimizer.state[p]['ax']``. ``foreach`` and ``capturable`` are accepted
    for PyTorch compatibility and ignored; ``differentiable=True`` raises
    NotImplementedError.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-2.
        lambd: decay term. Default: 1e-4.
        alpha: power of the eta update. Default: 0.75.
        t0: step at which averaging starts. Default: 1e6.
        weight_decay: L2 penalty. Default: 0.
        maximize: maximize the objective. Default: False.

    Example:
        >>> opt = sg.optim.ASGD(model.parameters(), lr=0.01, t0=100)
    """

    _scalar_state = ("step", "eta", "mu")

    def __init__(self, params: Any, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        _check_nonneg("learning rate", lr)
        _check_nonneg("weight_decay", weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, lambd, alpha, t0 = group["lr"], group["lambd"], group["alpha"], group["t0"]
        wd, maximize = group["weight_decay"], group["maximize"]
        items = []
        for p, grad, st in self._params_to_step(group, "ax", eta=float(lr), mu=1.0):
            arrays = (p._data, grad, st["ax"]._data)
            items.append((arrays, (wd, maximize, lambd, st["eta"], st["mu"])))
            step = st["step"]
            st["eta"] = lr / ((1 + lambd * lr * step) ** alpha)
            st["mu"] = 1 / max(1, step - t0)
        self._run_kernel(_asgd_update, items, 1)


def _asgd_update(pd: Any, g: Any, ax: Any, s0: Any, wd: float, maximize: bool, lambd: float,
                 eta: float, mu: float) -> None:
    """One ASGD update of ``pd`` and its average ``ax`` in place (element-wise only)."""
    g = Optimizer._grad_with_decay(g, pd, wd, maximize, s0)
    pd *= 1 - lambd * eta
    np.multiply(g, eta, out=s0)
    pd -= s0
    if mu != 1:
        np.subtract(pd, ax, out=s0)
        s0 *= mu
        ax += s0
    else:
        np.copyto(ax, pd)
