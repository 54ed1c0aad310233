"""Optional one-pass kernels for the LSTM time loop, compiled with numba (the ``fast`` extra).

Each kernel does, element by element, the very float operations of the NumPy path in
``ops.rnn.LSTMSeq`` in the same order (no fused multiply-adds: numba's default strict
math), so results are bit-for-bit those of the NumPy path (``tests/nn/test_rnn_fast.py``).
The NumPy path makes one pass over memory per operation, about twenty per backward time
step; a kernel makes one. Never required: without numba, or with ``SOFTGRAD_NUMBA=0``,
:func:`lstm_kernels` returns None and the NumPy path runs.
"""
from __future__ import annotations

from typing import Any

from softgrad.ops._numba import compiled, enabled


def _lstm_gates(a, c, ct, half):  # pragma: no cover - runs compiled
    """Flat, C-contiguous arrays of n = B*H elements: ``a`` (4n), tanh of a step's
    pre-activations of gates i, f, o, g; the sigmoid gates become a * 0.5 + 0.5 in place,
    and ct = f * c + i * g. ``half``: 0.5 in the arrays' dtype."""
    n = c.size
    for k in range(n):
        i = a[k] * half + half
        f = a[n + k] * half + half
        a[k] = i
        a[n + k] = f
        a[2 * n + k] = a[2 * n + k] * half + half
        ct[k] = f * c[k] + i * a[3 * n + k]


def _lstm_back(a, tc, cp, dh, gh, dc, d, out, one):  # pragma: no cover - runs compiled
    """One backward step without a mask, on flat C-contiguous arrays of n = B*H elements:
    ``a`` (4n), the step's gates i, f, o, g; tc = tanh(c_t); cp = c_{t-1}; dh + gh: the
    gradient reaching h_t; dc: the one reaching c_t (becomes the one reaching c_{t-1}); d
    (4, B, H) scratch: the pre-activation gradients, gate-major in PyTorch's order i, f, g,
    o (gate-major writes let the loop vectorize), then copied to ``out`` (B, 4, H).
    ``one``: 1 in the arrays' dtype."""
    n = tc.size
    df = d.reshape(-1)
    for k in range(n):
        i = a[k]
        f = a[n + k]
        o = a[2 * n + k]
        g = a[3 * n + k]
        t = tc[k]
        dhn = dh[k] + gh[k]
        dcn = dc[k] + (one - t * t) * o * dhn
        df[k] = dcn * g * ((one - i) * i)
        df[n + k] = dcn * cp[k] * ((one - f) * f)
        df[2 * n + k] = dcn * ((one - g * g) * i)
        df[3 * n + k] = dhn * t * ((one - o) * o)
        dc[k] = dcn * f
    G, B, H = d.shape
    for b in range(B):
        for q in range(G):
            for j in range(H):
                out[b, q, j] = d[q, b, j]


def _compile() -> Any:
    return compiled("lstm", _lstm_gates, _lstm_back)


def lstm_kernels(xp: Any, dtype: Any) -> tuple | None:
    """``(gates, back)`` compiled kernels for NumPy float32/float64 arrays, or None."""
    if getattr(xp, "__name__", "") != "numpy" or dtype.kind != "f" or dtype.itemsize < 4:
        return None
    if not enabled():
        return None
    return _compile()
