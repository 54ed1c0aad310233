"""Shared plumbing of the whole-sequence recurrent primitives (``softgrad.ops.rnn``).

``_Recurrent.forward`` computes the input projections of all steps in one GEMM and hands
the time loop to a subclass; ``backward`` turns the per-step gate gradients from the
subclass's BPTT into input and weight gradients with a few large GEMMs.

Variable-length batches: with ``mask`` (T, B, 1), 1 where step t of sequence b exists, a
padded step leaves the state unchanged and outputs zero, so each sequence ends (forward) or
starts (reverse) at its own length. The output then carries one more slot with the final
hidden state h_n (it is no longer the last output row).

Large scratch arrays come from a small free list (``_POOL``) and go back to it once backward
is done with them, so repeated training steps reuse memory instead of faulting in pages.
"""
from __future__ import annotations

import contextlib
from typing import Any

from softgrad import backend
from softgrad.engine.function import Function


class _Pool:
    """Free lists of scratch arrays keyed by (array module, shape, dtype), holding at most
    ``per_key`` arrays per key and ``max_bytes`` in all."""

    def __init__(self, per_key: int = 16, max_bytes: int = 256 * 2**20) -> None:
        self.free: dict[tuple, list] = {}
        self.per_key, self.max_bytes, self.nbytes = per_key, max_bytes, 0

    def get(self, xp: Any, shape: tuple, dtype: Any) -> Any:
        lst = self.free.get((xp.__name__, shape, str(dtype)))
        if lst:
            a = lst.pop()
            self.nbytes -= a.nbytes
            return a
        return xp.empty(shape, dtype=dtype)

    def give(self, xp: Any, *arrays: Any) -> None:
        for a in arrays:
            if a is None or a.base is not None or self.nbytes + a.nbytes > self.max_bytes:
                continue
            lst = self.free.setdefault((xp.__name__, a.shape, str(a.dtype)), [])
            if len(lst) < self.per_key:
                lst.append(a)
                self.nbytes += a.nbytes

    def clear(self) -> None:
        """Drop every pooled array."""
        self.free.clear()
        self.nbytes = 0


_POOL = _Pool()


class _Recurrent(Function):
    """Shared projection/gradient plumbing; subclasses define the time loops.

    Inputs: ``x, w_ih, w_hh, [b_ih, b_hh], h0, [c0]``; params ``bias``, ``reverse``,
    ``nonlinearity`` ('tanh' or 'relu', plain RNN only), ``mask`` (T, B, 1) or None, and
    ``record`` (False when no backward will follow: scratch is released at once) and
    ``proj`` (LSTM only: a last input ``w_hr (P, H)`` projects each hidden state to P).
    """

    # per-gate scale of the pre-activation fed to tanh (0.5 for sigmoid gates)
    scales: tuple = (1.0,)
    # whether backward reads the projections (LSTM keeps its activations there)
    keeps_projection = False
    hs: Any  # (T, B, H) the hidden states, set by the subclass's forward
    dw_hr: Any  # the projection's gradient, set by LSTM's time loop when ``proj``

    def forward(self, x: Any, w_ih: Any, w_hh: Any, *rest: Any, bias: bool = True,
                reverse: bool = False, nonlinearity: str = "tanh", mask: Any = None,
                record: bool = True, proj: bool = False) -> Any:
        xp = self.xp
        b_ih, b_hh = (rest[0], rest[1]) if bias else (None, None)
        states = rest[2:] if bias else rest
        self.w_hr = None
        if proj:  # LSTM with projections: the last input is w_hr (P, H)
            self.w_hr, states = states[-1], states[:-1]
        self.bias, self.reverse, self.nonlinearity = bias, reverse, nonlinearity
        self.pooled: list = []
        self.record = record
        T, B, _ = x.shape
        H = w_hh.shape[1]
        self.mask = mask
        if mask is not None:
            self.keep_rows, self.inv_mask = mask.astype(bool), 1 - mask
            self.hp = self._scratch((T, B, H), x.dtype)  # state fed into each step
        Hc = w_ih.shape[0] // len(self.scales)  # cell size (H unless projected)
        scale = self._scale_vector(Hc, x.dtype)
        w_ih_s = w_ih * scale[:, None] if scale is not None else w_ih
        b_in = None
        if bias:
            b_in = self._input_bias(b_ih, b_hh, Hc) * (scale if scale is not None else 1)
        xg = self._project(xp, x, w_ih_s, b_in)
        w_hh_s = w_hh * scale[:, None] if scale is not None else w_hh
        b_hh_s = None
        if bias:
            b_hh_s = b_hh * scale if scale is not None else b_hh
        steps = range(T - 1, -1, -1) if reverse else range(T)
        # a contiguous (H, G*H) copy: h @ w makes a faster GEMM than h @ w_hh.T
        with self._step_threads(B * H * w_hh.shape[0]):
            out = self._loop(xp, xg, xp.ascontiguousarray(w_hh_s.T), b_hh_s, states, steps, H)
        if not self.keeps_projection:
            _POOL.give(xp, xg)
        if not record:  # no backward will come: scratch goes straight back to the pool
            _POOL.give(xp, *self.pooled)
            self.pooled = []
            return out
        self.save_for_backward(x, w_ih, w_hh, *states, out)  # out: in-place edits are caught
        self.x_ref, self.w_ih_ref, self.w_hh_ref, self.states = x, w_ih, w_hh, states
        return out

    def _project(self, xp: Any, x: Any, w_ih: Any, b_in: Any) -> Any:
        """Input projections of all steps in one GEMM: (T, B, G*H) = x @ w_ih.T + b_in."""
        T, B, _ = x.shape
        xg = self._scratch((T, B, w_ih.shape[0]), x.dtype, keep=self.keeps_projection)
        xp.matmul(x.reshape(T * B, -1), w_ih.T, out=xg.reshape(T * B, -1))
        if b_in is not None:
            xg += b_in
        return xg

    def _step_threads(self, work: int) -> Any:
        """BLAS threads for a time loop whose per-step products do ``work`` multiply-adds:
        one thread for small ones (a barrier per step costs more than it saves)."""
        if getattr(self.xp, "__name__", "") != "numpy":
            return contextlib.nullcontext()
        return backend.blas_threads_for(work)

    def _scratch(self, shape: tuple, dtype: Any, keep: bool = True) -> Any:
        """A pooled array; ``keep`` ones are returned when the graph is released."""
        a = _POOL.get(self.xp, shape, dtype)
        if keep:
            self.pooled.append(a)
        return a

    def release(self) -> None:
        pooled = self.__dict__.get("pooled")
        if pooled:
            _POOL.give(self.xp, *pooled)
        super().release()

    # -------------------------------------------------------------- masking helpers
    def _carry(self, t: int, state: Any, new: Any) -> None:
        """Masked step t: ``state`` takes ``new`` on the rows that exist; ``new`` (an output
        row) becomes zero on the others."""
        self.xp.copyto(state, new, where=self.keep_rows[t])
        new *= self.mask[t]

    def _advance(self, t: int, h: Any, out_t: Any) -> Any:
        """The hidden state after step t, whose output row is ``out_t``: ``out_t`` itself, or
        with a mask, ``h`` (recorded first in ``hp``) carried forward in place."""
        if self.mask is None:
            return out_t
        self.hp[t] = h
        self._carry(t, h, out_t)
        return h

    def _back_steps(self, T: int) -> range:
        """Time steps in the order backpropagation visits them."""
        return range(T) if self.reverse else range(T - 1, -1, -1)

    def _grad_at(self, t: int, dh: Any, g_t: Any, buf: Any) -> Any:
        """Gradient reaching step t's new hidden state: ``dh += g_t`` without a mask (and
        ``dh`` itself returned), else ``_masked_grad`` into ``buf``."""
        if self.mask is None:
            dh += g_t
            return dh
        return self._masked_grad(t, dh, g_t, buf)

    def _masked_grad(self, t: int, d_state: Any, g_t: Any, out: Any) -> Any:
        """Gradient reaching step t's new hidden state: (d_state + g_t) on existing rows."""
        self.xp.add(d_state, g_t, out=out)
        out *= self.mask[t]
        d_state *= self.inv_mask[t]  # padded rows pass their gradient straight through
        return out

    # -------------------------------------------------------------- subclass hooks
    def _scale_vector(self, H: int, dtype: Any) -> Any:
        if all(s == 1.0 for s in self.scales):
            return None
        return self.xp.repeat(self.xp.asarray(self.scales, dtype=dtype), H)

    def _input_bias(self, b_ih: Any, b_hh: Any, H: int) -> Any:
        return b_ih + b_hh

    def _loop(self, xp: Any, xg: Any, w_hh_t: Any, b_hh: Any, states: tuple, steps: Any,
              H: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _bptt(self, xp: Any, g: Any, w_hh: Any, H: int, tmp: list) -> tuple:
        """Return (d pre-activation input gates (T,B,G*H), d recurrent gates (T,B,G*H),
        grads of the initial states); scratch arrays go into ``tmp``."""
        raise NotImplementedError  # pragma: no cover - abstract

    # -------------------------------------------------------------- shared backward
    def _prev(self, seq: Any, first: Any, tmp: list, out: Any = None,
              recorded: Any = None) -> Any:
        """State fed into each step, (T, B, H), in time order: ``seq`` shifted by one (or
        the ``recorded`` states of a masked run).

        Written into ``out`` when given, else into a pooled array recorded in ``tmp``."""
        if recorded is not None and out is None:
            return recorded
        if out is None:
            out = _POOL.get(self.xp, seq.shape, seq.dtype)
            tmp.append(out)
        if recorded is not None:
            out[...] = recorded
        elif self.reverse:
            out[:-1], out[-1] = seq[1:], first
        else:
            out[0], out[1:] = first, seq[:-1]
        return out

    double_backward_error = ("double backward through {name} (a fused recurrent layer) is "
                             "not supported")

    def backward(self, g: Any) -> tuple:
        if not self.record:
            raise RuntimeError(f"{type(self).__name__} ran with record=False (no gradient "
                               "was needed), so it kept nothing for backward")
        xp = self.xp
        x, w_ih, w_hh = self.x_ref, self.w_ih_ref, self.w_hh_ref
        T, B, I = x.shape
        H = w_hh.shape[1]
        need = self.needs_input_grad
        tmp: list = []
        with self._step_threads(B * H * w_hh.shape[0]):
            dxg, dhg, dstates = self._bptt(xp, g, w_hh, H, tmp)
        G = dxg.shape[-1]
        dxg2 = dxg.reshape(T * B, G)
        dhg2 = dhg.reshape(T * B, G)
        dx = (dxg2 @ w_ih).reshape(T, B, I) if need[0] else None
        dw_ih = dw_hh = None
        rec = self.hp if self.mask is not None else None
        if dxg is dhg and need[1] and need[2]:
            # one GEMM for both weights: d gates^T @ [x_t | h_{t-1}]
            xh = _POOL.get(xp, (T, B, I + H), x.dtype)
            tmp.append(xh)
            xh[..., :I] = x
            self._prev(self.hs, self.states[0], tmp, out=xh[..., I:], recorded=rec)
            dw = dxg2.T @ xh.reshape(T * B, I + H)
            dw_ih, dw_hh = xp.ascontiguousarray(dw[:, :I]), xp.ascontiguousarray(dw[:, I:])
        else:
            dw_ih = dxg2.T @ x.reshape(T * B, I) if need[1] else None
            if need[2]:
                hprev = self._prev(self.hs, self.states[0], tmp, recorded=rec)
                dw_hh = dhg2.T @ hprev.reshape(T * B, H)
        grads = [dx, dw_ih, dw_hh]
        if self.bias:
            ones = xp.ones(T * B, dtype=dxg.dtype)  # a GEMV sums rows faster than .sum(0)
            grads.append(ones @ dxg2 if need[3] else None)
            grads.append(ones @ dhg2 if need[4] else None)
        offset = len(grads)
        for k, d in enumerate(dstates):
            grads.append(d if need[offset + k] else None)
        if self.w_hr is not None:
            grads.append(self.dw_hr if need[-1] else None)
        _POOL.give(xp, *tmp)
        return tuple(grads)
