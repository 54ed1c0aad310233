"""Whole-sequence recurrent primitives: one layer, one direction, all time steps.

Each Function takes the time-major input ``x (T, B, I)``, ``w_ih (G*H, I)``, ``w_hh (G*H, H)``,
optionally ``b_ih, b_hh (G*H,)`` and the initial state(s) ``(B, H)``. Forward computes the
input projections of all steps in one GEMM (``softgrad.ops.rnn_base``), then loops over time
on raw arrays; backward runs back-propagation through time on arrays (one GEMM per step for
the recurrence). Gate order is PyTorch's: LSTM ``i, f, g, o``; GRU ``r, z, n`` with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.

Sigmoids are computed as ``0.5 * tanh(x / 2) + 0.5`` with the halving folded into scaled
copies of the gate rows of the weights (exact: a power of two). With a ``mask`` (padded
batches), padded steps keep the state and output zero; see ``rnn_base``.
"""
from __future__ import annotations

from softgrad.ops import _rnn_kernels
from softgrad.ops.rnn_base import _POOL, _Recurrent

__all__ = ["GRUSeq", "LSTMSeq", "RNNTanhSeq"]

_GATES = (0, 1, 3, 2)  # LSTM gates inside the loop: i, f, o, g (PyTorch's order is i, f, g, o)


class RNNTanhSeq(_Recurrent):
    """Elman RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh or relu.

    Output (T, B, H): h_t for every t (plus h_n in slot T when masked).
    VJP: d pre = (dh_t + dh_{t+1} W_hh) * act'(pre).
    """

    def _loop(self, xp, xg, w_hh_t, b_hh, states, steps, H):
        T, B = xg.shape[:2]
        m = self.mask
        h = states[0] if m is None else states[0].copy()
        out = xp.empty((T + (m is not None), B, H), dtype=xg.dtype)
        relu = self.nonlinearity == "relu"
        for t in steps:
            pre = xg[t]
            pre += h @ w_hh_t
            if relu:
                xp.maximum(pre, 0, out=out[t])
            else:
                xp.tanh(pre, out=out[t])
            h = self._advance(t, h, out[t])
        if m is not None:
            out[T] = h
        self.hs = out[:T]
        return out

    def _bptt(self, xp, g, w_hh, H, tmp):
        hs, m = self.hs, self.mask
        T = hs.shape[0]
        deriv = _POOL.get(xp, hs.shape, hs.dtype)
        tmp.append(deriv)
        if self.nonlinearity == "relu":
            xp.greater(hs, 0, out=deriv)
        else:
            xp.multiply(hs, hs, out=deriv)
            xp.subtract(1, deriv, out=deriv)
        dpre = deriv  # overwritten step by step, in the order it is read
        dh = xp.zeros_like(self.states[0]) if m is None else g[T].copy()
        buf = xp.empty_like(dh)
        for t in self._back_steps(T):
            dn = self._grad_at(t, dh, g[t], buf)
            xp.multiply(dn, deriv[t], out=dpre[t])
            back = dpre[t] @ w_hh
            if m is None:
                dh = back
            else:
                dh += back
        return dpre, dpre, (dh,)


class LSTMSeq(_Recurrent):
    """LSTM layer, gates i, f, g, o.

    Output (T+1, B, H): h_t for t < T, then the last cell state c_n in slot T (and h_n in
    slot T+1 when masked). With ``proj`` (h_t = W_hr (o * tanh(c_t)), size P) the output is
    flat: h_t (T*B*P), c_n (B*H), [h_n (B*P)].
    VJP per step: dc = dc_{t+1} + dh * o * (1 - tanh(c)^2); d gates = (dc*g, dc*c_{t-1},
    dc*i, dh*tanh(c)) times the activation derivatives; dh_{t-1} = d gates @ W_hh.

    Inside, the gate activations are kept gate-major per step, (T, 4, B, H) in the order
    i, f, o, g: each gate of a step is one contiguous block (NumPy's fast path), a step's
    gates are one block, and the three sigmoid gates are side by side (one pass each for
    their scaling and their derivatives).
    """

    scales = (0.5, 0.5, 1.0, 0.5)
    keeps_projection = True

    def _outputs(self, xp, T, B, P, Hc, dt):
        """The output array and its (h_t (T,B,P), c_n (B,Hc), h_n (B,P) or None) views.

        Without projection (P == Hc) it is (T+1[+1], B, H); with one, a flat array."""
        masked = self.mask is not None
        if self.w_hr is None:
            out = xp.empty((T + 1 + masked, B, Hc), dtype=dt)
            return out, out[:T], out[T], (out[T + 1] if masked else None)
        n_h = T * B * P
        out = xp.empty(n_h + B * Hc + B * P * masked, dtype=dt)
        hn = out[n_h + B * Hc:].reshape(B, P) if masked else None
        return out, out[:n_h].reshape(T, B, P), out[n_h:n_h + B * Hc].reshape(B, Hc), hn

    def _project(self, xp, x, w_ih, b_in):
        """No projection up front: each step multiplies [x_t, h_{t-1}] by the stacked
        weights in one GEMM (K = I + H) straight into the step's gate block, which saves a
        pass over every step's gates. Returns the gate buffer (T, 4, B, Hc), gate order
        i, f, o, g, filled by ``_loop``."""
        T, B, I = x.shape
        Hc = w_ih.shape[0] // 4
        self.x_in, self.w_in = x, w_ih.reshape(4, Hc, I)[list(_GATES)].transpose(0, 2, 1)
        self.b_in = None if b_in is None else b_in.reshape(4, Hc)[list(_GATES)][:, None, :]
        return self._scratch((T, 4, B, Hc), x.dtype)

    def _loop(self, xp, xg, w_hh_t, b_hh, states, steps, H):
        T, _, B, Hc = xg.shape
        dt, m, P = xg.dtype, self.mask, w_hh_t.shape[0]
        x, I = self.x_in, self.x_in.shape[2]
        h, c = states if m is None else (states[0].copy(), states[1].copy())
        # (4, I + P, Hc), gate-major like xg: [x_t, h] @ w4 gives each gate's block contiguous
        w4 = xp.empty((4, I + P, Hc), dtype=dt)
        w4[:, :I] = self.w_in
        w4[:, I:] = w_hh_t.reshape(P, 4, Hc)[:, list(_GATES)].transpose(1, 0, 2)
        xh = xp.empty((B, I + P), dtype=dt)
        out, out_h, out_c, out_hn = self._outputs(xp, T, B, H, Hc, dt)
        cs, tcs = self._scratch((T, B, Hc), dt), self._scratch((T, B, Hc), dt)
        proj = self.w_hr is not None
        if proj:
            hf, w_hr_t = self._scratch((T, B, Hc), dt), xp.ascontiguousarray(self.w_hr.T)
            self.hf = hf
        if m is not None:
            self.cp = self._scratch((T, B, Hc), dt)
        tmp = xp.empty((B, Hc), dtype=dt)
        kernels = _rnn_kernels.lstm_kernels(xp, dt)
        half = dt.type(0.5)
        for t in steps:
            a = xg[t]  # (4, B, Hc): i, f, o, g
            xh[:, :I] = x[t]
            xh[:, I:] = h
            xp.matmul(xh, w4, out=a)
            if self.b_in is not None:
                a += self.b_in
            xp.tanh(a, out=a)
            ct = cs[t]
            if kernels is not None:  # the same operations in one pass (numba)
                kernels[0](a.reshape(-1), c.reshape(-1), ct.reshape(-1), half)
            else:
                sig = a[:3]  # sigmoid(x) = 0.5 tanh(x / 2) + 0.5, halving is in the weights
                sig *= half
                sig += half
                xp.multiply(a[1], c, out=ct)
                xp.multiply(a[0], a[3], out=tmp)
                ct += tmp
            xp.tanh(ct, out=tcs[t])
            if proj:
                xp.multiply(a[2], tcs[t], out=hf[t])
                xp.matmul(hf[t], w_hr_t, out=out_h[t])
            else:
                xp.multiply(a[2], tcs[t], out=out_h[t])
            if m is None:
                h, c = out_h[t], ct
            else:
                self.hp[t], self.cp[t] = h, c
                self._carry(t, h, out_h[t])
                xp.copyto(c, ct, where=self.keep_rows[t])
        out_c[...] = c
        if out_hn is not None:
            out_hn[...] = h
        self.acts, self.cs, self.tcs, self.hs = xg, cs, tcs, out_h
        self.x_in = self.w_in = self.b_in = None
        return out

    def _bptt(self, xp, g, w_hh, H, tmp):
        acts, cs, tcs, m = self.acts, self.cs, self.tcs, self.mask
        T, _, B, Hc = acts.shape
        dt, proj = acts.dtype, self.w_hr is not None
        _, g_h, g_c, g_hn = self._outputs_views(g, T, B, H, Hc)
        dgates = _POOL.get(xp, (T, B, 4 * Hc), dt)  # PyTorch's gate order, for the GEMMs
        tmp.append(dgates)
        d4 = dgates.reshape(T, B, 4, Hc)
        dh = xp.zeros_like(self.states[0]) if m is None else g_hn.copy()
        dc = g_c.copy()
        t1, cbuf, s3 = xp.empty_like(dc), xp.empty_like(dc), xp.empty((3, B, Hc), dtype=dt)
        hbuf, back = xp.empty_like(dh), xp.empty_like(dh)
        if proj:
            dhs = _POOL.get(xp, (T, B, H), dt)  # gradient of each projected h_t
            tmp.append(dhs)
            dhf = xp.empty_like(dc)
        first, step_back = (T - 1, 1) if self.reverse else (0, -1)
        kernel = None if m is not None or proj else _rnn_kernels.lstm_kernels(xp, dt)
        if kernel is not None:
            self._bptt_fused(kernel[1], g_h, w_hh, dgates, dh, dc)
            return dgates, dgates, (dh, dc)
        for t in self._back_steps(T):
            a, tc = acts[t], tcs[t]
            i, f, o, gg = a[0], a[1], a[2], a[3]
            if m is not None:
                cp = self.cp[t]
            else:
                cp = self.states[1] if t == first else cs[t + step_back]
            dhn = self._grad_at(t, dh, g_h[t], hbuf)
            if m is None:
                dcn = dc
            else:
                xp.multiply(dc, m[t], out=cbuf)
                dc *= self.inv_mask[t]
                dcn = cbuf
            if proj:
                dhs[t] = dhn
                xp.matmul(dhn, self.w_hr, out=dhf)
                dhn = dhf
            xp.multiply(tc, tc, out=t1)  # dc += dh * o * (1 - tanh(c)^2)
            xp.subtract(1, t1, out=t1)
            t1 *= o
            t1 *= dhn
            dcn += t1
            xp.subtract(1, a[:3], out=s3)  # s (1 - s) of i, f, o in one pass
            s3 *= a[:3]
            d = d4[t]
            xp.multiply(dcn, gg, out=d[:, 0])
            d[:, 0] *= s3[0]
            xp.multiply(dcn, cp, out=d[:, 1])
            d[:, 1] *= s3[1]
            xp.multiply(dhn, tc, out=d[:, 3])
            d[:, 3] *= s3[2]
            xp.multiply(gg, gg, out=t1)  # d g = dc * i * (1 - g^2)
            xp.subtract(1, t1, out=t1)
            t1 *= i
            xp.multiply(dcn, t1, out=d[:, 2])
            if m is None:
                xp.matmul(dgates[t], w_hh, out=dh)
                dc *= f
            else:
                xp.matmul(dgates[t], w_hh, out=back)
                dh += back
                xp.multiply(dcn, f, out=t1)
                dc += t1
        if proj:
            self.dw_hr = dhs.reshape(T * B, H).T @ self.hf.reshape(T * B, Hc)
        return dgates, dgates, (dh, dc)

    def _bptt_fused(self, kernel, g_h, w_hh, dgates, dh, dc):
        """The unmasked, unprojected BPTT loop with the compiled step kernel: one pass per
        step writes the gate gradients gate-major, copied into ``dgates`` (B, 4H) rows."""
        xp, acts = self.xp, self.acts
        T, _, B, Hc = acts.shape
        flat = [xp.ascontiguousarray(v).reshape(T, -1) for v in (acts, self.tcs, self.cs, g_h)]
        c0 = xp.ascontiguousarray(self.states[1]).reshape(-1)
        step = xp.empty((4, B, Hc), dtype=acts.dtype)
        dh_f, dc_f = dh.reshape(-1), dc.reshape(-1)
        d4 = dgates.reshape(T, B, 4, Hc)
        first, back = (T - 1, 1) if self.reverse else (0, -1)
        one = acts.dtype.type(1)
        for t in self._back_steps(T):
            cp = c0 if t == first else flat[2][t + back]
            kernel(flat[0][t], flat[1][t], cp, dh_f, flat[3][t], dc_f, step, d4[t], one)
            xp.matmul(dgates[t], w_hh, out=dh)

    def _outputs_views(self, g, T, B, P, Hc):
        """Split an output-shaped gradient like :meth:`_outputs` splits the output."""
        masked = self.mask is not None
        if self.w_hr is None:
            return g, g[:T], g[T], (g[T + 1] if masked else None)
        n_h = T * B * P
        hn = g[n_h + B * Hc:].reshape(B, P) if masked else None
        return g, g[:n_h].reshape(T, B, P), g[n_h:n_h + B * Hc].reshape(B, Hc), hn


class GRUSeq(_Recurrent):
    """GRU layer, gates r, z, n: h_t = (1 - z) * n + z * h_{t-1}.

    Output (T, B, H) (plus h_n in slot T when masked). VJP per step: dn = dh (1-z)(1-n^2);
    dz = dh (h_{t-1} - n) z(1-z); dr = dn (W_hn h + b_hn) r(1-r);
    dh_{t-1} = dh z + [dr, dz, dn r] @ W_hh.
    """

    scales = (0.5, 0.5, 1.0)

    def _input_bias(self, b_ih, b_hh, H):
        b = b_ih.copy()
        b[:2 * H] += b_hh[:2 * H]
        return b

    def _loop(self, xp, xg, w_hh_t, b_hh, states, steps, H):
        T, B = xg.shape[:2]
        dt, m = xg.dtype, self.mask
        h = states[0] if m is None else states[0].copy()
        out = xp.empty((T + (m is not None), B, H), dtype=dt)
        rz = self._scratch((T, B, 2 * H), dt)
        ns, ghn = self._scratch((T, B, H), dt), self._scratch((T, B, H), dt)
        b_n = b_hh[2 * H:] if b_hh is not None else None
        tmp = xp.empty((B, H), dtype=dt)
        gh = xp.empty((B, 3 * H), dtype=dt)
        for t in steps:
            xp.matmul(h, w_hh_t, out=gh)
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
            h = self._advance(t, h, out[t])
        if m is not None:
            out[T] = h
        self.rz, self.ns, self.ghn, self.hs = rz, ns, ghn, out[:T]
        return out

    def _bptt(self, xp, g, w_hh, H, tmp):
        rz, ns, ghn, hs, m = self.rz, self.ns, self.ghn, self.hs, self.mask
        T, B = hs.shape[:2]
        dt = hs.dtype
        r, z = rz[..., :H], rz[..., H:]
        hprev = self._prev(hs, self.states[0], tmp, recorded=None if m is None else self.hp)
        d_n, d_z, d_r = (_POOL.get(xp, (T, B, H), dt) for _ in range(3))
        dxg, dhg = _POOL.get(xp, (T, B, 3 * H), dt), _POOL.get(xp, (T, B, 3 * H), dt)
        tmp += [d_n, d_z, d_r, dxg, dhg]
        xp.multiply(ns, ns, out=d_n)
        xp.subtract(1, d_n, out=d_n)
        xp.subtract(1, z, out=d_z)
        d_n *= d_z                                  # (1 - z)(1 - n^2)
        d_z *= z
        xp.subtract(hprev, ns, out=d_r)
        d_z *= d_r                                  # (h_prev - n) z (1 - z)
        xp.subtract(1, r, out=d_r)
        d_r *= r
        d_r *= ghn                                  # (W_hn h + b_hn) r (1 - r)
        dh = xp.zeros_like(self.states[0]) if m is None else g[T].copy()
        buf, zbuf = xp.empty_like(dh), xp.empty_like(dh)
        for t in self._back_steps(T):
            dn = self._grad_at(t, dh, g[t], buf)
            dx_t, dh_t = dxg[t], dhg[t]
            xp.multiply(dn, d_n[t], out=dx_t[:, 2 * H:])
            xp.multiply(dn, d_z[t], out=dx_t[:, H:2 * H])
            xp.multiply(dx_t[:, 2 * H:], d_r[t], out=dx_t[:, :H])
            dh_t[:, :2 * H] = dx_t[:, :2 * H]
            xp.multiply(dx_t[:, 2 * H:], r[t], out=dh_t[:, 2 * H:])
            if m is None:
                dh *= z[t]
            else:
                xp.multiply(dn, z[t], out=zbuf)
                dh += zbuf
            dh += dh_t @ w_hh
        return dxg, dhg, (dh,)
