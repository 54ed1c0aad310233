"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

One fused primitive (``ops.attention``: two batched GEMMs around an in-place softmax, and
its VJP) whenever the weights themselves are not returned; composed from batched matmul,
softmax and dropout primitives otherwise (and while exporting to ONNX). PyTorch's mask
conventions: in ``scaled_dot_product_attention`` a bool mask is
True where attention is *allowed*; in ``multi_head_attention_forward`` bool ``attn_mask`` and
``key_padding_mask`` are True where attention is *not* allowed. Float masks are added to the
scores in both.
"""
from __future__ import annotations

import math
from typing import Any, cast

from softgrad import backend
from softgrad import functions as SF
from softgrad.nn.functional.linear import dropout, linear
from softgrad.ops.attention import ScaledDotProductAttention
from softgrad.tensor import Tensor

np = backend.np
__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


def _shape(t: Any) -> tuple:
    return tuple(t.shape)


def _additive(mask: Any, like: Tensor, allowed_when_true: bool, name: str) -> Tensor | None:
    """A float mask to add to the scores: bool -> 0 / -inf, float -> as is."""
    if mask is None:
        return None
    m = mask if isinstance(mask, Tensor) else Tensor._wrap(backend.to_device(
        np.asarray(mask), like.device))
    kind = m._data.dtype.kind
    if kind == "b":
        xp = backend.xp_of(m._data)
        blocked = ~m if allowed_when_true else m  # Tensor ops: recorded when exporting
        ninf, zero = (Tensor._wrap(xp.asarray(v, dtype=like._data.dtype)) for v in (-xp.inf, 0))
        return SF.where(blocked, ninf, zero)
    if kind != "f":
        raise TypeError(f"{name}: only bool and floating-point masks are supported, got "
                        f"dtype {m.dtype}")
    return m if m._data.dtype == like._data.dtype else m.to(like.dtype)


def _causal(L: int, S: int, like: Tensor) -> Tensor:
    """Additive lower-triangular mask (L, S): -inf above the diagonal."""
    xp = backend.xp_of(like._data)
    add = xp.where(xp.tril(xp.ones((L, S), dtype=bool)), 0.0, -xp.inf)
    return Tensor._wrap(add.astype(like._data.dtype))


def _broadcastable(a: tuple, b: tuple) -> bool:
    return all(x == y or x == 1 or y == 1 for x, y in zip(reversed(a), reversed(b)))


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q K^T * scale + mask) V, with optional dropout on the attention weights.

    Args:
        query: (..., L, E). key: (..., S, E). value: (..., S, Ev); leading dims broadcast.
        attn_mask: bool (True = may attend) or float (added), broadcastable to (..., L, S).
        dropout_p: dropout probability on the weights (applied whenever > 0).
        is_causal: mask out keys after each query (an (L, S) lower-triangular mask).
        scale: defaults to 1 / sqrt(E).
        enable_gqa: let key/value have fewer heads (dim -3) than query, shared in groups.
    Shape: (..., L, Ev). See ``nn.MultiheadAttention``.
    Example:
        >>> q = k = v = sg.randn(2, 4, 5, 8)
        >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
        (2, 4, 5, 8)
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or t.ndim < 2:
            raise ValueError(f"scaled_dot_product_attention: {name} must be a Tensor with at "
                             f"least 2 dims (..., seq, features), got "
                             f"{_shape(t) if isinstance(t, Tensor) else type(t).__name__}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query {_shape(query)} and key "
                           f"{_shape(key)} must have the same last dim (embedding)")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key {_shape(key)} and value "
                           f"{_shape(value)} must have the same sequence length (dim -2)")
    if enable_gqa and key.ndim >= 3 and query.shape[-3] != key.shape[-3]:
        key, value = _repeat_heads(key, query.shape[-3]), _repeat_heads(value,
                                                                        query.shape[-3])
    if not _broadcastable(_shape(query)[:-2], _shape(key)[:-2]) or \
            not _broadcastable(_shape(key)[:-2], _shape(value)[:-2]):
        raise RuntimeError(f"scaled_dot_product_attention: batch dims of query "
                           f"{_shape(query)}, key {_shape(key)} and value {_shape(value)} do "
                           "not broadcast")
    L, S = query.shape[-2], key.shape[-2]
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: explicit attn_mask should not be set "
                           "when is_causal=True")
    mask = _causal(L, S, query) if is_causal else _additive(attn_mask, query, True,
                                                             "scaled_dot_product_attention")
    if mask is not None and not _broadcastable(_shape(mask), _shape(query)[:-2] + (L, S)):
        raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape {_shape(mask)} "
                           f"does not broadcast to the attention weights "
                           f"{_shape(query)[:-2] + (L, S)}")
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if _fusable(query, key, value, None if is_causal else mask):
        return _fused(query, key, value, None if is_causal else mask, s, is_causal, dropout_p)
    scores = (query @ key.transpose(-2, -1)) * s
    attn = _masked_softmax(scores, mask, safe=True)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return attn @ value


def _fusable(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> bool:
    """Whether the one-primitive path applies: same floating dtype and device throughout,
    no empty dims, and no ONNX export in progress (export records the composed ops)."""
    if Tensor._tracing:
        return False
    dt = q._data.dtype
    ts = (q, k, v) if mask is None else (q, k, v, mask)
    return (dt.kind == "f" and all(t._data.dtype == dt and t.device == q.device for t in ts)
            and all(t._data.size for t in (q, k, v)))


def _fused(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, scale: float, causal: bool,
           dropout_p: float) -> Tensor:
    """The fused primitive, with a dropout mask on the weights drawn here when asked."""
    keep = None
    if dropout_p > 0.0:
        shape = np.broadcast_shapes(_shape(q)[:-2], _shape(k)[:-2]) + (q.shape[-2],
                                                                       k.shape[-2])
        u = backend.generator().random(shape, dtype=np.float64 if q._data.dtype == np.float64
                                       else np.float32)
        if dropout_p >= 1.0:
            u[...] = 0
        else:
            np.greater_equal(u, dropout_p, out=u)
            u *= 1.0 / (1.0 - dropout_p)
        keep = backend.to_device(u.astype(q._data.dtype, copy=False), q.device)
    inputs = (q, k, v) if mask is None else (q, k, v, mask)
    return Tensor._apply(ScaledDotProductAttention, *inputs, scale=scale, causal=causal,
                         keep=keep)


def _masked_softmax(scores: Tensor, mask: Tensor | None, safe: bool) -> Tensor:
    """softmax(scores + mask) over the last dim. With ``safe``, a row whose mask blocks every
    key gives zero weights (and zero gradients) instead of NaN, as PyTorch's fused kernels."""
    if mask is None:
        return scores.softmax(-1)
    scores = scores + mask
    if not safe:
        return scores.softmax(-1)
    xp = backend.xp_of(mask._data)
    dead = xp.all(mask._data == -xp.inf, axis=-1, keepdims=True)
    if not bool(dead.any()):
        return scores.softmax(-1)
    dead = Tensor._wrap(xp.broadcast_to(dead, _shape(scores)[:-1] + (1,)))
    attn = SF.where(dead, 0.0, scores).softmax(-1)
    return attn * Tensor._wrap((~dead._data).astype(scores._data.dtype))


def _repeat_heads(t: Tensor, heads: int) -> Tensor:
    """(..., Hk, S, E) -> (..., heads, S, E), each key head shared by heads // Hk queries."""
    hk = t.shape[-3]
    if heads % hk:
        raise RuntimeError(f"scaled_dot_product_attention: {heads} query heads are not a "
                           f"multiple of {hk} key/value heads")
    lead, (S, E) = _shape(t)[:-3], _shape(t)[-2:]
    return t.unsqueeze(-3).expand(*lead, hk, heads // hk, S, E).reshape(*lead, heads, S, E)


def _in_projection(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                   use_separate, q_w, k_w, v_w):
    E = query.shape[-1]
    if not use_separate:
        if in_proj_weight is None:
            raise RuntimeError("multi_head_attention_forward: in_proj_weight is None but "
                               "use_separate_proj_weight is False")
        if query is key and key is value:  # self-attention: one GEMM
            qkv = linear(query, in_proj_weight, in_proj_bias)
            return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
        ws = in_proj_weight[:E], in_proj_weight[E:2 * E], in_proj_weight[2 * E:]
    else:
        if q_w is None or k_w is None or v_w is None:
            raise RuntimeError("multi_head_attention_forward: use_separate_proj_weight is True "
                               "but q_proj_weight, k_proj_weight or v_proj_weight is None")
        ws = q_w, k_w, v_w
    bs = (None,) * 3 if in_proj_bias is None else (
        in_proj_bias[:E], in_proj_bias[E:2 * E], in_proj_bias[2 * E:])
    for (name, x), w in zip((("query", query), ("key", key), ("value", value)), ws):
        if x.shape[-1] != w.shape[1]:
            raise RuntimeError(f"multi_head_attention_forward: {name} of shape {_shape(x)} "
                               f"does not match its projection weight {_shape(w)}")
    return tuple(linear(x, w, b) for x, w, b in zip((query, key, value), ws, bs))


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
        bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float,
        out_proj_weight: Tensor, out_proj_bias: Tensor | None, training: bool = True,
        key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False) -> tuple:
    """Multi-head attention on time-major inputs (the body of ``nn.MultiheadAttention``).

    Shape: query (L, N, E) or (L, E); key (S, N, kdim); value (S, N, vdim);
    key_padding_mask (N, S) (True / -inf = ignore that key); attn_mask (L, S) or
    (N*num_heads, L, S) (True / -inf = blocked). Returns (output (L, N, E), weights (N, L, S)
    averaged over heads, or (N, num_heads, L, S), or None when ``need_weights`` is False).
    """
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k/static_v are not "
                                  "supported")
    if query.ndim not in (2, 3):
        raise ValueError(f"query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.ndim}-D query tensor of shape {_shape(query)}")
    batched = query.ndim == 3
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"query {_shape(query)}, key {_shape(key)} and value {_shape(value)} "
                         "must all be batched 3-D or all unbatched 2-D")
    if key.shape[:-1] != value.shape[:-1]:
        raise RuntimeError(f"key shape {_shape(key)} does not match value shape "
                           f"{_shape(value)} (sequence and batch dims must agree)")
    if batched and key.shape[1] != query.shape[1]:
        raise RuntimeError(f"query {_shape(query)} and key {_shape(key)} have different batch "
                           "sizes (dim 1)")
    if query.shape[-1] != embed_dim_to_check:
        raise RuntimeError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                           f"got query of shape {_shape(query)}")
    E = embed_dim_to_check
    if E % num_heads:
        raise RuntimeError(f"embed_dim {E} not divisible by num_heads {num_heads}")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint (use "
                           "nn.Transformer.generate_square_subsequent_mask)")
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            if key_padding_mask.ndim != 1:
                raise RuntimeError(f"for unbatched (2-D) query, key_padding_mask should be 1-D "
                                   f"but got shape {_shape(key_padding_mask)}")
            key_padding_mask = key_padding_mask.unsqueeze(0)
    L, N, _ = query.shape
    S = key.shape[0]
    hd = E // num_heads
    q, k, v = _in_projection(query, key, value, num_heads, in_proj_weight, in_proj_bias,
                             use_separate_proj_weight, q_proj_weight, k_proj_weight,
                             v_proj_weight)
    mask = _additive(attn_mask, q, False, "attn_mask")
    if mask is not None:
        if mask.ndim == 2:
            if _shape(mask) != (L, S):
                raise RuntimeError(f"The shape of the 2D attn_mask is {_shape(mask)}, but "
                                   f"should be {(L, S)}.")
            mask = mask.unsqueeze(0)
        elif mask.ndim == 3:
            if _shape(mask) != (N * num_heads, L, S):
                raise RuntimeError(f"The shape of the 3D attn_mask is {_shape(mask)}, but "
                                   f"should be {(N * num_heads, L, S)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {mask.ndim} is not supported (shape "
                               f"{_shape(mask)}); expected 2-D (L, S) or 3-D (N*heads, L, S)")
    kpm = _additive(key_padding_mask, q, False, "key_padding_mask")
    if kpm is not None and _shape(kpm) != (N, S):
        raise RuntimeError(f"expecting key_padding_mask shape of {(N, S)}, but got "
                           f"{_shape(kpm)}")
    if bias_k is not None and bias_v is not None:
        k = SF.cat([k, bias_k.reshape(1, 1, E).expand(1, N, E)])
        v = SF.cat([v, bias_v.reshape(1, 1, E).expand(1, N, E)])
        mask, kpm = _pad_key(mask), _pad_key(kpm)
    elif bias_k is not None or bias_v is not None:
        raise RuntimeError("bias_k and bias_v must both be given or both be None")
    # (L, N, E) -> (N, heads, L, hd)
    q = q.reshape(L, N, num_heads, hd).permute(1, 2, 0, 3)
    k = k.reshape(k.shape[0], N, num_heads, hd).permute(1, 2, 0, 3)
    v = v.reshape(v.shape[0], N, num_heads, hd).permute(1, 2, 0, 3)
    if add_zero_attn:
        zeros = Tensor._wrap(backend.xp_of(q._data).zeros((N, num_heads, 1, hd),
                                                         dtype=q._data.dtype))
        k, v = SF.cat([k, zeros], dim=2), SF.cat([v, zeros], dim=2)
        mask, kpm = _pad_key(mask), _pad_key(kpm)
    S2 = k.shape[2]
    total = None
    if mask is not None:
        total = mask.reshape(1, 1, L, S2) if mask.shape[0] == 1 else \
            mask.reshape(N, num_heads, L, S2)
    if kpm is not None:
        kp = kpm.reshape(N, 1, 1, S2)
        total = kp if total is None else total + kp
    p_drop = dropout_p if training else 0.0
    if not need_weights and _fusable(q, k, v, total):
        attn = None
        heads_out = _fused(q, k, v, total, 1.0 / math.sqrt(hd), False, p_drop)
    else:
        scores = (q * (1.0 / math.sqrt(hd))) @ k.transpose(-2, -1)
        # PyTorch: NaN rows for fully masked queries when it returns the weights, else zeros
        attn = _masked_softmax(scores, total, safe=not need_weights)
        if p_drop > 0.0:
            attn = dropout(attn, p_drop, True)
        heads_out = attn @ v
    out = heads_out.permute(2, 0, 1, 3).reshape(L * N, E)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(L, N, E)
    weights = None
    if need_weights:
        weights = cast(Tensor, attn).mean(1) if average_attn_weights else attn
    if not batched:
        out = out.squeeze(1)
        weights = weights.squeeze(0) if weights is not None else None
    return out, weights


def _pad_key(mask: Tensor | None) -> Tensor | None:
    """Append one always-allowed key column (zero) to an additive mask."""
    if mask is None:
        return None
    xp = backend.xp_of(mask._data)
    zeros = Tensor._wrap(xp.zeros(_shape(mask)[:-1] + (1,), dtype=mask._data.dtype))
    return SF.cat([mask, zeros], dim=-1)
