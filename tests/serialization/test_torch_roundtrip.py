"""PyTorch weights without PyTorch: safetensors/.npz written from a PyTorch model load into the
mirrored softgrad model (same names and layouts) and give the same outputs, and files written
by sg.save load back into PyTorch. Skipped where torch or safetensors is absent."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as snn

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")
tnn = torch.nn

F32 = torch.float32  # explicit: other test files change torch's default dtype
ATOL = 1e-5


# Each model is written once, for either library: ``build(nn, **kw)`` with ``nn`` torch.nn
# (and ``dtype=F32``) or softgrad.nn; the two share names and layouts.
def _mlp(nn, **kw):
    return nn.Sequential(nn.Linear(6, 16, **kw), nn.BatchNorm1d(16, **kw), nn.ReLU(),
                         nn.LayerNorm(16, **kw), nn.Linear(16, 5, **kw))


def _tokens(nn, **kw):
    class Tokens(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(30, 8, padding_idx=0, **kw)
            self.norm = nn.LayerNorm(8, elementwise_affine=True, **kw)
            self.head = nn.Linear(8, 3, **kw)

        def forward(self, ids):
            return self.head(self.norm(self.emb(ids)).mean(dim=1))

    return Tokens()


def _cnn(nn, **kw):
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, **kw), nn.BatchNorm2d(6, **kw),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 4, 3, groups=2, **kw),
                         nn.Flatten(), nn.Linear(4 * 2 * 2, 3, **kw))


def _conv1d(nn, **kw):
    return nn.Sequential(nn.Conv1d(3, 6, 3, stride=2, groups=3, **kw),
                         nn.BatchNorm1d(6, **kw), nn.ConvTranspose1d(6, 2, 3, **kw))


def _first(nn, layer, self_attention=False):
    """Keep the first output of a layer returning a tuple (RNNs, attention)."""

    class First(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x):
            args = (x, x, x) if self_attention else (x,)
            return self.layer(*args)[0]

    return First()


def _lstm(nn, **kw):
    return _first(nn, nn.LSTM(4, 8, num_layers=2, batch_first=True, bidirectional=True, **kw))


def _gru(nn, **kw):
    return _first(nn, nn.GRU(4, 8, **kw))


def _mha(nn, **kw):
    return _first(nn, nn.MultiheadAttention(16, 4, batch_first=True, **kw), True)


def _encoder(nn, **kw):
    return nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, **kw)


def _normal(*shape):
    return lambda rng: rng.standard_normal(shape).astype(np.float32)


# name: (torch seed, model builder, input maker)
PAIRS = {"mlp": (0, _mlp, _normal(7, 6)),
         "tokens": (1, _tokens, lambda rng: rng.integers(0, 30, (4, 9))),
         "cnn": (2, _cnn, _normal(2, 3, 8, 8)), "conv1d": (3, _conv1d, _normal(2, 3, 11)),
         "lstm": (4, _lstm, _normal(2, 5, 4)), "gru": (5, _gru, _normal(5, 2, 4)),
         "mha": (6, _mha, _normal(2, 5, 16)), "encoder": (7, _encoder, _normal(2, 5, 16))}


def _pair(name):
    """(torch model, softgrad model, input maker) for ``PAIRS[name]``."""
    seed, build, make_input = PAIRS[name]
    torch.manual_seed(seed)
    return build(tnn, dtype=F32), build(snn), make_input


def _train_torch(t, make_input, rng):
    """A few steps so weights and BatchNorm statistics are not at their initial values."""
    t.train()
    for _ in range(3):  # plain SGD by hand (torch.optim's first use imports its compiler)
        t(torch.from_numpy(make_input(rng))).square().mean().backward()
        with torch.no_grad():
            for p in t.parameters():
                p -= 0.01 * p.grad
                p.grad = None
    t.eval()


def _outputs(t, s, x):
    with torch.no_grad():
        want = t(torch.from_numpy(x)).numpy()
    s.eval()
    with sg.no_grad():
        got = s(sg.tensor(x)).numpy()
    return got, want


def _save_torch_state(t, path, fmt):
    if fmt == "safetensors":
        st_torch.save_file(t.state_dict(), str(path))
    else:
        np.savez(path, **{k: v.numpy() for k, v in t.state_dict().items()})


@pytest.mark.parametrize("fmt, seed", [("safetensors", 0), ("npz", 1)])
@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_pytorch_files_load_into_softgrad(tmp_path, pair, fmt, seed):
    t, s, make_input = _pair(pair)
    rng = np.random.default_rng(seed)
    _train_torch(t, make_input, rng)
    path = tmp_path / f"torch.{fmt}"
    _save_torch_state(t, path, fmt)
    state = sg.load(path)
    assert set(state) == set(t.state_dict())
    s.load_state_dict(state)  # strict: every key and shape matches
    got, want = _outputs(t, s, make_input(rng))
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
    assert got.dtype == np.float32


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_softgrad_save_loads_into_pytorch(tmp_path, pair):
    t, s, make_input = _pair(pair)
    rng = np.random.default_rng(2)
    s.train()
    for _ in range(3):  # move BatchNorm statistics away from their initial values
        with sg.no_grad():
            s(sg.tensor(make_input(rng)))
    path = tmp_path / "softgrad.safetensors"
    sg.save(s.state_dict(), path)
    state = st_torch.load_file(str(path))
    assert set(state) == set(t.state_dict())
    for k, v in t.state_dict().items():
        assert state[k].dtype == v.dtype and state[k].shape == v.shape, k
    t.load_state_dict(state)  # strict
    t.eval()
    got, want = _outputs(t, s, make_input(rng))
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


def test_round_trip_torch_to_softgrad_to_torch_is_bit_exact(tmp_path):
    t, s, _ = _pair("mlp")
    st_torch.save_file(t.state_dict(), str(tmp_path / "a.safetensors"))
    s.load_state_dict(sg.load(tmp_path / "a.safetensors"))
    sg.save(s.state_dict(), tmp_path / "b.safetensors")
    back = st_torch.load_file(str(tmp_path / "b.safetensors"))
    for k, v in t.state_dict().items():
        assert torch.equal(back[k], v), k


def test_mismatched_model_gives_clear_error(tmp_path):
    t, _, _ = _pair("mlp")
    st_torch.save_file(t.state_dict(), str(tmp_path / "a.safetensors"))
    wrong = snn.Sequential(snn.Linear(6, 8), snn.BatchNorm1d(8), snn.ReLU(), snn.LayerNorm(8),
                           snn.Linear(8, 5))
    with pytest.raises(RuntimeError, match="size mismatch|shape"):
        wrong.load_state_dict(sg.load(tmp_path / "a.safetensors"))


# ---------------------------------------------------------------------- every layer, via files
from tests.helpers.module_registry import (NAMES, REGISTRY, build_module,  # noqa: E402
                                           eval_outputs, perturbed_module)

WITH_TORCH = [n for n in NAMES if hasattr(tnn, n)]


@pytest.mark.parametrize("name", WITH_TORCH)
def test_every_layer_round_trips_through_safetensors_files(tmp_path, name):
    """PyTorch -> safetensors -> softgrad and softgrad -> safetensors -> PyTorch, per layer."""
    torch.manual_seed(0)
    theirs = REGISTRY[name].make(tnn).float()
    with torch.no_grad():
        for t in list(theirs.parameters()) + list(theirs.buffers()):
            if t.is_floating_point():
                t.add_(torch.randn_like(t) * 0.1)  # away from the initial values
    st_torch.save_file({k: v.contiguous() for k, v in theirs.state_dict().items()},
                       str(tmp_path / "torch.safetensors"))
    ours = build_module(name, 1)
    ours.load_state_dict(sg.load(tmp_path / "torch.safetensors"))
    for a, b in zip(eval_outputs(name, ours), eval_outputs(name, theirs, torch)):
        np.testing.assert_allclose(a, b, atol=REGISTRY[name].atol, rtol=1e-4)

    ours = perturbed_module(name, 2)
    sg.save(ours.state_dict(), tmp_path / "softgrad.safetensors")
    theirs.load_state_dict(st_torch.load_file(str(tmp_path / "softgrad.safetensors")))
    for a, b in zip(eval_outputs(name, ours), eval_outputs(name, theirs, torch)):
        np.testing.assert_allclose(a, b, atol=REGISTRY[name].atol, rtol=1e-4)


def test_tied_weights_load_into_pytorch(tmp_path):
    """A state dict with a tied weight lists it under both keys, as PyTorch's does."""
    class TorchLM(tnn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.head = tnn.Embedding(10, 4, dtype=F32), tnn.Linear(4, 10, dtype=F32)
            self.head.weight = self.emb.weight

        def forward(self, ids):
            return self.head(self.emb(ids))

    class SgLM(snn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.head = snn.Embedding(10, 4), snn.Linear(4, 10)
            self.head.weight = self.emb.weight

        def forward(self, ids):
            return self.head(self.emb(ids))

    ours, theirs = SgLM(), TorchLM()
    sg.save(ours.state_dict(), tmp_path / "lm.safetensors")
    state = st_torch.load_file(str(tmp_path / "lm.safetensors"))
    assert set(state) == {"emb.weight", "head.weight", "head.bias"}
    theirs.load_state_dict(state)
    ids = np.array([[1, 7, 3]])
    with torch.no_grad():
        want = theirs(torch.from_numpy(ids)).numpy()
    np.testing.assert_allclose(ours(sg.tensor(ids)).detach().numpy(), want, atol=ATOL)
    back = sg.load(tmp_path / "lm.safetensors")
    fresh = SgLM()
    fresh.load_state_dict(back)
    assert fresh.head.weight is fresh.emb.weight
