"""Transformer layers: ``TransformerEncoderLayer``, ``TransformerEncoder``,
``TransformerDecoderLayer``, ``TransformerDecoder`` and ``Transformer`` (PyTorch's submodule
names, so ``state_dict`` keys such as ``layers.0.self_attn.in_proj_weight`` match)."""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from softgrad import backend, dtypes
from softgrad.nn import functional as F
from softgrad.nn import init
from softgrad.nn.modules.attention import MultiheadAttention
from softgrad.nn.modules.container import ModuleList
from softgrad.nn.modules.dropout import Dropout
from softgrad.nn.modules.linear import Linear
from softgrad.nn.modules.module import Module
from softgrad.nn.modules.normalization import LayerNorm
from softgrad.tensor import Tensor


def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
    """Float (sz, sz) causal mask: 0 on and below the diagonal, -inf above."""
    np = backend.np
    dt = dtypes.to_np(dtype) or backend.DEFAULT_DTYPE
    m = np.triu(np.full((sz, sz), -np.inf, dtype=dt), k=1)
    if device is not None and str(device) != "cpu":
        m = backend.to_device(m, str(device))
    return Tensor._wrap(m)


def _activation(activation: str | Callable) -> Callable:
    if callable(activation):
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _clones(module: Module, n: int) -> ModuleList:
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _check_model_input(name: str, x: Any, d_model: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        raise RuntimeError(f"{name} of shape {tuple(x.shape)} does not fit the layer: expected "
                           f"(L, {d_model}) or 3-D with last dim d_model={d_model}")


class _TransformerLayer(Module):
    """What encoder and decoder layers share: the sublayers (built in PyTorch's order, so
    initialisation and ``state_dict`` keys match), the residual wiring and the blocks."""

    _cross = False  # decoder layers also attend over ``memory``
    _ff_dropout = "dropout2"  # the dropout after the feed-forward block
    # made in __init__ by number (norm3 and dropout3 in decoder layers only)
    norm1: LayerNorm
    norm2: LayerNorm
    norm3: LayerNorm
    dropout1: Dropout
    dropout2: Dropout
    dropout3: Dropout

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable = F.relu,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        attn_kw = dict(kw, dropout=dropout, bias=bias, batch_first=batch_first)
        self.self_attn = MultiheadAttention(d_model, nhead, **attn_kw)
        if self._cross:
            self.multihead_attn = MultiheadAttention(d_model, nhead, **attn_kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        blocks = 3 if self._cross else 2
        for i in range(1, blocks + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        for i in range(1, blocks + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation)

    def _residual(self, x: Tensor, norm: Module, block: Callable[[Tensor], Tensor]) -> Tensor:
        """``x + block(norm(x))`` with ``norm_first``, else ``norm(x + block(x))``."""
        if self.norm_first:
            return x + block(norm(x))
        return norm(x + block(x))

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any,
                  is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return getattr(self, self._ff_dropout)(x)


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention + feed-forward block (post-norm, or pre-norm with ``norm_first``).

    Args:
        d_model: model width. nhead: attention heads.
        dim_feedforward: hidden width of the feed-forward net. Default: 2048.
        dropout: dropout probability. Default: 0.1.
        activation: 'relu', 'gelu' or a callable. Default: relu.
        layer_norm_eps: LayerNorm eps. Default: 1e-5.
        batch_first: (N, L, E) inputs. Default: False. norm_first: pre-norm. Default: False.
        bias: biases in linear and LayerNorm layers. Default: True.
    Shape: src (L, N, E) / (N, L, E) / (L, E) -> same.
    """

    def forward(self, src: Tensor, src_mask: Tensor | None = None,
                src_key_padding_mask: Tensor | None = None, is_causal: bool = False) -> Tensor:
        _check_model_input("src", src, self.linear1.in_features)
        x = self._residual(src, self.norm1, lambda y: self._sa_block(
            y, src_mask, src_key_padding_mask, is_causal))
        return self._residual(x, self.norm2, self._ff_block)


class TransformerEncoder(Module):
    """A stack of ``num_layers`` deep copies of ``encoder_layer``, then an optional ``norm``.

    Shape: src as the layer's; ``mask`` (L, L) or (N*heads, L, L); ``src_key_padding_mask``
    (N, L).
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None, enable_nested_tensor: bool = True,
                 mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src: Tensor, mask: Tensor | None = None,
                src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        out = src
        for layer in self.layers:
            out = layer(out, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                        is_causal=bool(is_causal))
        return self.norm(out) if self.norm is not None else out


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention, cross-attention over ``memory``, feed-forward; same arguments as
    ``TransformerEncoderLayer``.

    Shape: tgt (T, N, E), memory (S, N, E) (batch-first when ``batch_first``) -> (T, N, E).
    """

    _cross = True
    _ff_dropout = "dropout3"

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        d = self.linear1.in_features
        _check_model_input("tgt", tgt, d)
        _check_model_input("memory", memory, d)
        x = self._residual(tgt, self.norm1, lambda y: self._sa_block(
            y, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self._residual(x, self.norm2, lambda y: self._mha_block(
            y, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self._residual(x, self.norm3, self._ff_block)

    def _mha_block(self, x: Tensor, mem: Tensor, attn_mask: Any, key_padding_mask: Any,
                   is_causal: bool) -> Tensor:
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)


class TransformerDecoder(Module):
    """A stack of ``num_layers`` deep copies of ``decoder_layer``, then an optional ``norm``."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        out = tgt
        for layer in self.layers:
            out = layer(out, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                        tgt_key_padding_mask=tgt_key_padding_mask,
                        memory_key_padding_mask=memory_key_padding_mask,
                        tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return self.norm(out) if self.norm is not None else out


class Transformer(Module):
    """Encoder-decoder Transformer with PyTorch's layout (``encoder.layers.N...``,
    ``encoder.norm``, ``decoder.layers.N...``, ``decoder.norm``).

    Args: d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
        dim_feedforward=2048, dropout=0.1, activation=relu, custom_encoder/custom_decoder,
        layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True.
    Shape: src (S, N, E), tgt (T, N, E) (batch-first when ``batch_first``) -> (T, N, E).
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable = F.relu,
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        kw = {"dim_feedforward": dim_feedforward, "dropout": dropout, "activation": activation,
              "layer_norm_eps": layer_norm_eps, "batch_first": batch_first,
              "norm_first": norm_first, "bias": bias, "device": device, "dtype": dtype}
        norm_kw = {"eps": layer_norm_eps, "bias": bias, "device": device, "dtype": dtype}
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(d_model, nhead, **kw),
                                              num_encoder_layers, LayerNorm(d_model, **norm_kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(d_model, nhead, **kw),
                                              num_decoder_layers, LayerNorm(d_model, **norm_kw))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None,
                tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
                src_key_padding_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        _check_model_input("src", src, self.d_model)
        _check_model_input("tgt", tgt, self.d_model)
        bdim = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[bdim] != tgt.shape[bdim]:
            raise RuntimeError(f"the batch number of src {tuple(src.shape)} and tgt "
                               f"{tuple(tgt.shape)} must be equal")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None,
                                        dtype: Any = None) -> Tensor:
        """Float (sz, sz) causal mask: 0 on and below the diagonal, -inf above."""
        return generate_square_subsequent_mask(sz, device, dtype)
