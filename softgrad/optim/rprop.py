"""Rprop: resilient backpropagation (sign-based steps with per-element step sizes)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from softgrad import backend
from softgrad.optim.optimizer import Optimizer, _check_nonneg

np = backend.np


class Rprop(Optimizer):
    """Rprop, with PyTorch's update rule.

    Each element keeps its own step size (starting at ``lr``). Where ``g * prev > 0`` it grows
    by ``etaplus``, where ``< 0`` it shrinks by ``etaminus`` and that element skips this step
    (its ``g`` counts as 0); it is clipped to ``step_sizes``. Then
    ``p -= sign(g) * step_size`` and ``prev = g``. ``foreach`` and ``capturable`` are accepted
    for PyTorch compatibility and ignored; ``differentiable=True`` raises
    NotImplementedError.

    Args:
        params: parameters or parameter groups.
        lr: initial step size. Default: 1e-2.
        etas: ``(etaminus, etaplus)``, with ``0 < etaminus < 1 < etaplus``. Default: (0.5, 1.2).
        step_sizes: ``(min, max)`` step size. Default: (1e-6, 50).
        maximize: maximize the objective. Default: False.

    Example:
        >>> opt = sg.optim.Rprop(model.parameters(), lr=0.01)
    """

    def __init__(self, params: Any, lr: float = 1e-2, etas: Sequence[float] = (0.5, 1.2),
                 step_sizes: Sequence[float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_nonneg("learning rate", lr)
        etas, step_sizes = tuple(etas), tuple(step_sizes)
        if len(etas) != 2 or not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {', '.join(map(str, etas))}")
        if len(step_sizes) != 2:
            raise ValueError(f"step_sizes must be a pair (min, max), got {step_sizes}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        (etaminus, etaplus), (lo, hi) = group["etas"], group["step_sizes"]
        hp = (etaminus, etaplus, lo, hi, group["maximize"])
        items = []
        for p, grad, st in self._params_to_step(group, "prev"):
            if "step_size" not in st:  # created with the state, starting at lr
                st["step_size"] = self._new_state(p, group["lr"])
            items.append(((p._data, grad, st["prev"]._data, st["step_size"]._data), hp))
        self._run_kernel(_rprop_update, items, 3)


def _as_mask(buf: Any) -> Any:
    """A boolean view over the first ``buf.size`` bytes of a contiguous scratch buffer."""
    return buf.reshape(-1).view("bool")[: buf.size].reshape(buf.shape)


def _rprop_update(pd: Any, g: Any, prev: Any, step_size: Any, s0: Any, s1: Any, s2: Any,
                  etaminus: float, etaplus: float, lo: float, hi: float,
                  maximize: bool) -> None:
    """One Rprop update of ``pd`` in place (element-wise only: safe on any slice)."""
    if maximize:
        g = np.negative(g, out=s1)
    mask = _as_mask(s2)
    factor = np.multiply(g, prev, out=s0)
    np.sign(factor, out=factor)                  # +1 -> etaplus, -1 -> etaminus, 0 -> 1
    np.greater(factor, 0, out=mask)
    np.copyto(factor, etaplus, where=mask)
    np.less(factor, 0, out=mask)
    np.copyto(factor, etaminus, where=mask)
    np.equal(factor, 0, out=mask)
    np.copyto(factor, 1, where=mask)
    step_size *= factor
    np.clip(step_size, lo, hi, out=step_size)
    np.equal(factor, etaminus, out=mask)         # after a sign change: no step, forget g
    np.copyto(prev, g)
    np.copyto(prev, 0, where=mask)
    np.sign(prev, out=s0)
    s0 *= step_size
    pd -= s0
