"""Whole-sequence recurrent primitives: one layer, one direction, all time steps.

Each Function takes the time-major input ``x (T, B, I)``, ``w_ih (G*H, I)``, ``w_hh (G*H, H)``,
optionally ``b_ih, b_hh (G*H,)`` and the initial state(s) ``(B, H)``. Forward computes the
input projections of all steps in one GEMM, then loops over time on raw arrays; backward
runs back-propagation through time on arrays (one GEMM per step for the recurrence) and
finishes with GEMM-shaped weight/input gradients. Gate order is PyTorch's: LSTM
``i, f, g, o``; GRU ``r, z, n`` with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.

Sigmoids are computed as ``0.5 * tanh(x / 2) + 0.5`` with the halving folded into scaled
copies of the gate rows of the weights (exact: a power of two). Large scratch arrays come
from a small free list (``_POOL``) and go back to it once backward is done with them, so
repeated training steps reuse memory instead of faulting in fresh pages.
"""
from __future__ import annotations

from typing import Any

from softgrad.autograd.function import Function


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

    Inputs: ``x, w_ih, w_hh, [b_ih, b_hh], h0, [c0]``; params ``bias``, ``reverse`` and
    ``nonlinearity`` ('tanh' or 'relu', plain RNN only).
    """

    # per-gate scale of the pre-activation fed to tanh (0.5 for sigmoid gates)
    scales: tuple = (1.0,)
    # whether backward reads the projections (LSTM keeps its activations there)
    keeps_projection = False

    def forward(self, x: Any, w_ih: Any, w_hh: Any, *rest: Any, bias: bool = True,
                reverse: bool = False, nonlinearity: str = "tanh") -> Any:
        xp = self.xp
        b_ih, b_hh = (rest[0], rest[1]) if bias else (None, None)
        states = rest[2:] if bias else rest
        self.bias, self.reverse, self.nonlinearity = bias, reverse, nonlinearity
        self.pooled: list = []
        T, B, _ = x.shape
        H = w_hh.shape[1]
        scale = self._scale_vector(H, x.dtype)
        w_ih_s = w_ih * scale[:, None] if scale is not None else w_ih
        xg = self._scratch((T, B, w_ih.shape[0]), x.dtype, keep=self.keeps_projection)
        xp.matmul(x.reshape(T * B, -1), w_ih_s.T, out=xg.reshape(T * B, -1))
        if bias:
            xg += self._input_bias(b_ih, b_hh, H) * (scale if scale is not None else 1)
        w_hh_s = w_hh * scale[:, None] if scale is not None else w_hh
        b_hh_s = None
        if bias:
            b_hh_s = b_hh * scale if scale is not None else b_hh
        steps = range(T - 1, -1, -1) if reverse else range(T)
        # a contiguous (H, G*H) copy: h @ w makes a faster GEMM than h @ w_hh.T
        out = self._loop(xp, xg, xp.ascontiguousarray(w_hh_s.T), b_hh_s, states, steps, H)
        if not self.keeps_projection:
            _POOL.give(xp, xg)
        self.save_for_backward(x, w_ih, w_hh, *states, out)  # out: in-place edits are caught
        self.x_ref, self.w_ih_ref, self.w_hh_ref, self.states = x, w_ih, w_hh, states
        return out

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
    def _prev(self, seq: Any, first: Any, tmp: list, out: Any = None) -> Any:
        """State fed into each step, (T, B, H), in time order: ``seq`` shifted by one.

        Written into ``out`` when given, else into a pooled array recorded in ``tmp``."""
        if out is None:
            out = _POOL.get(self.xp, seq.shape, seq.dtype)
            tmp.append(out)
        if self.reverse:
            out[:-1], out[-1] = seq[1:], first
        else:
            out[0], out[1:] = first, seq[:-1]
        return out

    def backward(self, g: Any) -> tuple:
        if self._graph:
            raise RuntimeError(f"double backward through {type(self).__name__} (a fused "
                               "recurrent layer) is not supported")
        xp = self.xp
        x, w_ih, w_hh = self.x_ref, self.w_ih_ref, self.w_hh_ref
        T, B, I = x.shape
        H = w_hh.shape[1]
        need = self.needs_input_grad
        tmp: list = []
        dxg, dhg, dstates = self._bptt(xp, g, w_hh, H, tmp)
        G = dxg.shape[-1]
        dxg2 = dxg.reshape(T * B, G)
        dhg2 = dhg.reshape(T * B, G)
        dx = (dxg2 @ w_ih).reshape(T, B, I) if need[0] else None
        dw_ih = dw_hh = None
        if dxg is dhg and need[1] and need[2]:
            # one GEMM for both weights: d gates^T @ [x_t | h_{t-1}]
            xh = _POOL.get(xp, (T, B, I + H), x.dtype)
            tmp.append(xh)
            xh[..., :I] = x
            self._prev(self.hs, self.states[0], tmp, out=xh[..., I:])
            dw = dxg2.T @ xh.reshape(T * B, I + H)
            dw_ih, dw_hh = xp.ascontiguousarray(dw[:, :I]), xp.ascontiguousarray(dw[:, I:])
        else:
            dw_ih = dxg2.T @ x.reshape(T * B, I) if need[1] else None
            if need[2]:
                hprev = self._prev(self.hs, self.states[0], tmp)
                dw_hh = dhg2.T @ hprev.reshape(T * B, H)
        grads = [dx, dw_ih, dw_hh]
        if self.bias:
            ones = xp.ones(T * B, dtype=dxg.dtype)  # a GEMV sums rows faster than .sum(0)
            grads.append(ones @ dxg2 if need[3] else None)
            grads.append(ones @ dhg2 if need[4] else None)
        offset = len(grads)
        for k, d in enumerate(dstates):
            grads.append(d if need[offset + k] else None)
        _POOL.give(xp, *tmp)
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

    def _bptt(self, xp, g, w_hh, H, tmp):
        hs = self.hs
        deriv = _POOL.get(xp, hs.shape, hs.dtype)
        tmp.append(deriv)
        if self.nonlinearity == "relu":
            xp.greater(hs, 0, out=deriv)
        else:
            xp.multiply(hs, hs, out=deriv)
            xp.subtract(1, deriv, out=deriv)
        dpre = deriv  # overwritten step by step, in the order it is read
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

    scales = (0.5, 0.5, 1.0, 0.5)
    keeps_projection = True

    def _loop(self, xp, xg, w_hh_t, b_hh, states, steps, H):
        h, c = states
        T, B = xg.shape[:2]
        dt = xg.dtype
        mul = xp.repeat(xp.asarray((0.5, 0.5, 1.0, 0.5), dtype=dt), H)
        add = xp.repeat(xp.asarray((0.5, 0.5, 0.0, 0.5), dtype=dt), H)
        out = xp.empty((T + 1, B, H), dtype=dt)
        cs, tcs = self._scratch((T, B, H), dt), self._scratch((T, B, H), dt)
        tmp = xp.empty((B, H), dtype=dt)
        rec = xp.empty((B, 4 * H), dtype=dt)
        for t in steps:
            a = xg[t]
            xp.matmul(h, w_hh_t, out=rec)
            a += rec
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

    def _bptt(self, xp, g, w_hh, H, tmp):
        acts, cs, tcs = self.acts, self.cs, self.tcs
        T, B = acts.shape[:2]
        dt = acts.dtype
        a4 = acts.reshape(T, B, 4, H)
        i, f, gg, o = a4[:, :, 0], a4[:, :, 1], a4[:, :, 2], a4[:, :, 3]
        # per-gate factors, all steps at once: d pre-gate = (dc, dc, dc, dh) * factor
        fac = _POOL.get(xp, (T, B, 4, H), dt)
        dcdh = _POOL.get(xp, (T, B, H), dt)
        dgates = _POOL.get(xp, (T, B, 4, H), dt)
        tmp += [fac, dcdh, dgates]
        xp.subtract(1, a4, out=fac)
        fac *= a4                                   # s (1 - s) for the sigmoid gates
        xp.multiply(gg, gg, out=fac[:, :, 2])
        xp.subtract(1, fac[:, :, 2], out=fac[:, :, 2])  # 1 - g^2
        fac[:, :, 0] *= gg
        fac[:, :, 1] *= self._prev(cs, self.states[1], tmp)
        fac[:, :, 2] *= i
        fac[:, :, 3] *= tcs
        xp.multiply(tcs, tcs, out=dcdh)
        xp.subtract(1, dcdh, out=dcdh)
        dcdh *= o
        dh = xp.zeros_like(self.states[0])
        dc = g[T].copy()
        dtmp = xp.empty_like(dh)
        steps = range(T) if self.reverse else range(T - 1, -1, -1)
        for t in steps:
            dh += g[t]
            xp.multiply(dh, dcdh[t], out=dtmp)
            dc += dtmp
            d = dgates[t]
            xp.multiply(dc[:, None, :], fac[t, :, :3], out=d[:, :3])
            xp.multiply(dh, fac[t, :, 3], out=d[:, 3])
            dc *= f[t]
            dh = d.reshape(B, 4 * H) @ w_hh
        dgates = dgates.reshape(T, B, 4 * H)
        return dgates, dgates, (dh, dc)


class GRUSeq(_Recurrent):
    """GRU layer, gates r, z, n: h_t = (1 - z) * n + z * h_{t-1}.

    Output (T, B, H). VJP per step: dn = dh (1-z)(1-n^2); dz = dh (h_{t-1} - n) z(1-z);
    dr = dn (W_hn h + b_hn) r(1-r); dh_{t-1} = dh z + [dr, dz, dn r] @ W_hh.
    """

    scales = (0.5, 0.5, 1.0)

    def _input_bias(self, b_ih, b_hh, H):
        b = b_ih.copy()
        b[:2 * H] += b_hh[:2 * H]
        return b

    def _loop(self, xp, xg, w_hh_t, b_hh, states, steps, H):
        h = states[0]
        T, B = xg.shape[:2]
        dt = xg.dtype
        out = xp.empty((T, B, H), dtype=dt)
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
            h = out[t]
        self.rz, self.ns, self.ghn, self.hs = rz, ns, ghn, out
        return out

    def _bptt(self, xp, g, w_hh, H, tmp):
        rz, ns, ghn, hs = self.rz, self.ns, self.ghn, self.hs
        T, B = hs.shape[:2]
        dt = hs.dtype
        r, z = rz[..., :H], rz[..., H:]
        hprev = self._prev(hs, self.states[0], tmp)
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
