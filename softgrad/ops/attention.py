"""Scaled dot-product attention as one primitive: batched GEMMs around a fused softmax.

Forward: ``s = q @ k^T`` (one batched GEMM), then in place on ``s``: scale, mask, the row
max, exp, and the normalisation (``p``), then ``out = p @ v`` (one batched GEMM). Backward:
``dv = p^T @ g``, ``dp = g @ v^T``, the softmax VJP ``ds = p * (dp - rowsum(dp * p))`` in
place on ``dp``, ``dq = ds @ k * scale``, ``dk = ds^T @ q * scale`` and ``d mask = ds``. Only
two score-sized arrays live at a time (``p`` saved, ``dp`` in backward), against about six
for the composed ops.

A row whose mask blocks every key gets zero weights and zero gradients (PyTorch's fused
kernels do the same), not NaN.
"""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.engine.function import Function

_CAUSAL: dict[tuple, Any] = {}  # (array module, L, S) -> bool (L, S), True above the diagonal


def causal_blocked(xp: Any, L: int, S: int) -> Any:
    """The (L, S) bool mask of the keys after each query (cached)."""
    key = (getattr(xp, "__name__", id(xp)), L, S)
    m = _CAUSAL.get(key)
    if m is None:
        if len(_CAUSAL) > 32:
            _CAUSAL.clear()
        m = _CAUSAL[key] = xp.triu(xp.ones((L, S), dtype=bool), 1)
    return m


class ScaledDotProductAttention(Function):
    """out = softmax(q @ k^T * scale + mask) @ v over the last two dims; leading dims broadcast.

    Inputs: q (..., L, E), k (..., S, E), v (..., S, Ev), optionally an additive float mask
    broadcastable to (..., L, S) (it gets a gradient). Params: ``scale``, ``causal`` (block
    the keys after each query), ``keep`` (a dropout mask of 0 and 1/(1-p) on the weights, or
    None). Output (..., L, Ev).
    """

    def forward(self, q: Any, k: Any, v: Any, mask: Any = None, scale: float = 1.0,
                causal: bool = False, keep: Any = None) -> Any:
        xp = self.xp
        self.scale, self.causal, self.keep, self.has_mask = scale, causal, keep, mask is not None
        s = xp.matmul(q, k.swapaxes(-1, -2))
        s *= scale
        if mask is not None:
            s += mask
        if causal:
            xp.copyto(s, -xp.inf, where=causal_blocked(xp, s.shape[-2], s.shape[-1]))
        m = s.max(axis=-1, keepdims=True)
        guard = mask is not None
        if guard:  # rows with every key blocked: exp(-inf - 0) = 0 below, not NaN
            m[~xp.isfinite(m)] = 0
        s -= m
        xp.exp(s, out=s)
        den = s.sum(axis=-1, keepdims=True)
        if guard:
            den[den == 0] = 1
        s /= den
        self.p = s
        self.save_for_backward(q, k, v, *((mask,) if guard else ()))
        return xp.matmul(s if keep is None else s * keep, v)

    def backward(self, g: Any) -> tuple:
        xp, p, keep = self.xp, self.p, self.keep
        q, k, v = self.saved[:3]
        need = self.needs_input_grad
        pk = p if keep is None else p * keep
        dv = xp.matmul(pk.swapaxes(-1, -2), g) if need[2] else None
        ds = xp.matmul(g, v.swapaxes(-1, -2))  # d weights, then d scores in place
        if keep is not None:
            ds *= keep
        ds *= p
        ds -= p * ds.sum(axis=-1, keepdims=True)  # p * (dp - rowsum(dp * p))
        dq = dk = None
        if need[0]:
            dq = xp.matmul(ds, k)
            dq *= self.scale
        if need[1]:
            dk = xp.matmul(ds.swapaxes(-1, -2), q)
            dk *= self.scale
        if not self.has_mask:
            return dq, dk, dv
        return dq, dk, dv, (ds if need[3] else None)

    def _backward_graph(self, g: Any) -> tuple:
        """The same VJP on Tensors (higher-order gradients): the weights are recomputed from
        the saved inputs so that they are differentiable again."""
        q, k, v = self.saved[:3]
        s = (q @ k.swapaxes(-1, -2)) * self.scale
        if self.has_mask:
            s = s + self.saved[3]
        if self.causal:
            xp = backend.xp_of(q._data)
            s = self.xp.where(causal_blocked(xp, s.shape[-2], s.shape[-1]), -float("inf"), s)
        p = s.softmax(-1)
        pk = p if self.keep is None else p * self.keep
        dv = pk.swapaxes(-1, -2) @ g
        dp = g @ v.swapaxes(-1, -2)
        if self.keep is not None:
            dp = dp * self.keep
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
        dq = (ds @ k) * self.scale
        dk = (ds.swapaxes(-1, -2) @ q) * self.scale
        return (dq, dk, dv, ds) if self.has_mask else (dq, dk, dv)

