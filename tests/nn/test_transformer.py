"""Transformer encoder/decoder layers and stacks: parity with PyTorch (values, input and
parameter gradients) across norm_first, activations, batch_first and masks; errors."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
import softgrad.nn.functional as F
from softgrad.nn.modules.transformer import generate_square_subsequent_mask
from tests.helpers.checks import needs_torch, torch

RNG = np.random.default_rng(0)
D, H, FF = 8, 2, 12


def _load(tm, sm):
    assert list(sm.state_dict()) == list(tm.state_dict())
    sm.load_state_dict({k: sg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def _parity(tm, sm, inputs, **kw):
    """Compare output, gradients w.r.t. each input array and each parameter."""
    tx = [torch.tensor(a, requires_grad=True) for a in inputs]
    sx = [sg.tensor(a, requires_grad=True) for a in inputs]
    tkw = {n: torch.tensor(m) if isinstance(m, np.ndarray) else m for n, m in kw.items()}
    skw = {n: sg.tensor(m) if isinstance(m, np.ndarray) else m for n, m in kw.items()}
    to, so = tm(*tx, **tkw), sm(*sx, **skw)
    np.testing.assert_allclose(so.detach().numpy(), to.detach().numpy(), atol=1e-9)
    w = RNG.standard_normal(tuple(to.shape))
    (to * torch.tensor(w)).sum().backward()
    (so * sg.tensor(w)).sum().backward()
    for s, t in zip(sx, tx):
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), atol=1e-9)
    sp = dict(sm.named_parameters())
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(sp[name].grad.numpy(), p.grad.numpy(), atol=1e-9,
                                   err_msg=name)


def _acts(name):
    if name == "silu":
        return torch.nn.functional.silu, F.silu
    return name, name


@needs_torch
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "silu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_parity(norm_first, activation, batch_first):
    torch.manual_seed(0)
    ta, sa = _acts(activation)
    kw = {"dim_feedforward": FF, "dropout": 0.0, "norm_first": norm_first,
          "batch_first": batch_first}
    tm = torch.nn.TransformerEncoderLayer(D, H, activation=ta, **kw)
    sm = nn.TransformerEncoderLayer(D, H, activation=sa, dtype=sg.float64, **kw)
    _load(tm, sm)
    x = RNG.standard_normal((3, 5, D) if batch_first else (5, 3, D))
    kpm = np.zeros((3, 5), bool)
    kpm[2, 4:] = True
    _parity(tm, sm, [x], src_key_padding_mask=kpm)


@needs_torch
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_stack_causal_and_final_norm(norm_first):
    torch.manual_seed(1)
    tl = torch.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, norm_first=norm_first)
    sl = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, norm_first=norm_first,
                                    dtype=sg.float64)
    tm = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(D),
                                     enable_nested_tensor=False)
    sm = nn.TransformerEncoder(sl, 2, norm=nn.LayerNorm(D, dtype=sg.float64))
    for p in tm.parameters():  # the copies start equal; make the layers differ
        p.data += 0.1 * torch.randn_like(p)
    _load(tm, sm)
    mask = np.triu(np.full((6, 6), -np.inf), 1)
    _parity(tm, sm, [RNG.standard_normal((6, 2, D))], mask=mask, is_causal=True)
    _parity(tm, sm, [RNG.standard_normal((6, D))])  # unbatched


@needs_torch
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_and_stack_parity(norm_first, batch_first):
    torch.manual_seed(2)
    kw = {"dim_feedforward": FF, "dropout": 0.0, "norm_first": norm_first,
          "batch_first": batch_first}
    tl = torch.nn.TransformerDecoderLayer(D, H, activation="gelu", **kw)
    sl = nn.TransformerDecoderLayer(D, H, activation="gelu", dtype=sg.float64, **kw)
    _load(tl, sl)
    tgt = RNG.standard_normal((2, 4, D) if batch_first else (4, 2, D))
    mem = RNG.standard_normal((2, 6, D) if batch_first else (6, 2, D))
    causal = np.triu(np.ones((4, 4), bool), 1)
    mkpm = np.zeros((2, 6), bool)
    mkpm[0, 5:] = True
    _parity(tl, sl, [tgt, mem], tgt_mask=causal, memory_key_padding_mask=mkpm)
    tl.zero_grad()
    sl.zero_grad()
    tm, sm = torch.nn.TransformerDecoder(tl, 2), nn.TransformerDecoder(sl, 2)
    _load(tm, sm)
    _parity(tm, sm, [tgt, mem], tgt_mask=causal, tgt_is_causal=True)


def test_defaults_keys_and_dropout():
    sg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 4)
    assert layer.linear1.weight.shape == (2048, 16) and layer.dropout.p == 0.1
    keys = list(nn.TransformerEncoder(layer, 2).state_dict())
    assert keys[0] == "layers.0.self_attn.in_proj_weight" and "layers.1.norm2.bias" in keys
    x = sg.randn(5, 2, 16)
    a, b = layer(x), layer(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())  # dropout in training
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())
    assert layer(x).dtype == sg.float32
    m = generate_square_subsequent_mask(3).numpy()
    assert m[0, 1] == -np.inf and m[1, 0] == 0 and m[2, 2] == 0


def test_errors():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    with pytest.raises(RuntimeError, match=r"\(5, 2, 6\).*d_model=8"):
        layer(sg.randn(5, 2, 6))
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    dec = nn.TransformerDecoderLayer(8, 2, 16)
    with pytest.raises(RuntimeError, match="memory"):
        dec(sg.randn(4, 2, 8), sg.randn(4, 2, 7))
    with pytest.raises(RuntimeError, match="attn_mask"):
        layer(sg.randn(5, 2, 8), src_mask=sg.zeros(4, 4))


def test_encoder_learns_to_count():
    """A one-layer encoder classifier learns whether token 1 occurs more often than token 2."""
    sg.manual_seed(0)
    rng = np.random.default_rng(0)
    emb = nn.Embedding(4, 16)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0,
                                                           batch_first=True), 1)
    head = nn.Linear(16, 2)
    params = list(emb.parameters()) + list(enc.parameters()) + list(head.parameters())
    opt = sg.optim.Adam(params, lr=0.01)
    for _ in range(80):
        tok = rng.integers(0, 4, size=(32, 7))
        y = ((tok == 1).sum(1) > (tok == 2).sum(1)).astype(np.int64)
        logits = head(enc(emb(sg.tensor(tok))).mean(1))
        loss = F.cross_entropy(logits, sg.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.35


@needs_torch
def test_full_transformer_parity():
    torch.manual_seed(3)
    kw = {"d_model": D, "nhead": H, "num_encoder_layers": 2, "num_decoder_layers": 1,
          "dim_feedforward": FF, "dropout": 0.0, "batch_first": True}
    tm = torch.nn.Transformer(**kw)
    sm = nn.Transformer(dtype=sg.float64, **kw)
    _load(tm, sm)
    src, tgt = RNG.standard_normal((2, 6, D)), RNG.standard_normal((2, 4, D))
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=sg.float64).numpy()
    np.testing.assert_array_equal(tgt_mask,
                                  torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())
    skpm = np.zeros((2, 6), bool)
    skpm[1, 5] = True
    _parity(tm, sm, [src, tgt], tgt_mask=tgt_mask, src_key_padding_mask=skpm,
            memory_key_padding_mask=skpm)
    with pytest.raises(RuntimeError, match="batch number"):
        sm(sg.tensor(src), sg.tensor(tgt[:1]))


def test_gradcheck_encoder_and_decoder_layers():
    from tests.helpers.checks import gradcheck

    sg.manual_seed(0)
    enc = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, norm_first=True, dtype=sg.float64)
    dec = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, activation="gelu", dtype=sg.float64)
    causal = generate_square_subsequent_mask(3, dtype=sg.float64)
    gradcheck(lambda x: enc(x, src_mask=causal), RNG.standard_normal((3, 2, 4)))
    gradcheck(lambda t, m: dec(t, m, tgt_mask=causal), RNG.standard_normal((3, 2, 4)),
              RNG.standard_normal((2, 2, 4)))
