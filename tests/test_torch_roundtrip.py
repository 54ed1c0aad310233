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


def _pair_mlp():
    torch.manual_seed(0)
    t = tnn.Sequential(tnn.Linear(6, 16, dtype=F32), tnn.BatchNorm1d(16, dtype=F32), tnn.ReLU(),
                       tnn.LayerNorm(16, dtype=F32), tnn.Linear(16, 5, dtype=F32))
    s = snn.Sequential(snn.Linear(6, 16), snn.BatchNorm1d(16), snn.ReLU(), snn.LayerNorm(16),
                       snn.Linear(16, 5))
    return t, s, lambda rng: rng.standard_normal((7, 6)).astype(np.float32)


class _TorchTokens(tnn.Module):
    def __init__(self):
        super().__init__()
        self.emb = tnn.Embedding(30, 8, padding_idx=0, dtype=F32)
        self.norm = tnn.LayerNorm(8, elementwise_affine=True, dtype=F32)
        self.head = tnn.Linear(8, 3, dtype=F32)

    def forward(self, ids):
        return self.head(self.norm(self.emb(ids)).mean(dim=1))


class _SgTokens(snn.Module):
    def __init__(self):
        super().__init__()
        self.emb = snn.Embedding(30, 8, padding_idx=0)
        self.norm = snn.LayerNorm(8)
        self.head = snn.Linear(8, 3)

    def forward(self, ids):
        return self.head(self.norm(self.emb(ids)).mean(dim=1))


def _pair_tokens():
    torch.manual_seed(1)
    return _TorchTokens(), _SgTokens(), lambda rng: rng.integers(0, 30, (4, 9))


def _pair_cnn():
    torch.manual_seed(2)
    t = tnn.Sequential(tnn.Conv2d(3, 6, 3, padding=1, dtype=F32), tnn.BatchNorm2d(6, dtype=F32),
                       tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 4, 3, groups=2, dtype=F32),
                       tnn.Flatten(), tnn.Linear(4 * 2 * 2, 3, dtype=F32))
    s = snn.Sequential(snn.Conv2d(3, 6, 3, padding=1), snn.BatchNorm2d(6), snn.ReLU(),
                       snn.MaxPool2d(2), snn.Conv2d(6, 4, 3, groups=2), snn.Flatten(),
                       snn.Linear(4 * 2 * 2, 3))
    return t, s, lambda rng: rng.standard_normal((2, 3, 8, 8)).astype(np.float32)


def _pair_conv1d():
    torch.manual_seed(3)
    t = tnn.Sequential(tnn.Conv1d(3, 6, 3, stride=2, groups=3, dtype=F32),
                       tnn.BatchNorm1d(6, dtype=F32), tnn.ConvTranspose1d(6, 2, 3, dtype=F32))
    s = snn.Sequential(snn.Conv1d(3, 6, 3, stride=2, groups=3), snn.BatchNorm1d(6),
                       snn.ConvTranspose1d(6, 2, 3))
    return t, s, lambda rng: rng.standard_normal((2, 3, 11)).astype(np.float32)


class _First(tnn.Module):
    """Keep the first output of a layer returning a tuple (RNNs, attention)."""

    def __init__(self, layer, self_attention=False):
        super().__init__()
        self.layer, self.self_attention = layer, self_attention

    def forward(self, x):
        args = (x, x, x) if self.self_attention else (x,)
        return self.layer(*args)[0]


class _SgFirst(snn.Module):
    def __init__(self, layer, self_attention=False):
        super().__init__()
        self.layer, self.self_attention = layer, self_attention

    def forward(self, x):
        args = (x, x, x) if self.self_attention else (x,)
        return self.layer(*args)[0]


def _pair_lstm():
    torch.manual_seed(4)
    t = _First(tnn.LSTM(4, 8, num_layers=2, batch_first=True, bidirectional=True, dtype=F32))
    s = _SgFirst(snn.LSTM(4, 8, num_layers=2, batch_first=True, bidirectional=True))
    return t, s, lambda rng: rng.standard_normal((2, 5, 4)).astype(np.float32)


def _pair_gru():
    torch.manual_seed(5)
    return (_First(tnn.GRU(4, 8, dtype=F32)), _SgFirst(snn.GRU(4, 8)),
            lambda rng: rng.standard_normal((5, 2, 4)).astype(np.float32))


def _pair_mha():
    torch.manual_seed(6)
    return (_First(tnn.MultiheadAttention(16, 4, batch_first=True, dtype=F32), True),
            _SgFirst(snn.MultiheadAttention(16, 4, batch_first=True), True),
            lambda rng: rng.standard_normal((2, 5, 16)).astype(np.float32))


def _pair_encoder():
    torch.manual_seed(7)
    return (tnn.TransformerEncoderLayer(16, 4, 32, batch_first=True, dtype=F32),
            snn.TransformerEncoderLayer(16, 4, 32, batch_first=True),
            lambda rng: rng.standard_normal((2, 5, 16)).astype(np.float32))


PAIRS = {"mlp": _pair_mlp, "tokens": _pair_tokens, "cnn": _pair_cnn, "conv1d": _pair_conv1d,
         "lstm": _pair_lstm, "gru": _pair_gru, "mha": _pair_mha, "encoder": _pair_encoder}


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


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_pytorch_safetensors_load_into_softgrad(tmp_path, pair):
    t, s, make_input = PAIRS[pair]()
    rng = np.random.default_rng(0)
    _train_torch(t, make_input, rng)
    path = tmp_path / "torch.safetensors"
    st_torch.save_file(t.state_dict(), str(path))
    state = sg.load(path)
    assert set(state) == set(t.state_dict())
    s.load_state_dict(state)  # strict: every key and shape matches
    got, want = _outputs(t, s, make_input(rng))
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)
    assert got.dtype == np.float32


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_pytorch_npz_load_into_softgrad(tmp_path, pair):
    t, s, make_input = PAIRS[pair]()
    rng = np.random.default_rng(1)
    _train_torch(t, make_input, rng)
    path = tmp_path / "weights.npz"
    np.savez(path, **{k: v.numpy() for k, v in t.state_dict().items()})
    s.load_state_dict(sg.load(path))
    got, want = _outputs(t, s, make_input(rng))
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=0)


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_softgrad_save_loads_into_pytorch(tmp_path, pair):
    t, s, make_input = PAIRS[pair]()
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
    t, s, _ = _pair_mlp()
    st_torch.save_file(t.state_dict(), str(tmp_path / "a.safetensors"))
    s.load_state_dict(sg.load(tmp_path / "a.safetensors"))
    sg.save(s.state_dict(), tmp_path / "b.safetensors")
    back = st_torch.load_file(str(tmp_path / "b.safetensors"))
    for k, v in t.state_dict().items():
        assert torch.equal(back[k], v), k


def test_mismatched_model_gives_clear_error(tmp_path):
    t, _, _ = _pair_mlp()
    st_torch.save_file(t.state_dict(), str(tmp_path / "a.safetensors"))
    wrong = snn.Sequential(snn.Linear(6, 8), snn.BatchNorm1d(8), snn.ReLU(), snn.LayerNorm(8),
                           snn.Linear(8, 5))
    with pytest.raises(RuntimeError, match="size mismatch|shape"):
        wrong.load_state_dict(sg.load(tmp_path / "a.safetensors"))


# ---------------------------------------------------------------------- every layer, via files
from test_every_module import NAMES, REGISTRY, _build, _eval_outputs, _perturbed  # noqa: E402

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
    ours = _build(name, 1)
    ours.load_state_dict(sg.load(tmp_path / "torch.safetensors"))
    for a, b in zip(_eval_outputs(name, ours), _eval_outputs(name, theirs, torch)):
        np.testing.assert_allclose(a, b, atol=REGISTRY[name].atol, rtol=1e-4)

    ours = _perturbed(name, 2)
    sg.save(ours.state_dict(), tmp_path / "softgrad.safetensors")
    theirs.load_state_dict(st_torch.load_file(str(tmp_path / "softgrad.safetensors")))
    for a, b in zip(_eval_outputs(name, ours), _eval_outputs(name, theirs, torch)):
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
