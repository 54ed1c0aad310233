"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and ``RNNCell``, ``LSTMCell``, ``GRUCell``.

PyTorch's parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``...), layouts (gates stacked
along dim 0: LSTM ``i, f, g, o``, GRU ``r, z, n``), init U(-1/sqrt(H), 1/sqrt(H)) and
``state_dict`` keys, so weights copy across with ``load_state_dict``. Each layer/direction is
one whole-sequence primitive (``softgrad.ops.rnn``).
"""
from __future__ import annotations

import math
from typing import Any

from softgrad import backend
from softgrad.nn import init
from softgrad.nn.functional import rnn as FR
from softgrad.nn.modules.module import Module
from softgrad.nn.modules.normalization import _empty
from softgrad.nn.parameter import Parameter
from softgrad.nn.utils.rnn import PackedSequence, _positions, pad_packed_sequence
from softgrad.tensor import Tensor

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """Shared body of ``RNN``, ``LSTM`` and ``GRU``.

    Args:
        mode: 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'.
        input_size, hidden_size: features of ``x`` and of ``h``.
        num_layers: stacked layers. Default: 1.
        bias: use ``b_ih`` and ``b_hh``. Default: True.
        batch_first: input/output are (N, L, H) instead of (L, N, H). Default: False.
        dropout: dropout on the outputs of every layer but the last (training only).
        bidirectional: add a reverse-time direction; outputs are concatenated. Default: False.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) \
                or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout}")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be a positive integer, got {hidden_size}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers}")
        if not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"proj_size should be a positive integer or zero to disable "
                             f"projections, got {proj_size}")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"proj_size ({proj_size}) has to be smaller than hidden_size "
                             f"({hidden_size})")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = proj_size
        dirs = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        real = proj_size or hidden_size  # size of h (and of each direction's output)
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            for d in range(dirs):
                in_size = input_size if layer == 0 else real * dirs
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                shapes: list[tuple[str, tuple[int, ...]]] = [("weight_ih", (gate, in_size)),
                                                             ("weight_hh", (gate, real))]
                if bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name + sfx, Parameter(_empty(shape, device, dtype)))
                    self._flat_weights_names.append(name + sfx)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """No-op kept for PyTorch compatibility (weights are always used as they are)."""

    @property
    def _flat_weights(self) -> list[Tensor]:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """Weights grouped per (layer, direction)."""
        per = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    def _check_input(self, input: Tensor) -> bool:
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor input, got "
                            f"{type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.ndim}D input of shape {tuple(input.shape)} instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]} (input shape "
                               f"{tuple(input.shape)})")
        if input._data.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}: expected a floating point input, got "
                            f"{input.dtype}")
        w = self._flat_weights[0]
        if input._data.dtype != w._data.dtype:
            raise RuntimeError(f"{type(self).__name__}: input must have the type {w.dtype} of "
                               f"the weights, got type {input.dtype}")
        return input.ndim == 3

    def _check_hidden(self, hx: Any, expected: tuple, batched: bool, what: str) -> Tensor:
        if not isinstance(hx, Tensor):
            raise TypeError(f"{type(self).__name__}: {what} must be a Tensor, got "
                            f"{type(hx).__name__}")
        if batched and hx.ndim != 3:
            raise RuntimeError(f"For batched 3-D input, {what} should also be 3-D but got "
                               f"{hx.ndim}-D tensor of shape {tuple(hx.shape)}")
        if not batched and hx.ndim != 2:
            raise RuntimeError(f"For unbatched 2-D input, {what} should also be 2-D but got "
                               f"{hx.ndim}-D tensor of shape {tuple(hx.shape)}")
        shape = expected if batched else (expected[0], expected[2])
        if tuple(hx.shape) != shape:
            raise RuntimeError(f"Expected {what} size {shape}, got {tuple(hx.shape)}")
        return hx if batched else hx.unsqueeze(1)

    def forward(self, input: Any, hx: Any = None) -> tuple:
        """Run the stack. Returns (output, h_n), or (output, (h_n, c_n)) for LSTM.

        Shape: input (L, N, H_in) / (N, L, H_in) if batch_first / (L, H_in) unbatched, or a
        ``PackedSequence`` (then the output is one too); output (L, N, D*H) likewise;
        h_n, c_n (num_layers*D, N, H) ((num_layers*D, H) unbatched).
        """
        packed, mask = None, None
        if isinstance(input, PackedSequence):
            packed = input
            x, lengths = pad_packed_sequence(packed)
            batched = self._check_input(x)
            steps = backend.np.arange(x.shape[0])[:, None] < lengths._data[None, :]
            mask = backend.to_device(steps[..., None].astype(x._data.dtype), x.device)
        else:
            batched = self._check_input(input)
            x = input if batched else input.unsqueeze(1)
            if batched and self.batch_first:
                x = x.transpose(0, 1)
        if x.shape[0] == 0:
            raise RuntimeError(f"{type(self).__name__}: expected a non-empty sequence, got "
                               f"input of shape {tuple(x.shape)}")
        n = self.num_layers * (2 if self.bidirectional else 1)
        expected = (n, x.shape[1], self.proj_size or self.hidden_size)
        expected_c = (n, x.shape[1], self.hidden_size)
        lstm = self.mode == "LSTM"
        if hx is None:
            h0 = FR.zeros_state(*expected, like=x)
            c0 = FR.zeros_state(*expected_c, like=x) if lstm else None
        elif lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError("LSTM: hx must be a tuple (h_0, c_0)")
            h0 = self._check_hidden(hx[0], expected, batched, "hidden")
            c0 = self._check_hidden(hx[1], expected_c, batched, "cell state")
        else:
            h0, c0 = self._check_hidden(hx, expected, batched, "hidden"), None
        out, h_n, c_n = FR.rnn_stack(self.mode, x, self.all_weights, self.num_layers,
                                     self.bidirectional, h0, c0, self.dropout, self.training,
                                     mask=mask, proj=self.proj_size > 0)
        if packed is not None:
            out = _repack(out, packed)
        elif not batched:
            out, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return (out, (h_n, c_n)) if lstm else (out, h_n)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        return s


def _repack(out: Tensor, like: PackedSequence) -> PackedSequence:
    """Pack a padded time-major output with the layout (batch sizes, order) of ``like``."""
    T, B = out.shape[0], out.shape[1]
    tt, ob, _ = _positions(like.batch_sizes, like.sorted_indices)
    data = out.reshape(T * B, out.shape[2])[backend.to_device(tt * B + ob, out.device)]
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or relu).

    Args: as ``RNNBase`` plus ``nonlinearity`` ('tanh' or 'relu').
    Example:
        >>> rnn = nn.RNN(10, 20, 2)
        >>> out, h_n = rnn(sg.randn(5, 3, 10))   # out (5, 3, 20), h_n (2, 3, 20)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory, gates ``i, f, g, o`` stacked in ``weight_ih_l*`` (4H, I).

    Example:
        >>> lstm = nn.LSTM(10, 20, 2, batch_first=True)
        >>> out, (h_n, c_n) = lstm(sg.randn(3, 5, 10))   # out (3, 5, 20)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit, gates ``r, z, n`` stacked in ``weight_ih_l*`` (3H, I).

    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


class RNNCellBase(Module):
    """One time step; parameters ``weight_ih (G*H, I)``, ``weight_hh (G*H, H)``, biases."""

    _mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        g = num_chunks * hidden_size
        self.weight_ih = Parameter(_empty((g, input_size), device, dtype))
        self.weight_hh = Parameter(_empty((g, hidden_size), device, dtype))
        if bias:
            self.bias_ih = Parameter(_empty((g,), device, dtype))
            self.bias_hh = Parameter(_empty((g,), device, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _weights(self) -> tuple:
        if self.bias:
            return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh
        return self.weight_ih, self.weight_hh

    def _prepare(self, input: Tensor, hx: Any, n_states: int) -> tuple:
        name = type(self).__name__
        if not isinstance(input, Tensor) or input.ndim not in (1, 2):
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {shape} instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got "
                               f"{input.shape[-1]} expected {self.input_size} (input shape "
                               f"{tuple(input.shape)})")
        if input._data.dtype != self.weight_ih._data.dtype:
            raise RuntimeError(f"{name}: input must have the type {self.weight_ih.dtype} of "
                               f"the weights, got type {input.dtype}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        shape = (x.shape[0], self.hidden_size)
        if hx is None:
            states = [FR.zeros_state(1, *shape, like=x)[0] for _ in range(n_states)]
        else:
            hs = list(hx) if n_states == 2 else [hx]
            if n_states == 2 and len(hs) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0)")
            states = []
            for h in hs:
                if not isinstance(h, Tensor) or h.ndim != input.ndim:
                    raise RuntimeError(f"{name}: Expected hidden to be {input.ndim}D like the "
                                       f"input, got {getattr(h, 'shape', type(h).__name__)}")
                h = h if batched else h.unsqueeze(0)
                if tuple(h.shape) != shape:
                    raise RuntimeError(f"{name}: hidden has size {tuple(h.shape)}, expected "
                                       f"{shape}")
                states.append(h)
        return x.unsqueeze(0), states, batched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s + (", bias=False" if not self.bias else "")


class RNNCell(RNNCellBase):
    """``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or relu). Shape: (N, I), (N, H) -> (N, H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        _, h_n, _ = FR.rnn_direction(mode, x, self._weights(), h)
        return h_n if batched else h_n.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step. Shape: (N, I), ((N, H), (N, H)) -> (h' (N, H), c' (N, H))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple:
        x, (h, c), batched = self._prepare(input, hx, 2)
        _, h_n, c_n = FR.rnn_direction("LSTM", x, self._weights(), h, c)
        return (h_n, c_n) if batched else (h_n.squeeze(0), c_n.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step. Shape: (N, I), (N, H) -> (N, H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        _, h_n, _ = FR.rnn_direction("GRU", x, self._weights(), h)
        return h_n if batched else h_n.squeeze(0)
