"""RMSprop (optionally centered, with momentum)."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.optim.optimizer import Optimizer, _check_nonneg

np = backend.np


class RMSprop(Optimizer):
    """RMSprop, with PyTorch's update rule.

    ``sq = alpha*sq + (1-alpha)*g*g``; centered: ``ga = alpha*ga + (1-alpha)*g`` and
    ``avg = sqrt(sq - ga*ga) + eps``, else ``avg = sqrt(sq) + eps``; with momentum
    ``buf = momentum*buf + g/avg`` and ``p -= lr*buf``, else ``p -= lr*g/avg``.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-2.
        alpha: smoothing constant. Default: 0.99.
        eps: added to the denominator. Default: 1e-8.
        weight_decay: L2 penalty. Default: 0.
        momentum: momentum factor. Default: 0.
        centered: normalise by the estimated variance. Default: False.
        maximize: maximize the objective. Default: False.
    """

    def __init__(self, params: Any, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        for name, value in (("learning rate", lr), ("epsilon", eps), ("momentum", momentum),
                            ("weight_decay", weight_decay), ("alpha", alpha)):
            _check_nonneg(name, value)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
        maximize = group["maximize"]
        buffers = ["square_avg"]
        if momentum > 0:
            buffers.append("momentum_buffer")
        if centered:
            buffers.append("grad_avg")
        for p, grad, st in self._params_to_step(group, *buffers):
            pd = p._data
            s0, s1, s2 = self._scratch(pd, 0), self._scratch(pd, 1), self._scratch(pd, 2)
            g = self._grad_with_decay(grad, pd, wd, maximize, s0)
            sq = st["square_avg"]._data
            sq *= alpha
            np.multiply(g, g, out=s1)
            s1 *= 1 - alpha
            sq += s1
            if centered:
                ga = st["grad_avg"]._data
                np.subtract(g, ga, out=s1)           # ga += (1 - alpha) * (g - ga)
                s1 *= 1 - alpha
                ga += s1
                np.multiply(ga, ga, out=s1)
                np.subtract(sq, s1, out=s1)
                np.sqrt(s1, out=s1)
            else:
                np.sqrt(sq, out=s1)
            s1 += eps
            np.divide(g, s1, out=s2)
            if momentum > 0:
                buf = st["momentum_buffer"]._data
                buf *= momentum
                buf += s2
                np.multiply(buf, lr, out=s2)
            else:
                s2 *= lr
            pd -= s2
