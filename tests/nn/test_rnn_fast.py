"""The optional numba kernels of the LSTM time loop (ops/_rnn_kernels.py) give the NumPy
path's results bit for bit: forward outputs and every gradient, both directions."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
from softgrad.ops import _rnn_kernels

numba = pytest.importorskip("numba")


def _run(monkeypatch, fused: bool, dtype, bidirectional: bool, layers: int):
    monkeypatch.setenv("SOFTGRAD_NUMBA", "1" if fused else "0")
    sg.manual_seed(0)
    lstm = nn.LSTM(5, 7, num_layers=layers, bidirectional=bidirectional, dtype=dtype)
    rng = np.random.default_rng(1)
    x = sg.tensor(rng.standard_normal((6, 3, 5)).astype(dtype), requires_grad=True)
    h0 = sg.tensor(rng.standard_normal((layers * (1 + bidirectional), 3, 7)).astype(dtype),
                   requires_grad=True)
    c0 = sg.tensor(rng.standard_normal(h0.shape).astype(dtype), requires_grad=True)
    out, (hn, cn) = lstm(x, (h0, c0))
    w = sg.tensor(rng.standard_normal(out.shape).astype(dtype))
    ((out * w).sum() + (hn * 2).sum() + (cn * 3).sum()).backward()
    res = [out.detach().numpy(), hn.detach().numpy(), cn.detach().numpy(), x.grad.numpy(),
           h0.grad.numpy(), c0.grad.numpy()]
    return res + [p.grad.numpy() for p in lstm.parameters()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bidirectional,layers", [(False, 1), (True, 2)])
def test_lstm_kernels_match_numpy_bit_for_bit(monkeypatch, dtype, bidirectional, layers):
    assert _rnn_kernels.lstm_kernels(np, np.dtype(dtype)) is not None
    plain = _run(monkeypatch, False, dtype, bidirectional, layers)
    fused = _run(monkeypatch, True, dtype, bidirectional, layers)
    assert len(plain) == len(fused)
    for a, b in zip(plain, fused):
        assert a.dtype == dtype and np.array_equal(a, b)


def test_kernels_are_off_when_asked_and_for_other_array_modules(monkeypatch):
    monkeypatch.setenv("SOFTGRAD_NUMBA", "0")
    assert _rnn_kernels.lstm_kernels(np, np.dtype(np.float32)) is None
    monkeypatch.setenv("SOFTGRAD_NUMBA", "1")
    assert _rnn_kernels.lstm_kernels(np, np.dtype(np.float16)) is None

    class Other:
        __name__ = "cupy"

    assert _rnn_kernels.lstm_kernels(Other(), np.dtype(np.float32)) is None


@pytest.mark.parametrize("dtype", [np.float32])
def test_gelu_kernels_match_numpy_bit_for_bit(monkeypatch, dtype):
    import softgrad.nn.functional as F

    x0 = np.random.default_rng(3).standard_normal((3, 70, 50)).astype(dtype) * 4
    x0[0, 0, :4] = [0.0, -0.0, 30.0, -30.0]
    g0 = np.random.default_rng(4).standard_normal(x0.shape).astype(dtype)
    res = []
    for fused in ("0", "1"):
        monkeypatch.setenv("SOFTGRAD_NUMBA", fused)
        x = sg.tensor(x0, requires_grad=True)
        y = F.gelu(x)
        y.backward(sg.tensor(g0))
        res.append((y.detach().numpy(), x.grad.numpy()))
    from softgrad.ops import _gelu_kernels
    assert _gelu_kernels.gelu_kernels(np, x0) is not None
    assert _gelu_kernels.gelu_kernels(np, x0.astype(np.float64)) is None  # NumPy path
    for a, b in zip(*res):
        assert a.dtype == dtype and np.array_equal(a, b)
