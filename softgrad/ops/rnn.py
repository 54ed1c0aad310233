"""Whole-sequence recurrent primitives: one layer, one direction, all time steps.

Each Function takes the time-major input ``x (T, B, I)``, ``w_ih (G*H, I)``, ``w_hh (G*H, H)``,
optionally ``b_ih, b_hh (G*H,)`` and the initial state(s) ``(B, H)``. Forward computes the
input projections of all steps in one GEMM, then loops over time on raw arrays; backward
runs back-propagation through time on arrays (one GEMM per step for the recurrence) and
finishes with three GEMM-shaped weight/input gradients. Gate order is PyTorch's: LSTM
``i, f, g, o``; GRU ``r, z, n`` with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.

Sigmoids are computed as ``0.5 * tanh(x / 2) + 0.5`` with the halving folded into scaled
copies of the gate rows of the weights (exact: a power of two), so each step costs a few
in-place ufunc calls.
"""
from __future__ import annotations

from typing import Any

from softgrad.autograd.function import Function


class _Recurrent(Function):
    """Shared projection/gradient plumbing; subclasses define the time loops.

    Inputs: ``x, w_ih, w_hh, [b_ih, b_hh], h0, [c0]``; params ``bias`` and ``reverse``.
    """

    gates = 1
    n_states = 1
    # per-gate scale of the pre-activation fed to tanh (0.5 for sigmoid gates)
    scales: tuple = (1.0,)

    def forward(self, x: Any, w_ih: Any, w_hh: Any, *rest: Any, bias: bool = True,
                reverse: bool = False, nonlinearity: str = "tanh") -> Any:
        xp = self.xp
        b_ih, b_hh = (rest[0], rest[1]) if bias else (None, None)
        states = rest[2:] if bias else rest
        self.bias, self.reverse, self.nonlinearity = bias, reverse, nonlinearity
        T, B, _ = x.shape
        H = w_hh.shape[1]
        scale = self._scale_vector(H, x.dtype)
        w_ih_s = w_ih * scale[:, None] if scale is not None else w_ih
        xg = (x.reshape(T * B, -1) @ w_ih_s.T).reshape(T, B, -1)
        if bias:
            xg += self._input_bias(b_ih, b_hh, H) * (scale if scale is not None else 1)
        w_hh_s = w_hh * scale[:, None] if scale is not None else w_hh
        b_hh_s = None
        if bias:
            b_hh_s = b_hh * scale if scale is not None else b_hh
        steps = range(T - 1, -1, -1) if reverse else range(T)
        # a contiguous (H, G*H) copy: h @ w makes a faster GEMM than h @ w_hh.T
        out = self._loop(xp, xg, xp.ascontiguousarray(w_hh_s.T), b_hh_s, states, steps, H)
        self.save_for_backward(x, w_ih, w_hh, *states)
        self.x_ref, self.w_ih_ref, self.w_hh_ref, self.states = x, w_ih, w_hh, states
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

    def _bptt(self, xp: Any, g: Any, w_hh: Any, H: int) -> tuple:  # pragma: no cover
        """Return (d pre-activation input gates (T,B,G*H), d recurrent gates (T,B,G*H),
        d b_hh-like bias or None, grads of initial states)."""
        raise NotImplementedError

    # -------------------------------------------------------------- shared backward
    def _prev_h(self, xp: Any, hs: Any, h0: Any) -> Any:
        """Hidden state fed into each step, (T, B, H), in time order."""
        if self.reverse:
            return xp.concatenate([hs[1:], h0[None]], axis=0)
        return xp.concatenate([h0[None], hs[:-1]], axis=0)

    def backward(self, g: Any) -> tuple:
        xp = self.xp
        x, w_ih, w_hh = self.x_ref, self.w_ih_ref, self.w_hh_ref
        T, B, I = x.shape
        H = w_hh.shape[1]
        need = self.needs_input_grad
        dxg, dhg, dstates = self._bptt(xp, g, w_hh, H)
        G = dxg.shape[-1]
        dxg2 = dxg.reshape(T * B, G)
        dx = (dxg2 @ w_ih).reshape(T, B, I) if need[0] else None
        dw_ih = dxg2.T @ x.reshape(T * B, I) if need[1] else None
        dw_hh = None
        if need[2]:
            hprev = self._prev_h(xp, self.hs, self.states[0])
            dw_hh = dhg.reshape(T * B, G).T @ hprev.reshape(T * B, H)
        grads = [dx, dw_ih, dw_hh]
        if self.bias:
            ones = xp.ones(T * B, dtype=dxg.dtype)  # a GEMV sums rows faster than .sum(0)
            grads.append(ones @ dxg2 if need[3] else None)
            grads.append(ones @ dhg.reshape(T * B, G) if need[4] else None)
        offset = len(grads)
        for k, d in enumerate(dstates):
            grads.append(d if need[offset + k] else None)
        return tuple(grads)


class RNNTanhSeq(_Recurrent):
    """Elman RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh or relu.

    Output (T, B, H): h_t for every t. VJP: d pre = (dh_t + dh_{t+1} W_hh) * act'(pre).
    """

    def _loop(self, xp, xg, w_hh_t, b_hh, states, steps, H):
        h = states[0]
        out = xp.empty(xg.shape[:2] + (H,), dtype=xg.dtype)
        relu = self.nonlinearity == "relu"
        for t in steps:
            pre = xg[t]
            pre += h @ w_hh_t
            if relu:
                xp.maximum(pre, 0, out=out[t])
            else:
                xp.tanh(pre, out=out[t])
            h = out[t]
        self.hs = out
        return out

    def _bptt(self, xp, g, w_hh, H):
        hs = self.hs
        deriv = (hs > 0).astype(hs.dtype) if self.nonlinearity == "relu" else 1 - hs * hs
        dpre = xp.empty_like(hs)
        dh = xp.zeros_like(self.states[0])
        steps = range(hs.shape[0]) if self.reverse else range(hs.shape[0] - 1, -1, -1)
        for t in steps:
            dh += g[t]
            xp.multiply(dh, deriv[t], out=dpre[t])
            dh = dpre[t] @ w_hh
        return dpre, dpre, (dh,)


class LSTMSeq(_Recurrent):
    """LSTM layer, gates i, f, g, o.

    Output (T+1, B, H): h_t for t < T, then the last cell state c_n in slot T.
    VJP per step: dc = dc_{t+1} + dh * o * (1 - tanh(c)^2); d gates = (dc*g, dc*c_{t-1}, dc*i,
    dh*tanh(c)) times the activation derivatives; dh_{t-1} = d gates @ W_hh.
    """

    gates, n_states, scales = 4, 2, (0.5, 0.5, 1.0, 0.5)

    def _loop(self, xp, xg, w_hh_t, b_hh, states, steps, H):
        h, c = states
        T, B = xg.shape[:2]
        dt = xg.dtype
        mul = xp.repeat(xp.asarray((0.5, 0.5, 1.0, 0.5), dtype=dt), H)
        add = xp.repeat(xp.asarray((0.5, 0.5, 0.0, 0.5), dtype=dt), H)
        out = xp.empty((T + 1, B, H), dtype=dt)
        cs = xp.empty((T, B, H), dtype=dt)
        tcs = xp.empty((T, B, H), dtype=dt)
        tmp = xp.empty((B, H), dtype=dt)
        for t in steps:
            a = xg[t]
            a += h @ w_hh_t
            xp.tanh(a, out=a)
            a *= mul
            a += add
            ct = cs[t]
            xp.multiply(a[:, H:2 * H], c, out=ct)
            xp.multiply(a[:, :H], a[:, 2 * H:3 * H], out=tmp)
            ct += tmp
            xp.tanh(ct, out=tcs[t])
            xp.multiply(a[:, 3 * H:], tcs[t], out=out[t])
            h, c = out[t], ct
        out[T] = c
        self.acts, self.cs, self.tcs, self.hs = xg, cs, tcs, out[:T]
        return out

    def _bptt(self, xp, g, w_hh, H):
        acts, cs, tcs = self.acts, self.cs, self.tcs
        T = acts.shape[0]
        h0, c0 = self.states
        i, f, gg, o = (acts[..., k * H:(k + 1) * H] for k in range(4))
        # activation derivatives, computed once for all steps
        deriv = acts * (1 - acts)
        deriv[..., 2 * H:3 * H] = 1 - gg * gg
        dcdh = o * (1 - tcs * tcs)
        cprev = (xp.concatenate([cs[1:], c0[None]]) if self.reverse
                 else xp.concatenate([c0[None], cs[:-1]]))
        dgates = xp.empty_like(acts)
        dh = xp.zeros_like(h0)
        dc = g[T].copy()
        tmp = xp.empty_like(dh)
        steps = range(T) if self.reverse else range(T - 1, -1, -1)
        for t in steps:
            dh += g[t]
            xp.multiply(dh, dcdh[t], out=tmp)
            dc += tmp
            d = dgates[t]
            xp.multiply(dc, gg[t], out=d[:, :H])
            xp.multiply(dc, cprev[t], out=d[:, H:2 * H])
            xp.multiply(dc, i[t], out=d[:, 2 * H:3 * H])
            xp.multiply(dh, tcs[t], out=d[:, 3 * H:])
            d *= deriv[t]
            dc *= f[t]
            dh = d @ w_hh
        return dgates, dgates, (dh, dc)


class GRUSeq(_Recurrent):
    """GRU layer, gates r, z, n: h_t = (1 - z) * n + z * h_{t-1}.

    Output (T, B, H). VJP per step: dn = dh (1-z)(1-n^2); dz = dh (h_{t-1} - n) z(1-z);
    dr = dn (W_hn h + b_hn) r(1-r); dh_{t-1} = dh z + [dr, dz, dn r] @ W_hh.
    """

    gates, scales = 3, (0.5, 0.5, 1.0)

    def _input_bias(self, b_ih, b_hh, H):
        b = b_ih.copy()
        b[:2 * H] += b_hh[:2 * H]
        return b

    def _loop(self, xp, xg, w_hh_t, b_hh, states, steps, H):
        h = states[0]
        T, B = xg.shape[:2]
        dt = xg.dtype
        out = xp.empty((T, B, H), dtype=dt)
        rz = xp.empty((T, B, 2 * H), dtype=dt)
        ns = xp.empty((T, B, H), dtype=dt)
        ghn = xp.empty((T, B, H), dtype=dt)
        b_n = b_hh[2 * H:] if b_hh is not None else None
        tmp = xp.empty((B, H), dtype=dt)
        for t in steps:
            gh = h @ w_hh_t
            a = rz[t]
            xp.add(xg[t, :, :2 * H], gh[:, :2 * H], out=a)
            xp.tanh(a, out=a)
            a *= 0.5
            a += 0.5
            hn = ghn[t]
            if b_n is not None:
                xp.add(gh[:, 2 * H:], b_n, out=hn)
            else:
                hn[...] = gh[:, 2 * H:]
            n = ns[t]
            xp.multiply(a[:, :H], hn, out=n)
            n += xg[t, :, 2 * H:]
            xp.tanh(n, out=n)
            xp.subtract(h, n, out=tmp)
            tmp *= a[:, H:]
            xp.add(tmp, n, out=out[t])
            h = out[t]
        self.rz, self.ns, self.ghn, self.hs = rz, ns, ghn, out
        return out

    def _bptt(self, xp, g, w_hh, H):
        rz, ns, ghn, hs = self.rz, self.ns, self.ghn, self.hs
        T = hs.shape[0]
        r, z = rz[..., :H], rz[..., H:]
        hprev = self._prev_h(xp, hs, self.states[0])
        d_n = (1 - z) * (1 - ns * ns)
        d_z = (hprev - ns) * z * (1 - z)
        d_r = ghn * r * (1 - r)
        dxg = xp.empty(hs.shape[:2] + (3 * H,), dtype=hs.dtype)
        dhg = xp.empty_like(dxg)
        dh = xp.zeros_like(self.states[0])
        steps = range(T) if self.reverse else range(T - 1, -1, -1)
        for t in steps:
            dh += g[t]
            dx_t, dh_t = dxg[t], dhg[t]
            xp.multiply(dh, d_n[t], out=dx_t[:, 2 * H:])
            xp.multiply(dh, d_z[t], out=dx_t[:, H:2 * H])
            xp.multiply(dx_t[:, 2 * H:], d_r[t], out=dx_t[:, :H])
            dh_t[:, :2 * H] = dx_t[:, :2 * H]
            xp.multiply(dx_t[:, 2 * H:], r[t], out=dh_t[:, 2 * H:])
            dh *= z[t]
            dh += dh_t @ w_hh
        return dxg, dhg, (dh,)
