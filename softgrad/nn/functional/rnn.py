"""Recurrent layers as functions of their weights (the bodies of ``nn.RNN/LSTM/GRU``).

Not part of PyTorch's public ``torch.nn.functional``; nothing here is re-exported.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from softgrad import backend
from softgrad import functions as SF
from softgrad.autograd import grad_mode
from softgrad.nn.functional.linear import dropout as _dropout
from softgrad.ops.rnn import GRUSeq, LSTMSeq, RNNTanhSeq
from softgrad.tensor import Tensor

__all__: list[str] = []

_SEQ = {"RNN_TANH": RNNTanhSeq, "RNN_RELU": RNNTanhSeq, "LSTM": LSTMSeq, "GRU": GRUSeq}


def rnn_direction(mode: str, x: Tensor, weights: Sequence[Tensor], h0: Tensor,
                  c0: Tensor | None = None, reverse: bool = False, mask: Any = None,
                  proj: bool = False) -> tuple:
    """One layer, one direction over a time-major sequence.

    Args:
        mode: 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'.
        x: (T, B, I). weights: ``(w_ih, w_hh)`` or ``(w_ih, w_hh, b_ih, b_hh)``, then
            ``w_hr`` (P, H) when ``proj`` (LSTM with projections).
        h0, c0: (B, H) initial states (``c0`` for LSTM only).
        mask: optional (T, B, 1) array, 1 where step t of sequence b exists (padded batches:
            padded steps keep the state and output zeros).
    Returns:
        (output (T, B, H), h_n (B, H), c_n (B, H) or None).
    """
    fn = _SEQ[mode]
    bias = len(weights) - proj == 4
    states: tuple[Any, ...] = (h0, c0) if mode == "LSTM" else (h0,)
    if proj:
        weights, states = weights[:-1], (*states, weights[-1])
    params = {"nonlinearity": "relu"} if mode == "RNN_RELU" else {}
    inputs = (x, *weights, *states)
    record = grad_mode.is_grad_enabled() and any(t.requires_grad for t in inputs)
    packed = Tensor._apply(fn, *inputs, bias=bias, reverse=reverse, mask=mask, record=record,
                           proj=proj, **params)
    T = x.shape[0]
    last = 0 if reverse else T - 1
    if proj:  # flat output: h_t (T*B*P), c_n (B*H), [h_n (B*P)]
        B, P, H = x.shape[1], states[-1].shape[0], states[-1].shape[1]
        n_h = T * B * P
        out = packed[:n_h].reshape(T, B, P)
        c_n = packed[n_h:n_h + B * H].reshape(B, H)
        h_n = packed[n_h + B * H:].reshape(B, P) if mask is not None else out[last]
        return out, h_n, c_n
    if mask is not None:  # the final states follow the outputs
        if mode == "LSTM":
            return packed[:T], packed[T + 1], packed[T]
        return packed[:T], packed[T], None
    if mode == "LSTM":
        return packed[:T], packed[last], packed[T]
    return packed, packed[last], None


def rnn_stack(mode: str, x: Tensor, weights: Sequence[Sequence[Tensor]], num_layers: int,
              bidirectional: bool, h0: Tensor, c0: Tensor | None, dropout: float,
              training: bool, mask: Any = None, proj: bool = False) -> tuple:
    """Multi-layer (optionally bidirectional) recurrence over a time-major input.

    Args:
        x: (T, B, I). weights: one tuple per (layer, direction), layer-major.
        h0, c0: (num_layers * D, B, H).
    Returns:
        (output (T, B, D*H), h_n (num_layers*D, B, H), c_n or None).
    """
    dirs = 2 if bidirectional else 1
    hs, cs = [], []
    layer_in = x
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            out, h_n, c_n = rnn_direction(mode, layer_in, weights[k], h0[k],
                                          None if c0 is None else c0[k], reverse=d == 1,
                                          mask=mask, proj=proj)
            outs.append(out)
            hs.append(h_n)
            cs.append(c_n)
        layer_in = outs[0] if dirs == 1 else SF.cat(outs, dim=-1)
        if dropout > 0 and training and layer < num_layers - 1:
            layer_in = _dropout(layer_in, dropout, True)
    h_n = SF.stack(hs) if len(hs) > 1 else hs[0].unsqueeze(0)
    c_n = None
    if c0 is not None:
        c_n = SF.stack(cs) if len(cs) > 1 else cs[0].unsqueeze(0)
    return layer_in, h_n, c_n


def zeros_state(n: int, batch: int, hidden: int, like: Tensor) -> Tensor:
    """A (n, batch, hidden) zero state with ``like``'s dtype and device (no gradient)."""
    arr = backend.np.zeros((n, batch, hidden), dtype=like._data.dtype)
    return Tensor._wrap(backend.to_device(arr, like.device))
