"""Loss primitives: negative log-likelihood and the point-wise losses, reduction included.

Point-wise losses compute ``w * l(x, t)`` element by element and reduce it in the same node
('none' | 'mean' | 'sum'; 'mean' divides by ``n``, given by the caller). Their backward
writes one gradient per input from the saved inputs only, so second derivatives work.
"""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function
from softgrad.backend import xp_of
from softgrad.ops.elementwise import Sigmoid
from softgrad.ops.softmax import _grad_factor, _kept, _reduce


class NLLLoss(Function):
    """loss = -w_y x[y] over valid targets: grad_x = -g' w_y at the targets, 0 elsewhere."""

    def forward(self, x: Any, target: Any = None, weight: Any = None, ignore_index: int = -100,
                reduction: str = "mean") -> Any:
        xp = self.xp
        valid = target != ignore_index
        vmask = None if bool(valid.all()) else _kept(valid, xp)
        idx = _kept(target if vmask is None else xp.where(valid, target, 0), xp)
        if weight is None:
            wt = None if vmask is None else vmask.astype(x.dtype)
        else:
            wt = weight[idx] if vmask is None else weight[idx] * vmask
        loss = -xp.take_along_axis(x, idx, axis=1)
        if wt is not None:
            loss *= wt
        n = target.size if wt is None else wt.sum()
        out, self.scale = _reduce(loss[:, 0], reduction, n, xp, x.dtype)
        self.idx, self.wt, self.reduction, self.shape = idx, wt, reduction, x.shape
        self.dtype = x.dtype
        return out

    def _backward_graph(self, g: Any) -> tuple:
        """Recorded: linear in g, a constant selection array times g."""
        gf = _grad_factor(g, self.reduction, self.scale, self.idx.shape)
        xp = xp_of(self.idx)
        sel = xp.zeros(self.shape, dtype=self.dtype)
        xp.put_along_axis(sel, self.idx, 1 if self.wt is None else self.wt, axis=1)
        return sel * -gf, None

    def backward(self, g: Any) -> tuple:
        gf = _grad_factor(g, self.reduction, self.scale, self.idx.shape)
        coef = -gf if self.wt is None else gf * -self.wt
        xp = xp_of(self.idx)
        grad = xp.zeros(self.shape, dtype=self.dtype)
        xp.put_along_axis(grad, self.idx, xp.broadcast_to(coef, self.idx.shape), axis=1)
        return grad, None


class _Pointwise(Function):
    """Base of the point-wise losses: ``forward`` reduces, ``backward`` rescales ``g``."""

    def forward(self, x: Any, t: Any, weight: Any = None, reduction: str = "mean",
                n: Any = None, **params: Any) -> Any:
        self.weight, self.reduction, self.params = weight, reduction, params
        self.save_for_backward(x, t)
        loss = self.loss(x, t)
        if weight is not None:
            loss = loss * weight
        if n is None:
            n = loss.size
        out, self.scale = _reduce(loss, reduction, n, self.xp, loss.dtype)
        return out

    def backward(self, g: Any) -> tuple:
        x, t = self.saved
        gf = g if self.reduction == "none" else g * self.scale
        if self.weight is not None:
            gf = gf * self.weight
        return self.vjp(x, t, gf)

    def loss(self, x: Any, t: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def vjp(self, x: Any, t: Any, g: Any) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    def _both(self, gx: Any) -> tuple:
        """(gx, -gx) for losses of x - t."""
        need = self.needs_input_grad
        return (gx if need[0] else None), (-gx if need[1] else None)


class MSELoss(_Pointwise):
    """(x - t)^2: grad_x = 2 g (x - t), grad_t = -grad_x."""

    def loss(self, x: Any, t: Any) -> Any:
        d = x - t
        d *= d
        return d

    def vjp(self, x: Any, t: Any, g: Any) -> tuple:
        return self._both((x - t) * (g * 2))


class L1Loss(_Pointwise):
    """|x - t|: grad_x = g sign(x - t), grad_t = -grad_x."""

    def loss(self, x: Any, t: Any) -> Any:
        return self.xp.abs(x - t)

    def vjp(self, x: Any, t: Any, g: Any) -> tuple:
        return self._both(self.xp.sign(x - t) * g)


class HuberLoss(_Pointwise):
    """d^2/2 inside |d| < delta, delta (|d| - delta/2) outside (scaled by 1/delta for
    smooth L1): grad_x = g * clip(d, -delta, delta) * scale."""

    def loss(self, x: Any, t: Any) -> Any:
        xp = self.xp
        delta, scale = self.params["delta"], self.params["scale"]
        a = xp.abs(x - t)
        out = xp.where(a < delta, a * a * (0.5 * scale), (a - 0.5 * delta) * (delta * scale))
        return out

    def vjp(self, x: Any, t: Any, g: Any) -> tuple:
        delta, scale = self.params["delta"], self.params["scale"]
        return self._both(self.xp.clip(x - t, -delta, delta) * (g * scale))


class BCELoss(_Pointwise):
    """-(t log x + (1-t) log(1-x)), logs clamped at -100: grad_x = g (x - t) / max(x(1-x),
    1e-12), grad_t = g (log(1-x) - log x) (clamped logs)."""

    def loss(self, x: Any, t: Any) -> Any:
        log_x, log_1mx = self._logs(x)
        return -(t * (log_x - log_1mx) + log_1mx)

    def _logs(self, x: Any) -> tuple:
        xp = self.xp
        return xp.maximum(xp.log(x), -100), xp.maximum(xp.log(1 - x), -100)

    def vjp(self, x: Any, t: Any, g: Any) -> tuple:
        need = self.needs_input_grad
        gx = gt = None
        if need[0]:
            gx = g * (x - t) / self.xp.maximum(x * (1 - x), 1e-12)
        if need[1]:
            log_x, log_1mx = self._logs(x)
            gt = g * (log_1mx - log_x)
        return gx, gt


class BCEWithLogitsLoss(_Pointwise):
    """(1-t) x + (1 + (pw-1) t) softplus(-x): grad_x = g (sigmoid(x)(pw t + 1 - t) - pw t),
    grad_t = g (pw softplus(-x) - softplus(x)); pw = pos_weight (1 when absent)."""

    def loss(self, x: Any, t: Any) -> Any:
        xp = self.xp
        pw = self.params.get("pos_weight")
        sp_neg = xp.log1p(xp.exp(-xp.abs(x)))
        sp_neg += xp.maximum(-x, 0)  # softplus(-x) = -log(sigmoid(x))
        if pw is None:
            return (1 - t) * x + sp_neg
        return (1 - t) * x + ((pw - 1) * t + 1) * sp_neg

    def vjp(self, x: Any, t: Any, g: Any) -> tuple:
        xp = self.xp
        need = self.needs_input_grad
        pw = self.params.get("pos_weight")
        gx = gt = None
        if need[0]:
            s = self.call(Sigmoid, x)
            gx = g * (s - t) if pw is None else g * (s * ((pw - 1) * t + 1) - pw * t)
        if need[1]:
            if pw is None:
                gt = -g * x
            else:
                sp_neg = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0)
                gt = g * (pw * sp_neg - (sp_neg + x))
        return gx, gt


class KLDivLoss(_Pointwise):
    """t (log t - x) (0 where t = 0), or exp(t) (t - x) for log targets: grad_x = -g t
    (-g exp(t)), grad_t = g (log t + 1 - x) (g exp(t) (t + 1 - x))."""

    def loss(self, x: Any, t: Any) -> Any:
        xp = self.xp
        if self.params["log_target"]:
            return xp.exp(t) * (t - x)
        pos = t > 0
        return xp.where(pos, t * (xp.log(xp.where(pos, t, 1)) - x), -t * x)

    def vjp(self, x: Any, t: Any, g: Any) -> tuple:
        xp = self.xp
        need = self.needs_input_grad
        gx = gt = None
        if self.params["log_target"]:
            et = xp.exp(t)
            gx = -g * et if need[0] else None
            gt = g * et * (t + 1 - x) if need[1] else None
            return gx, gt
        if need[0]:
            gx = -g * t
        if need[1]:
            gt = g * (xp.log(t) + 1 - x)
        return gx, gt
