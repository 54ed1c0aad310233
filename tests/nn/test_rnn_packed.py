"""Variable-length batches: nn.utils.rnn packing helpers and RNN/LSTM/GRU on PackedSequence,
against PyTorch (values and gradients), plus errors."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
from softgrad.nn.utils import rnn as R
from tests.helpers.checks import needs_torch, torch, torch_parity

RNG = np.random.default_rng(0)


def _tr():
    return torch.nn.utils.rnn


@needs_torch
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [5, 3, 3, 1]), (False, [2, 5, 1, 4])])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_parity(enforce_sorted, lengths, batch_first):
    x = RNG.standard_normal((4, 5, 3) if batch_first else (5, 4, 3))

    def sg_fn(a):
        p = R.pack_padded_sequence(a, lengths, batch_first, enforce_sorted)
        return p.data

    def t_fn(a):
        return _tr().pack_padded_sequence(a, lengths, batch_first, enforce_sorted).data

    torch_parity(sg_fn, t_fn, x, atol=1e-12)
    sp = R.pack_padded_sequence(sg.tensor(x), lengths, batch_first, enforce_sorted)
    tp = _tr().pack_padded_sequence(torch.tensor(x), lengths, batch_first, enforce_sorted)
    np.testing.assert_array_equal(sp.batch_sizes.numpy(), tp.batch_sizes.numpy())
    for a, b in ((sp.sorted_indices, tp.sorted_indices),
                 (sp.unsorted_indices, tp.unsorted_indices)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    for kw in ({}, {"padding_value": -1.0, "total_length": 7}):
        sx, sl = R.pad_packed_sequence(sp, batch_first=batch_first, **kw)
        tx, tl = _tr().pad_packed_sequence(tp, batch_first=batch_first, **kw)
        np.testing.assert_allclose(sx.numpy(), tx.numpy())
        np.testing.assert_array_equal(sl.numpy(), tl.numpy())
    # pad_packed_sequence passes gradients back to the packed data
    torch_parity(lambda d: R.pad_packed_sequence(sp._replace(data=d), batch_first)[0],
                 lambda d: _tr().pad_packed_sequence(tp._replace(data=d), batch_first)[0],
                 sp.data.numpy(), atol=1e-12)


@needs_torch
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_and_pack_sequence(side):
    seqs = [RNG.standard_normal((n, 2)) for n in (3, 5, 1)]
    torch_parity(lambda *s: R.pad_sequence(list(s), True, 0.5, side),
                 lambda *s: _tr().pad_sequence(list(s), True, 0.5, side), *seqs, atol=1e-12)
    sp = R.pack_sequence([sg.tensor(s) for s in seqs], enforce_sorted=False)
    tp = _tr().pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    np.testing.assert_allclose(sp.data.numpy(), tp.data.numpy())
    back = R.unpack_sequence(sp)
    for a, b in zip(back, seqs):
        np.testing.assert_allclose(a.numpy(), b)


@needs_torch
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [6, 4, 4, 2]), (False, [3, 6, 1, 5])])
def test_rnn_on_packed_sequence_parity(mode, enforce_sorted, lengths):
    torch.manual_seed(0)
    tm = getattr(torch.nn, mode)(3, 4, num_layers=2, bidirectional=True)
    sm = getattr(nn, mode)(3, 4, num_layers=2, bidirectional=True, dtype=sg.float64)
    sm.load_state_dict({k: sg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = RNG.standard_normal((6, 4, 3))
    hs = [RNG.standard_normal((4, 4, 4)) for _ in range(2 if mode == "LSTM" else 1)]
    tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
    th = [torch.tensor(h, requires_grad=True) for h in hs]
    sh = [sg.tensor(h, requires_grad=True) for h in hs]
    tp = _tr().pack_padded_sequence(tx, lengths, enforce_sorted=enforce_sorted)
    sp = R.pack_padded_sequence(sx, lengths, enforce_sorted=enforce_sorted)
    to, thn = tm(tp, tuple(th) if len(th) == 2 else th[0])
    so, shn = sm(sp, tuple(sh) if len(sh) == 2 else sh[0])
    assert isinstance(so, R.PackedSequence)
    np.testing.assert_array_equal(so.batch_sizes.numpy(), to.batch_sizes.numpy())
    touts = [to.data, *(thn if isinstance(thn, tuple) else [thn])]
    souts = [so.data, *(shn if isinstance(shn, tuple) else [shn])]
    for s, t in zip(souts, touts):
        np.testing.assert_allclose(s.detach().numpy(), t.detach().numpy(), atol=1e-10)
    ws = [RNG.standard_normal(tuple(t.shape)) for t in touts]
    sum((t * torch.tensor(w)).sum() for t, w in zip(touts, ws)).backward()
    sum((s * sg.tensor(w)).sum() for s, w in zip(souts, ws)).backward()
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), atol=1e-10)
    for a, b in zip(sh, th):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-10)
    sp_ = dict(sm.named_parameters())
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(sp_[name].grad.numpy(), p.grad.numpy(), atol=1e-10,
                                   err_msg=name)


def test_packed_equals_running_each_sequence_alone():
    sg.manual_seed(0)
    m = nn.GRU(2, 3, batch_first=True)
    seqs = [sg.randn(n, 2) for n in (4, 2, 3)]
    out, h = m(R.pack_sequence(seqs, enforce_sorted=False))
    padded, lengths = R.pad_packed_sequence(out, batch_first=True)
    assert lengths.numpy().tolist() == [4, 2, 3]
    for b, s in enumerate(seqs):
        o, hb = m(s)
        np.testing.assert_allclose(padded[b, :s.shape[0]].detach().numpy(),
                                   o.detach().numpy(), atol=1e-6)
        np.testing.assert_allclose(h[0, b].detach().numpy(), hb[0].detach().numpy(),
                                   atol=1e-6)
        assert np.all(padded[b, s.shape[0]:].detach().numpy() == 0)


def test_packing_errors():
    x = sg.randn(4, 3, 2)
    with pytest.raises(RuntimeError, match="decreasing"):
        R.pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(RuntimeError, match="greater than 0"):
        R.pack_padded_sequence(x, [2, 0, 1], enforce_sorted=False)
    with pytest.raises(ValueError, match="batch_size"):
        R.pack_padded_sequence(x, [2, 1])
    with pytest.raises(RuntimeError, match="exceeds"):
        R.pack_padded_sequence(x, [5, 1, 1])
    with pytest.raises(ValueError, match="total_length"):
        R.pad_packed_sequence(R.pack_padded_sequence(x, [4, 2, 1]), total_length=3)
    with pytest.raises(RuntimeError, match="sequence 1"):
        R.pad_sequence([sg.randn(3, 2), sg.randn(2, 3)])
    with pytest.raises(RuntimeError, match="Expected 5, got 2"):
        nn.LSTM(5, 4)(R.pack_padded_sequence(x, [4, 2, 1]))


def test_onnx_converter_refuses_a_masked_recurrent_node():
    """Exporting a PackedSequence run is refused with a clear message (not a wrong graph)."""
    from types import SimpleNamespace

    from softgrad.onnx.ops_rnn import _recurrent

    node = SimpleNamespace(op="GRUSeq", params={"mask": np.ones((3, 2, 1)), "bias": True})
    with pytest.raises(NotImplementedError, match="PackedSequence"):
        _recurrent(None, node, [])
    node = SimpleNamespace(op="LSTMSeq", params={"proj": True, "bias": True})
    with pytest.raises(NotImplementedError, match="proj_size"):
        _recurrent(None, node, [])


@pytest.mark.parametrize("mode", ["RNN_TANH", "LSTM", "GRU"])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_masked_primitive(mode, reverse):
    from softgrad.nn.functional import rnn as FR
    from tests.helpers.checks import gradcheck

    g = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    T, B, I, H = 4, 3, 2, 2
    mask = (np.arange(T)[:, None] < np.array([4, 2, 1])[None, :]).astype(np.float64)[..., None]
    arrays = [RNG.standard_normal((T, B, I)), RNG.standard_normal((g * H, I)) * 0.7,
              RNG.standard_normal((g * H, H)) * 0.7, RNG.standard_normal(g * H) * 0.5,
              RNG.standard_normal(g * H) * 0.5]
    arrays += [RNG.standard_normal((B, H)) for _ in range(2 if mode == "LSTM" else 1)]

    def fn(*xs):
        out, h_n, c_n = FR.rnn_direction(mode, xs[0], xs[1:5], *xs[5:], reverse=reverse,
                                         mask=mask)
        res = (out * out).sum() + (h_n * 1.5).sum()
        return res + (c_n ** 3).sum() if c_n is not None else res

    gradcheck(fn, *arrays)
