"""The ways PyTorch programs use sampling, written as they are written there: REINFORCE with
``Categorical``, a VAE with ``Normal.rsample`` and ``kl_divergence``, and text generation
with ``multinomial`` (as in makemore and nanoGPT)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from tests.helpers.checks import torch
from softgrad import nn
from softgrad.distributions import Categorical, Normal, kl_divergence


def _policy(mod, w1, w2):
    net = mod.nn.Sequential(mod.nn.Linear(4, 8), mod.nn.ReLU(), mod.nn.Linear(8, 2),
                            mod.nn.Softmax(dim=1))
    with mod.no_grad():
        net[0].weight.copy_(mod.tensor(w1[0]))
        net[0].bias.copy_(mod.tensor(w1[1]))
        net[2].weight.copy_(mod.tensor(w2[0]))
        net[2].bias.copy_(mod.tensor(w2[1]))
    return net


@pytest.fixture
def torch_float32():
    """PyTorch's own float32 default (the shared test helpers switch it to float64)."""
    pytest.importorskip("torch")
    torch.set_default_dtype(torch.float32)
    yield
    torch.set_default_dtype(torch.float64)


def test_reinforce_policy_gradient_matches_torch(torch_float32) -> None:
    """pytorch/examples reinforce.py: sample, log_prob, -log_prob * normalised return."""
    rng = np.random.default_rng(0)
    w1 = (rng.standard_normal((8, 4)) * 0.5, rng.standard_normal(8) * 0.1)
    w2 = (rng.standard_normal((2, 8)) * 0.5, rng.standard_normal(2) * 0.1)
    states = rng.standard_normal((6, 4)).astype(np.float32)
    rewards = rng.uniform(0, 1, 6)
    sg.manual_seed(0)
    ours = _policy(sg, w1, w2)
    actions, log_probs = [], []
    for s in states:
        probs = ours(sg.from_numpy(s).float().unsqueeze(0))
        m = Categorical(probs)
        action = m.sample()
        actions.append(action.item())
        log_probs.append(m.log_prob(action))
    assert set(actions) <= {0, 1}

    def loss_of(mod, log_probs):
        returns = mod.tensor(rewards[::-1].cumsum()[::-1].copy())
        returns = (returns - returns.mean()) / (returns.std() + 1e-8)
        return mod.cat([-lp * r for lp, r in zip(log_probs, returns)]).sum()

    loss_of(sg, log_probs).backward()
    theirs = _policy(torch, w1, w2)
    t_log_probs = []
    for s, a in zip(states, actions):
        m = torch.distributions.Categorical(theirs(torch.from_numpy(s).float().unsqueeze(0)))
        t_log_probs.append(m.log_prob(torch.tensor([a])))
    loss_of(torch, t_log_probs).backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)


class _VAE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(6, 2 * 2)
        self.dec = nn.Linear(2, 6)

    def forward(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=-1)
        q = Normal(mu, (0.5 * logvar).exp())
        z = q.rsample()
        prior = Normal(sg.zeros_like(mu), sg.ones_like(mu))
        return self.dec(z), kl_divergence(q, prior).sum(-1)


def test_vae_trains_with_rsample_and_kl_divergence() -> None:
    sg.manual_seed(0)
    basis = sg.randn(2, 6)
    data = sg.randn(256, 2) @ basis
    model = _VAE()
    opt = sg.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(80):
        recon, kl = model(data)
        loss = F.mse_loss(recon, data, reduction="none").sum(-1).mean() + 0.1 * kl.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(p.grad is not None for p in model.parameters())
    assert np.mean(losses[-10:]) < 0.3 * np.mean(losses[:10])


def test_kl_to_a_standard_normal_has_the_textbook_form_and_gradient() -> None:
    mu = sg.tensor([[0.3, -1.0]], requires_grad=True)
    logvar = sg.tensor([[0.2, -0.5]], requires_grad=True)
    kl = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum()
    textbook = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum()
    assert np.isclose(kl.item(), textbook.item(), rtol=1e-6)
    kl.backward()
    np.testing.assert_allclose(mu.grad.numpy(), mu.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(logvar.grad.numpy(), 0.5 * (logvar.detach().exp().numpy() - 1),
                               rtol=1e-5)


def test_generation_loop_with_multinomial_follows_the_model() -> None:
    """makemore's sampling loop: probs of the next character, one multinomial draw each."""
    table = sg.tensor([[0.0, 0.9, 0.1], [0.5, 0.0, 0.5], [1.0, 0.0, 0.0]])
    g = sg.Generator().manual_seed(2147483647)
    counts = np.zeros((3, 3))
    for _ in range(300):
        ix = 0
        for _ in range(10):
            p = table[ix]
            nxt = sg.multinomial(p, num_samples=1, replacement=True, generator=g).item()
            counts[ix, nxt] += 1
            ix = nxt
    freq = counts / counts.sum(1, keepdims=True)
    np.testing.assert_allclose(freq, table.numpy(), atol=0.05)
    assert counts[0, 0] == counts[1, 1] == counts[2, 1] == counts[2, 2] == 0


def test_nanogpt_style_batched_sampling_with_top_k() -> None:
    """nanoGPT generate(): logits / temperature, top-k mask, softmax, multinomial, cat."""
    sg.manual_seed(0)
    idx = sg.zeros((4, 1), dtype=sg.long)
    logits_table = sg.randn(10, 10)
    for _ in range(20):
        logits = logits_table[idx[:, -1]] / 0.8
        v, _ = sg.topk(logits, 3)
        logits[logits < v[:, [-1]]] = -float("inf")
        probs = F.softmax(logits, dim=-1)
        idx_next = sg.multinomial(probs, num_samples=1)
        idx = sg.cat((idx, idx_next), dim=1)
    assert tuple(idx.shape) == (4, 21) and idx.dtype == sg.int64
    top3 = np.argsort(-logits_table.numpy(), axis=1)[:, :3]
    for row in idx.tolist():
        for a, b in itertools.pairwise(row):
            assert b in top3[a]


def test_bernoulli_masks_and_normal_noise_as_programs_write_them() -> None:
    sg.manual_seed(1)
    mask = sg.bernoulli(sg.full((1000, 10), 0.8))
    assert abs(float(mask.mean()) - 0.8) < 0.02
    noise = sg.normal(0, 1, size=(5000, 3))
    assert noise.dtype == sg.float32 and abs(float(noise.std()) - 1.0) < 0.03
    w = sg.empty(64, 32)
    w.data.normal_(0, 0.02)
    assert abs(float(w.std()) - 0.02) < 0.002


def test_d2l_style_normal_with_a_positional_size_and_requires_grad() -> None:
    """d2l: ``torch.normal(0, 1, (n, len(w)))`` data and ``torch.normal(0, 0.01, size=(2, 1),
    requires_grad=True)`` parameters, trained by hand."""
    sg.manual_seed(0)
    true_w = sg.tensor([2.0, -3.4])
    X = sg.normal(0, 1, (1000, len(true_w)))
    y = X @ true_w + 4.2 + sg.normal(0, 0.01, (1000,))
    w = sg.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = sg.zeros(1, requires_grad=True)
    assert w.is_leaf and w.requires_grad and w.dtype == sg.float32
    for _ in range(300):
        loss = ((X @ w).squeeze(1) + b - y).pow(2).mean()
        loss.backward()
        with sg.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
            w.grad.zero_()
            b.grad.zero_()
    np.testing.assert_allclose(w.detach().numpy().ravel(), [2.0, -3.4], atol=0.01)
    assert abs(b.item() - 4.2) < 0.01


def test_word_language_model_style_multinomial_on_unnormalised_weights() -> None:
    """pytorch/examples word_language_model generate.py: exp of scores, one draw."""
    sg.manual_seed(0)
    output = sg.tensor([[1.0, 3.0, 0.5]])
    word_weights = output.squeeze().div(0.7).exp()
    draws = [sg.multinomial(word_weights, 1)[0].item() for _ in range(4000)]
    expected = F.softmax(output.squeeze() / 0.7, dim=0).numpy()
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 4000, expected, atol=0.03)
