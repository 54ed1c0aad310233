"""RNN, LSTM, GRU and their cells: parity with PyTorch (values, input/weight/state gradients),
finite-difference gradients of the whole-sequence primitives, and errors."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
from softgrad.nn.functional import rnn as FR
from tests.helpers.checks import gradcheck, needs_torch, torch

MODES = ["RNN", "LSTM", "GRU"]


def _copy_weights(tm, sm) -> None:
    sd = {k: sg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()}
    res = sm.load_state_dict(sd)
    assert not res.missing_keys and not res.unexpected_keys


def _weighted(outs, rng):
    """Random weights for each output (same for both frameworks)."""
    return [rng.standard_normal(tuple(o.shape)) for o in outs]


def _flat(out):
    o, h = out
    return [o, *h] if isinstance(h, tuple) else [o, h]


def _parity(tm, sm, x, hx_np=None, atol=1e-10):
    """Compare outputs and gradients of input, initial states and every parameter."""
    _copy_weights(tm, sm)
    tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
    if hx_np is None:
        to, so = tm(tx), sm(sx)
        th = sh = []
    else:
        th = [torch.tensor(h, requires_grad=True) for h in hx_np]
        sh = [sg.tensor(h, requires_grad=True) for h in hx_np]
        thx, shx = (tuple(th), tuple(sh)) if len(th) == 2 else (th[0], sh[0])
        to, so = tm(tx, thx), sm(sx, shx)
    tl, sl = _flat(to), _flat(so)
    assert len(tl) == len(sl)
    ws = _weighted(tl, np.random.default_rng(1))
    for t, s in zip(tl, sl):
        assert tuple(t.shape) == tuple(s.shape)
        np.testing.assert_allclose(s.detach().numpy(), t.detach().numpy(), atol=atol)
    sum(((t * torch.tensor(w)).sum() for t, w in zip(tl, ws))).backward()
    sum(((s * sg.tensor(w)).sum() for s, w in zip(sl, ws))).backward()
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), atol=atol)
    for a, b in zip(sh, th):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol)
    sp = dict(sm.named_parameters())
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(sp[name].grad.numpy(), p.grad.numpy(), atol=atol,
                                   err_msg=name)


@needs_torch
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True), (3, False)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_parity_stack(mode, num_layers, bidirectional, batch_first):
    torch.manual_seed(0)
    kw = {"num_layers": num_layers, "bidirectional": bidirectional,
          "batch_first": batch_first}
    tm = getattr(torch.nn, mode)(4, 5, **kw)
    sm = getattr(nn, mode)(4, 5, dtype=sg.float64, **kw)
    x = np.random.default_rng(0).standard_normal((3, 6, 4) if batch_first else (6, 3, 4))
    _parity(tm, sm, x)


@needs_torch
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_parity_initial_states(mode, bidirectional):
    torch.manual_seed(1)
    tm = getattr(torch.nn, mode)(3, 4, num_layers=2, bidirectional=bidirectional)
    sm = getattr(nn, mode)(3, 4, num_layers=2, bidirectional=bidirectional, dtype=sg.float64)
    rng = np.random.default_rng(2)
    n = 4 if bidirectional else 2
    hx = [rng.standard_normal((n, 2, 4)) for _ in range(2 if mode == "LSTM" else 1)]
    _parity(tm, sm, rng.standard_normal((5, 2, 3)), hx)


@needs_torch
@pytest.mark.parametrize("mode", MODES)
def test_parity_unbatched_and_no_bias(mode):
    torch.manual_seed(2)
    tm = getattr(torch.nn, mode)(3, 4, num_layers=2, bias=False, bidirectional=True)
    sm = getattr(nn, mode)(3, 4, num_layers=2, bias=False, bidirectional=True,
                           dtype=sg.float64)
    assert list(sm.state_dict()) == list(tm.state_dict())
    rng = np.random.default_rng(3)
    hx = [rng.standard_normal((4, 4)) for _ in range(2 if mode == "LSTM" else 1)]
    _parity(tm, sm, rng.standard_normal((5, 3)), hx)
    _parity(tm, sm, rng.standard_normal((5, 3)))


@needs_torch
def test_parity_relu_rnn():
    torch.manual_seed(3)
    tm = torch.nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bidirectional=True)
    sm = nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bidirectional=True, dtype=sg.float64)
    _parity(tm, sm, np.random.default_rng(4).standard_normal((6, 2, 3)))


@needs_torch
@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_parity(cell, batched):
    torch.manual_seed(4)
    tm, sm = getattr(torch.nn, cell)(3, 5), getattr(nn, cell)(3, 5, dtype=sg.float64)
    _copy_weights(tm, sm)
    rng = np.random.default_rng(5)
    lead = (2,) if batched else ()
    x = rng.standard_normal(lead + (3,))
    hs = [rng.standard_normal(lead + (5,)) for _ in range(2 if cell == "LSTMCell" else 1)]
    tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
    th = [torch.tensor(h, requires_grad=True) for h in hs]
    sh = [sg.tensor(h, requires_grad=True) for h in hs]
    to = tm(tx, tuple(th) if len(th) == 2 else th[0])
    so = sm(sx, tuple(sh) if len(sh) == 2 else sh[0])
    to, so = (list(to), list(so)) if isinstance(to, tuple) else ([to], [so])
    ws = _weighted(to, rng)
    for t, s in zip(to, so):
        np.testing.assert_allclose(s.detach().numpy(), t.detach().numpy(), atol=1e-10)
    sum((t * torch.tensor(w)).sum() for t, w in zip(to, ws)).backward()
    sum((s * sg.tensor(w)).sum() for s, w in zip(so, ws)).backward()
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), atol=1e-10)
    for a, b in zip(sh, th):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-10)
    sp = dict(sm.named_parameters())
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(sp[name].grad.numpy(), p.grad.numpy(), atol=1e-10)
    # no state given = zeros
    np.testing.assert_allclose(_flat_first(sm(sx)), _flat_first(tm(tx)), atol=1e-10)


def _flat_first(out):
    o = out[0] if isinstance(out, tuple) else out
    return o.detach().numpy()


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_sequence_primitive(mode, reverse, bias):
    rng = np.random.default_rng(6)
    g = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    T, B, I, H = 3, 2, 3, 2
    arrays = [rng.standard_normal((T, B, I)), rng.standard_normal((g * H, I)) * 0.7,
              rng.standard_normal((g * H, H)) * 0.7]
    if bias:
        arrays += [rng.standard_normal(g * H) * 0.5, rng.standard_normal(g * H) * 0.5]
    n_states = 2 if mode == "LSTM" else 1
    arrays += [rng.standard_normal((B, H)) for _ in range(n_states)]
    if mode == "RNN_RELU":
        arrays[0] = arrays[0] + 0.3  # keep pre-activations away from the kink
    nw = 4 if bias else 2

    def fn(*xs):
        states = xs[1 + nw:]
        out, h_n, c_n = FR.rnn_direction(mode, xs[0], xs[1:1 + nw], *states, reverse=reverse)
        res = out.sum() * 0 + (out * out).sum() + (h_n * 1.5).sum()
        return res + (c_n ** 3).sum() if c_n is not None else res

    gradcheck(fn, *arrays)


def test_float32_stays_float32_and_shapes():
    sg.manual_seed(0)
    lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True, bidirectional=True)
    out, (h, c) = lstm(sg.randn(3, 7, 4))
    assert out.shape == (3, 7, 12) and h.shape == (4, 3, 6) and c.shape == (4, 3, 6)
    assert out.dtype == sg.float32 and h.dtype == sg.float32
    out.sum().backward()
    assert lstm.weight_hh_l1_reverse.grad.dtype == sg.float32
    gru = nn.GRU(4, 6)
    out, h = gru(sg.randn(7, 4))
    assert out.shape == (7, 6) and h.shape == (1, 6)


def test_init_range_and_keys():
    sg.manual_seed(0)
    m = nn.GRU(3, 16, num_layers=2, bidirectional=True)
    m.flatten_parameters()  # accepted for PyTorch compatibility
    keys = list(m.state_dict())
    assert keys[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                        "weight_ih_l0_reverse"]
    assert len(keys) == 16 and m.weight_ih_l1.shape == (48, 32)
    for p in m.parameters():
        assert np.abs(p.detach().numpy()).max() <= 0.25


def test_dropout_between_layers():
    sg.manual_seed(0)
    m = nn.LSTM(3, 8, num_layers=2, dropout=0.5)
    x = sg.randn(5, 2, 3)
    a, b = m(x)[0], m(x)[0]
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    m.eval()
    a, b = m(x)[0], m(x)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_errors_name_shapes():
    m = nn.LSTM(4, 5, num_layers=2)
    with pytest.raises(ValueError, match="2D or 3D"):
        m(sg.randn(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match="Expected 4, got 3"):
        m(sg.randn(6, 2, 3))
    with pytest.raises(RuntimeError, match=r"\(2, 2, 5\)"):
        m(sg.randn(6, 2, 4), (sg.zeros(1, 2, 5), sg.zeros(2, 2, 5)))
    with pytest.raises(RuntimeError, match="3-D"):
        m(sg.randn(6, 2, 4), (sg.zeros(2, 5), sg.zeros(2, 5)))
    with pytest.raises(TypeError, match="tuple"):
        m(sg.randn(6, 2, 4), sg.zeros(2, 2, 5))
    with pytest.raises(RuntimeError, match=r"\(3, 5\)"):
        nn.GRUCell(4, 5)(sg.randn(3, 4), sg.zeros(2, 5))
    with pytest.raises(ValueError, match="1D or 2D"):
        nn.RNNCell(4, 5)(sg.randn(1, 3, 4))
    with pytest.raises(RuntimeError, match="input_size"):
        nn.LSTMCell(4, 5)(sg.randn(3, 2))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(4, 5, nonlinearity="gelu")
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(4, 5, dropout=1.5)
    with pytest.raises(RuntimeError, match="type"):
        m(sg.randn(6, 2, 4, dtype=sg.float64))
    with pytest.raises(RuntimeError, match="type"):
        nn.GRUCell(4, 5)(sg.randn(3, 4, dtype=sg.float64))
    with pytest.raises(TypeError, match="floating point"):
        m(sg.zeros(6, 2, 4, dtype=sg.int64))


def test_lstm_learns_to_remember_first_token():
    """A tiny LSTM learns to output the sign of the first input after 6 steps."""
    sg.manual_seed(0)
    rng = np.random.default_rng(0)
    lstm, head = nn.LSTM(1, 8, batch_first=True), nn.Linear(8, 2)
    opt = sg.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.05)
    for _ in range(100):
        x = rng.standard_normal((32, 6, 1)).astype(np.float32)
        y = (x[:, 0, 0] > 0).astype(np.int64)
        out, _ = lstm(sg.tensor(x))
        loss = nn.functional.cross_entropy(head(out[:, -1]), sg.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1


def test_reused_scratch_memory_keeps_graphs_apart():
    """Two live graphs, backward in reverse order and twice (retain_graph): pooled scratch
    arrays must not leak between them."""
    sg.manual_seed(0)
    rng = np.random.default_rng(7)
    for mode in MODES:
        m = getattr(nn, mode)(3, 4, num_layers=2, dtype=sg.float64)
        xs = [sg.tensor(rng.standard_normal((5, 2, 3)), requires_grad=True) for _ in range(2)]
        ref = []
        for x in xs:
            m.zero_grad()
            m(x)[0].sum().backward()
            ref.append((x.grad.numpy().copy(), m.weight_hh_l0.grad.numpy().copy()))
            x.grad = None
        m.zero_grad()
        outs = [m(x)[0].sum() for x in xs]
        outs[1].backward(retain_graph=True)
        outs[1].backward()
        np.testing.assert_allclose(xs[1].grad.numpy(), 2 * ref[1][0], atol=1e-12)
        np.testing.assert_allclose(m.weight_hh_l0.grad.numpy(), 2 * ref[1][1], atol=1e-12)
        m.zero_grad()
        outs[0].backward()
        np.testing.assert_allclose(xs[0].grad.numpy(), ref[0][0], atol=1e-12)
        np.testing.assert_allclose(m.weight_hh_l0.grad.numpy(), ref[0][1], atol=1e-12)


def test_double_backward_is_a_clear_error():
    m = nn.GRU(2, 3, dtype=sg.float64)
    x = sg.tensor(np.ones((4, 1, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match="double backward"):
        sg.autograd.grad(m(x)[0].sum(), [x], create_graph=True)


@pytest.mark.parametrize("mode", MODES)
def test_inplace_change_of_output_is_caught(mode):
    m = getattr(nn, mode)(2, 3)
    out, _ = m(sg.randn(4, 1, 2, requires_grad=True))
    with sg.no_grad():
        out.mul_(2)
    with pytest.raises(RuntimeError, match="in-place"):
        out.sum().backward()


def test_no_grad_runs_match_and_reuse_scratch():
    """Under no_grad the scratch goes straight back to the pool; results are unchanged."""
    from softgrad.ops.rnn_base import _POOL

    sg.manual_seed(0)
    m = nn.LSTM(3, 5, num_layers=2, dtype=sg.float64)
    x = sg.tensor(np.random.default_rng(0).standard_normal((6, 2, 3)))
    ref = m(x)[0].detach().numpy()
    with sg.no_grad():
        a = m(x)[0].numpy()
        held = _POOL.nbytes
        b = m(x)[0].numpy()
    assert held > 0 and _POOL.nbytes == held
    np.testing.assert_array_equal(a, ref)
    np.testing.assert_array_equal(b, ref)


@needs_torch
@pytest.mark.parametrize("bidirectional,batch_first", [(False, False), (True, True)])
def test_lstm_proj_size_parity(bidirectional, batch_first):
    torch.manual_seed(5)
    kw = {"num_layers": 2, "proj_size": 3, "bidirectional": bidirectional,
          "batch_first": batch_first}
    tm = torch.nn.LSTM(4, 5, **kw)
    sm = nn.LSTM(4, 5, dtype=sg.float64, **kw)
    assert list(sm.state_dict()) == list(tm.state_dict())
    assert sm.weight_hr_l1.shape == (3, 5)
    assert sm.weight_ih_l1.shape == (20, 3 * (1 + bidirectional))
    rng = np.random.default_rng(8)
    n = 4 if bidirectional else 2
    x = rng.standard_normal((2, 6, 4) if batch_first else (6, 2, 4))
    _parity(tm, sm, x, [rng.standard_normal((n, 2, 3)), rng.standard_normal((n, 2, 5))])
    _parity(tm, sm, x)


@needs_torch
def test_lstm_proj_size_packed_parity():
    from softgrad.nn.utils import rnn as R

    torch.manual_seed(6)
    tm = torch.nn.LSTM(3, 4, proj_size=2, bidirectional=True)
    sm = nn.LSTM(3, 4, proj_size=2, bidirectional=True, dtype=sg.float64)
    _copy_weights(tm, sm)
    x = np.random.default_rng(9).standard_normal((5, 3, 3))
    tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
    lengths = [5, 2, 4]
    to, (th, tc) = tm(torch.nn.utils.rnn.pack_padded_sequence(tx, lengths,
                                                               enforce_sorted=False))
    so, (sh, sc) = sm(R.pack_padded_sequence(sx, lengths, enforce_sorted=False))
    for s, t in ((so.data, to.data), (sh, th), (sc, tc)):
        np.testing.assert_allclose(s.detach().numpy(), t.detach().numpy(), atol=1e-10)
    (to.data.sum() + (th ** 2).sum() + (tc ** 3).sum()).backward()
    (so.data.sum() + (sh ** 2).sum() + (sc ** 3).sum()).backward()
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), atol=1e-10)
    sp = dict(sm.named_parameters())
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(sp[name].grad.numpy(), p.grad.numpy(), atol=1e-10)


def test_proj_size_errors():
    with pytest.raises(ValueError, match="smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)
    m = nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(RuntimeError, match=r"\(1, 2, 2\)"):
        m(sg.randn(5, 2, 3), (sg.zeros(1, 2, 4), sg.zeros(1, 2, 4)))


@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck_lstm_projection_primitive(masked):
    rng = np.random.default_rng(10)
    T, B, I, H, P = 3, 2, 2, 3, 2
    mask = None
    if masked:
        mask = (np.arange(T)[:, None] < np.array([3, 1])[None, :]).astype(np.float64)[..., None]
    arrays = [rng.standard_normal((T, B, I)), rng.standard_normal((4 * H, I)) * 0.7,
              rng.standard_normal((4 * H, P)) * 0.7, rng.standard_normal(4 * H) * 0.5,
              rng.standard_normal(4 * H) * 0.5, rng.standard_normal((P, H)),
              rng.standard_normal((B, P)), rng.standard_normal((B, H))]

    def fn(x, w_ih, w_hh, b_ih, b_hh, w_hr, h0, c0):
        out, h_n, c_n = FR.rnn_direction("LSTM", x, (w_ih, w_hh, b_ih, b_hh, w_hr), h0, c0,
                                         reverse=True, mask=mask, proj=True)
        return (out * out).sum() + (h_n * 1.5).sum() + (c_n ** 3).sum()

    gradcheck(fn, *arrays)
