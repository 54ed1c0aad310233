"""Softmax, log-softmax and the fused softmax-cross-entropy primitives.

Every one subtracts the max along the reduced axis (``keepdims``), never the global max, so
rows of any magnitude stay finite. Backward passes are vector-Jacobian products costing
O(N*C); no (N, C, C) Jacobian is ever built.

The cross-entropy primitives take logits with the class axis at 1: shape ``(N, C, d1, ...)``.
Unbatched ``(C,)`` input is reshaped to ``(1, C)`` by ``nn.functional`` before it gets here.
"""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.engine.function import Function


class Softmax(Function):
    """grad = y * (g - sum(g * y, axis)), y = softmax(x) (saves the output)."""

    def forward(self, x: Any, axis: int = -1) -> Any:
        self.axis = axis
        if x.size == 0:
            y = x.copy()
        else:
            y = x - x.max(axis=axis, keepdims=True)
            self.xp.exp(y, out=y)
            y /= y.sum(axis=axis, keepdims=True)
        self.save_for_backward(y)
        return y

    def backward(self, g: Any) -> Any:
        (y,) = self.saved
        out = g - (g * y).sum(axis=self.axis, keepdims=True)
        out *= y
        return out

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: the same formula, out of place."""
        (y,) = self.saved
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """grad = g - exp(y) * sum(g, axis), y = log_softmax(x) (saves the output)."""

    def forward(self, x: Any, axis: int = -1) -> Any:
        self.axis = axis
        if x.size == 0:
            y = x.copy()
        else:
            y = x - x.max(axis=axis, keepdims=True)
            y -= self.xp.log(self.xp.exp(y).sum(axis=axis, keepdims=True))
        self.save_for_backward(y)
        return y

    def backward(self, g: Any) -> Any:
        (y,) = self.saved
        out = self.xp.exp(y)
        out *= -g.sum(axis=self.axis, keepdims=True)
        out += g
        return out

    def _backward_graph(self, g: Any) -> Any:
        """Recorded: the same formula, out of place."""
        (y,) = self.saved
        return g - self.xp.exp(y) * g.sum(axis=self.axis, keepdims=True)


def _kept(a: Any, xp: Any) -> Any:
    """Insert the class axis: (N, *) -> (N, 1, *)."""
    return xp.expand_dims(a, 1)


def _class_shape(ndim: int, c: int) -> tuple:
    """Shape that puts a (C,) vector on axis 1 of an ndim-array."""
    return (1, c) + (1,) * (ndim - 2)


def _grad_factor(g: Any, reduction: str, scale: Any, kept_shape: tuple) -> Any:
    """The upstream gradient per sample, shaped to broadcast along the class axis."""
    if reduction == "none":
        return g.reshape(kept_shape)
    return g * scale


def _reduce(loss: Any, reduction: str, n: Any, xp: Any, dtype: Any) -> tuple:
    """``(reduced loss, gradient scale)``; 'mean' divides by ``n`` (nan when n == 0)."""
    if reduction == "none":
        return loss, 1
    out = loss.sum()
    if reduction == "sum":
        return xp.asarray(out, dtype=dtype), 1
    if not n:
        return xp.asarray(float("nan"), dtype=dtype), 0
    return xp.asarray(out / n, dtype=dtype), 1 / n


class CrossEntropy(Function):
    """Fused log-softmax + NLL on class indices y.

    grad_x = g' * (sum_c(q) * softmax(x) - q), q = (1-eps) w_y onehot(y) + eps w / C, with
    g' = g / sum(w_y over valid targets) for 'mean'. One exp, no one-hot array.
    """

    def forward(self, x: Any, target: Any = None, weight: Any = None, ignore_index: int = -100,
                reduction: str = "mean", label_smoothing: float = 0.0) -> Any:
        xp = self.xp
        c = x.shape[1]
        eps = float(label_smoothing)
        valid = target != ignore_index
        vmask = None if bool(valid.all()) else _kept(valid, xp)
        idx = _kept(target if vmask is None else xp.where(valid, target, 0), xp)
        if weight is None:  # weight of each sample's target class (None: all ones)
            wt = None if vmask is None else vmask.astype(x.dtype)
        else:
            wt = weight[idx] if vmask is None else weight[idx] * vmask
        e = x - x.max(axis=1, keepdims=True)
        loss = -xp.take_along_axis(e, idx, axis=1)
        if eps:
            w_b = 1 if weight is None else weight.reshape(_class_shape(x.ndim, c))
            wsum = float(c) if weight is None else weight.sum()
            shifted_sum = (e if weight is None else e * w_b).sum(axis=1, keepdims=True)
        xp.exp(e, out=e)
        s = e.sum(axis=1, keepdims=True)
        log_s = xp.log(s)
        loss += log_s  # (N, 1, *): logsumexp(x) - x_y
        if wt is not None:
            loss *= wt
        total = 1 if wt is None else wt
        if eps:
            smooth = wsum * log_s - shifted_sum
            if vmask is not None:
                smooth *= vmask
            loss = loss * (1 - eps) + smooth * (eps / c)
            total = total * (1 - eps) + (eps / c) * wsum * (1 if vmask is None else vmask)
        n = target.size if wt is None else wt.sum()
        out, self.scale = _reduce(loss[:, 0], reduction, n, xp, x.dtype)
        self.e, self.s, self.idx, self.total, self.wt, self.vmask = e, s, idx, total, wt, vmask
        self.eps, self.reduction, self.weight = eps, reduction, weight
        self.save_for_backward(x)
        return out

    def _target_weights(self, g: Any) -> tuple:
        """(g scaled by the reduction, the weight of the target class, the smoothing part)."""
        eps, c = self.eps, self.e.shape[1]
        gf = _grad_factor(g, self.reduction, self.scale, self.idx.shape)
        w_y = (1 - eps) * (1 if self.wt is None else self.wt)
        smooth_q = None
        if eps:
            smooth_q = (eps / c) * (1 if self.weight is None else self.weight.reshape(
                _class_shape(self.e.ndim, c)))
            if self.vmask is not None:
                smooth_q = smooth_q * self.vmask
        return gf, w_y, smooth_q

    def _backward_graph(self, g: Any) -> tuple:
        """Recorded: softmax recomputed from the saved logits, so it can be differentiated."""
        gf, w_y, smooth_q = self._target_weights(g)
        (x,) = self.saved
        q = backend.xp_of(self.e).zeros(self.e.shape, dtype=self.e.dtype)
        backend.xp_of(q).put_along_axis(q, self.idx, w_y, axis=1)
        if smooth_q is not None:
            q = q + smooth_q
        return (x.softmax(1) * self.total - q) * gf, None

    def backward(self, g: Any) -> tuple:
        xp = self.xp
        gf, w_y, smooth_q = self._target_weights(g)
        a = self.total / self.s
        a = a * gf
        grad = self.e * a
        hit = xp.take_along_axis(grad, self.idx, axis=1) - w_y * gf
        xp.put_along_axis(grad, self.idx, hit, axis=1)
        if smooth_q is not None:
            grad -= smooth_q * gf
        return grad, None


class CrossEntropyProb(Function):
    """Fused log-softmax + cross-entropy on class probabilities t.

    With q = w * ((1-eps) t + eps / C): grad_x = g' * (sum_c(q) softmax(x) - q) and
    grad_t = g' * (1-eps) w (logsumexp(x) - x); g' = g / (N * d1 * ...) for 'mean'.
    """

    def forward(self, x: Any, t: Any, weight: Any = None, reduction: str = "mean",
                label_smoothing: float = 0.0) -> Any:
        xp = self.xp
        c = x.shape[1]
        eps = float(label_smoothing)
        w_b = None if weight is None else weight.reshape(_class_shape(x.ndim, c))
        q = t
        if eps:
            q = t * (1 - eps)
            q += eps / c
        if w_b is not None:
            q = q * w_b
        m = x.max(axis=1, keepdims=True)
        e = x - m
        qx = (q * e).sum(axis=1, keepdims=True)
        xp.exp(e, out=e)
        s = e.sum(axis=1, keepdims=True)
        log_s = xp.log(s)
        total = q.sum(axis=1, keepdims=True)
        loss = (total * log_s - qx)[:, 0]
        out, self.scale = _reduce(loss, reduction, x.size // c if c else 0, xp, x.dtype)
        self.e, self.s, self.q, self.total, self.lse = e, s, q, total, log_s + m
        self.w_b, self.eps, self.reduction = w_b, eps, reduction
        self.save_for_backward(x, t)
        return out

    def _backward_graph(self, g: Any) -> tuple:
        """Recorded: softmax and logsumexp recomputed from the saved inputs."""
        x, t = self.saved
        need = self.needs_input_grad
        eps = self.eps
        gf = _grad_factor(g, self.reduction, self.scale, self.s.shape)
        gx = gt = None
        if need[0]:
            q = t * (1 - eps) + eps / x.shape[1] if eps else t
            if self.w_b is not None:
                q = q * self.w_b
            gx = (x.softmax(1) * q.sum(axis=1, keepdims=True) - q) * gf
        if need[1]:
            gt = (x.logsumexp(1, keepdim=True) - x) * self._keep_t() * gf
        return gx, gt

    def _keep_t(self) -> Any:
        return (1 - self.eps) * (1 if self.w_b is None else self.w_b)

    def backward(self, g: Any) -> tuple:
        x = self.saved[0]
        need = self.needs_input_grad
        gf = _grad_factor(g, self.reduction, self.scale, self.s.shape)
        keep_t = self._keep_t()
        gx = gt = None
        if need[0]:
            gx = self.e * (self.total / self.s)
            gx -= self.q
            gx *= gf
        if need[1]:
            gt = self.lse - x
            gt *= gf * keep_t
        return gx, gt
