"""Connectionist temporal classification: the negative log-likelihood of the label sequences
summed over all alignments, by the forward (alpha) and backward (beta) recursions in log
space, vectorised over the batch and the extended label sequence, looped over time."""
from __future__ import annotations

from typing import Any

from softgrad.engine.function import Function

_NEG_INF = float("-inf")


def _lse3(xp: Any, a: Any, b: Any, c: Any) -> Any:
    return xp.logaddexp(xp.logaddexp(a, b), c)


class CtcLoss(Function):
    """Per-sample -log p(target | log_probs), (T, N, C) -> (N,). The gradient is PyTorch's:
    g * (exp(lp) - exp(lse_s(alpha + beta) + nll - lp)) for t < input_length, 0 after; it is
    the true gradient with respect to the logits of a log_softmax feeding ``log_probs`` (the
    exp(lp) term adds nothing there), as with PyTorch's ctc_loss."""

    def forward(self, lp: Any, ext: Any = None, ext_len: Any = None, in_len: Any = None,
                zero_infinity: bool = False) -> Any:
        xp = self.xp
        t_max, n, _ = lp.shape
        s_max = ext.shape[1]
        rows = xp.arange(n)
        pos = xp.arange(s_max)
        valid = pos[None, :] < ext_len[:, None]  # (N, S')
        # s may come from s - 2 when it is a label that differs from the label two back
        skip = xp.zeros((n, s_max), dtype=bool)
        skip[:, 2:] = (ext[:, 2:] != ext[:, :1]) & (ext[:, 2:] != ext[:, :-2])
        emit = xp.take_along_axis(lp, xp.broadcast_to(ext[None], (t_max, n, s_max)), axis=2)
        emit = xp.where(valid[None], emit, _NEG_INF)  # (T, N, S')
        alpha = xp.full((t_max, n, s_max), _NEG_INF, dtype=lp.dtype)
        alpha[0, :, 0] = emit[0, :, 0]
        if s_max > 1:
            alpha[0, :, 1] = xp.where(ext_len > 1, emit[0, :, 1], _NEG_INF)
        for t in range(1, t_max):
            prev = alpha[t - 1]
            one = xp.concatenate([xp.full((n, 1), _NEG_INF, lp.dtype), prev[:, :-1]], 1)
            two = xp.concatenate([xp.full((n, 2), _NEG_INF, lp.dtype), prev[:, :-2]], 1)
            alpha[t] = _lse3(xp, prev, one, xp.where(skip, two, _NEG_INF)) + emit[t]
        last = in_len - 1
        end = alpha[last, rows]  # (N, S')
        tail = xp.take_along_axis(end, (ext_len - 1)[:, None], 1)[:, 0]
        before = xp.take_along_axis(end, xp.maximum(ext_len - 2, 0)[:, None], 1)[:, 0]
        before = xp.where(ext_len > 1, before, _NEG_INF)
        nll = -xp.logaddexp(tail, before)
        self.lp, self.ext, self.ext_len, self.in_len = lp, ext, ext_len, in_len
        self.emit, self.alpha, self.skip, self.nll = emit, alpha, skip, nll
        self.zero_infinity = zero_infinity
        if zero_infinity:
            nll = xp.where(xp.isinf(nll), 0, nll)
        return nll.astype(lp.dtype, copy=False)

    def _beta(self) -> Any:
        xp = self.xp
        emit, skip, ext_len, in_len = self.emit, self.skip, self.ext_len, self.in_len
        t_max, n, s_max = emit.shape
        rows = xp.arange(n)
        beta = xp.full((t_max, n, s_max), _NEG_INF, dtype=emit.dtype)
        last = in_len - 1
        end = xp.full((n, s_max), _NEG_INF, dtype=emit.dtype)
        end[rows, ext_len - 1] = emit[last, rows, ext_len - 1]
        two_back = xp.maximum(ext_len - 2, 0)
        end[rows, two_back] = xp.where(ext_len > 1, emit[last, rows, two_back],
                                       end[rows, two_back])
        # s + 2 may be reached from s when s + 2 is a skip position
        skip_next = xp.zeros((n, s_max), dtype=bool)
        skip_next[:, :-2] = skip[:, 2:]
        for t in range(t_max - 1, -1, -1):
            at_end = (t == last)[:, None]
            if t == t_max - 1:
                beta[t] = xp.where(at_end, end, _NEG_INF)
                continue
            nxt = beta[t + 1]
            one = xp.concatenate([nxt[:, 1:], xp.full((n, 1), _NEG_INF, emit.dtype)], 1)
            two = xp.concatenate([nxt[:, 2:], xp.full((n, 2), _NEG_INF, emit.dtype)], 1)
            rec = _lse3(xp, nxt, one, xp.where(skip_next, two, _NEG_INF)) + emit[t]
            beta[t] = xp.where(at_end, end, xp.where((t < last)[:, None], rec, _NEG_INF))
        return beta

    double_backward_error = "ctc_loss: second derivatives are not supported"

    def backward(self, g: Any) -> tuple:
        xp = self.xp
        lp, ext, nll = self.lp, self.ext, self.nll
        t_max, n, c = lp.shape
        ab = self.alpha + self._beta()  # (T, N, S')
        lcab = xp.full((t_max, n, c), _NEG_INF, dtype=lp.dtype)
        rows = xp.arange(n)
        for s in range(ext.shape[1]):
            cur = lcab[:, rows, ext[:, s]]
            lcab[:, rows, ext[:, s]] = xp.logaddexp(cur, ab[:, :, s])
        grad = xp.exp(lp) - xp.exp(lcab + nll[None, :, None] - lp)
        live = (xp.arange(t_max)[:, None] < self.in_len[None, :])[:, :, None]
        scale = g
        if self.zero_infinity:
            scale = xp.where(xp.isinf(nll), 0, g)
        grad = xp.where(live & xp.isfinite(nll)[None, :, None], grad, 0) * scale[None, :, None]
        return grad.astype(lp.dtype, copy=False)
