"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.optim._parallel import run_kernel
from softgrad.optim.optimizer import Optimizer, _check_nonneg
from softgrad.tensor import Tensor

np = backend.np


class SGD(Optimizer):
    """SGD, with PyTorch's update rule.

    ``d = g + weight_decay * p``; with momentum ``buf = momentum * buf + (1 - dampening) * d``
    (``buf = d`` on the first step) and ``d = d + momentum * buf`` (Nesterov) or ``d = buf``;
    then ``p -= lr * d``. ``maximize`` uses ``-g``.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-3.
        momentum: momentum factor. Default: 0.
        dampening: dampening of the momentum. Default: 0.
        weight_decay: L2 penalty. Default: 0.
        nesterov: Nesterov momentum. Default: False.
        maximize: maximize the objective. Default: False.

    Example:
        >>> opt = sg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        _check_nonneg("learning rate", lr)
        _check_nonneg("momentum", momentum)
        _check_nonneg("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        state = self.state
        hp = (lr, momentum, dampening, wd, nesterov, maximize)
        items: list[tuple[tuple, tuple]] = []
        for p in group["params"]:
            if p.grad is None:
                continue
            pd, g = p._data, p.grad._data
            p._version += 1
            if not momentum:
                items.append(((pd, g), hp))
                continue
            st = state[p]
            buf = st.get("momentum_buffer")
            if buf is not None:
                items.append(((pd, g, buf._data), hp))
                continue
            # first step: the buffer starts as d itself
            d = self._grad_with_decay(g, pd, wd, maximize, self._scratch(pd, 0))
            st["momentum_buffer"] = Tensor._wrap(d.copy())
            _apply_direction(pd, d, st["momentum_buffer"]._data, self._scratch(pd, 1), *hp)
        if items:
            run_kernel(_sgd_momentum if momentum else _sgd_plain, items, self._scratch, 2)


def _sgd_plain(pd: Any, g: Any, s0: Any, s1: Any, lr: float, momentum: float,
               dampening: float, wd: float, nesterov: bool, maximize: bool) -> None:
    """p -= lr * d (no momentum), element-wise in place."""
    d = Optimizer._grad_with_decay(g, pd, wd, maximize, s0)
    np.multiply(d, lr, out=s1)
    pd -= s1


def _sgd_momentum(pd: Any, g: Any, b: Any, s0: Any, s1: Any, lr: float, momentum: float,
                  dampening: float, wd: float, nesterov: bool, maximize: bool) -> None:
    """buf = momentum * buf + (1 - dampening) * d, then the step, element-wise in place."""
    d = Optimizer._grad_with_decay(g, pd, wd, maximize, s0)
    b *= momentum
    if dampening:
        np.multiply(d, 1 - dampening, out=s1)
        b += s1
    else:
        b += d
    _apply_direction(pd, d, b, s1, lr, momentum, dampening, wd, nesterov, maximize)


def _apply_direction(pd: Any, d: Any, b: Any, s1: Any, lr: float, momentum: float,
                     dampening: float, wd: float, nesterov: bool, maximize: bool) -> None:
    if nesterov:
        np.multiply(b, momentum, out=s1)
        s1 += d
        d = s1
    else:
        d = b
    np.multiply(d, lr, out=s1)
    pd -= s1
