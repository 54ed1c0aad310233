"""Random numbers: ``sg.Generator`` and the global generator (seeds, states, fork_rng),
``generator=`` on every random function, and the samplers ``multinomial``, ``bernoulli``,
``normal``, ``poisson`` and the random Tensor fills, checked by their statistics and against
PyTorch's shapes, dtypes, gradients and error messages."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import torch
from softgrad.utils.data import DataLoader, RandomSampler, TensorDataset, random_split


# ---------------------------------------------------------------------- generators
def test_a_fresh_generator_starts_from_pytorchs_default_seed() -> None:
    g = sg.Generator()
    assert g.initial_seed() == 67280421310721
    if torch is not None:
        assert g.initial_seed() == torch.Generator().initial_seed()
    assert sg.rand(5, generator=sg.Generator()).equal(sg.rand(5, generator=sg.Generator()))
    assert str(g.device) == "cpu" and g.device.type == "cpu"


def test_manual_seed_seed_and_initial_seed() -> None:
    g = sg.Generator()
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    s = g.seed()
    assert isinstance(s, int) and 0 <= s < 2**64 and g.initial_seed() == s
    assert sg.manual_seed(11) is sg.default_generator and sg.initial_seed() == 11
    assert sg.random.manual_seed(12) is sg.default_generator and sg.initial_seed() == 12
    s = sg.seed()
    assert sg.initial_seed() == s and sg.random.initial_seed() == s


def test_seeds_wrap_and_overflow_like_pytorch() -> None:
    pytest.importorskip("torch")
    for seed in (-1, -(2**63), 2**64 - 1, 0):
        assert sg.Generator().manual_seed(seed).initial_seed() == \
            torch.Generator().manual_seed(seed).initial_seed()
    for bad in (2**64, -(2**63) - 1):
        with pytest.raises(RuntimeError, match="Overflow"):
            sg.manual_seed(bad)
    with pytest.raises(TypeError, match="int seed"):
        sg.manual_seed("seven")


def test_state_round_trip_replays_the_stream() -> None:
    g = sg.Generator().manual_seed(3)
    sg.rand(4, generator=g)
    state = g.get_state()
    assert state.dtype == sg.uint8 and tuple(state.shape) == (48,)
    a = sg.randn(6, generator=g)
    g.manual_seed(99)
    assert g.set_state(state) is g
    assert sg.randn(6, generator=g).equal(a) and g.initial_seed() == 3
    with pytest.raises(RuntimeError, match="uint8"):
        g.set_state(sg.zeros(48))


def test_global_state_round_trip_and_fork_rng() -> None:
    sg.manual_seed(4)
    state = sg.get_rng_state()
    a = sg.rand(3)
    sg.set_rng_state(state)
    assert sg.rand(3).equal(a)
    sg.manual_seed(4)
    with sg.random.fork_rng():
        sg.rand(100)
        sg.manual_seed(1)
    assert sg.rand(3).equal(a)  # the stream outside continues as if nothing was drawn
    with sg.random.fork_rng(enabled=False):
        sg.rand(1)
    assert not sg.rand(3).equal(a)


def test_state_survives_save_and_load(tmp_path) -> None:
    sg.manual_seed(8)
    path = tmp_path / "rng.pt"
    sg.save({"rng": sg.get_rng_state()}, path)
    a = sg.rand(3)
    sg.set_rng_state(sg.load(path)["rng"])
    assert sg.rand(3).equal(a)


def _draws(generator):
    t = sg.ones(4, 3)
    return [
        sg.rand(3, generator=generator), sg.randn(2, 2, generator=generator),
        sg.randint(0, 10, (5,), generator=generator), sg.randperm(6, generator=generator),
        sg.rand_like(t, generator=generator), sg.randn_like(t, generator=generator),
        sg.randint_like(t, 3, 9, generator=generator),
        sg.normal(0.0, 1.0, size=(3,), generator=generator),
        sg.normal(sg.zeros(3), sg.ones(3), generator=generator),
        sg.multinomial(sg.ones(5), 3, generator=generator),
        sg.bernoulli(sg.full((4,), 0.5), generator=generator),
        sg.poisson(sg.full((3,), 4.0), generator=generator),
        sg.empty(3).uniform_(generator=generator), sg.empty(3).normal_(generator=generator),
        sg.empty(3).exponential_(generator=generator),
        sg.empty(3).geometric_(0.3, generator=generator),
        sg.empty(3).log_normal_(generator=generator), sg.empty(3).cauchy_(generator=generator),
        sg.empty(3).random_(0, 100, generator=generator),
        sg.empty(3).bernoulli_(0.5, generator=generator),
        sg.ones(2, 4).multinomial(2, generator=generator),
        sg.full((3,), 0.5).bernoulli(generator=generator),
        sg.nn.init.normal_(sg.empty(3), generator=generator),
    ]


def test_generator_argument_reaches_every_random_function() -> None:
    sg.manual_seed(0)
    before = sg.get_rng_state()
    a = _draws(sg.Generator().manual_seed(21))
    b = _draws(sg.Generator().manual_seed(21))
    c = _draws(sg.Generator().manual_seed(22))
    assert sg.get_rng_state().equal(before), "a generator= draw used the global stream"
    for x, y in zip(a, b):
        assert x.equal(y)
    assert sum(not x.equal(z) for x, z in zip(a, c)) >= len(a) - 3  # a few are certain


def test_data_utilities_take_a_generator() -> None:
    ds = TensorDataset(sg.arange(20))
    g1, g2 = sg.Generator().manual_seed(1), sg.Generator().manual_seed(1)
    order = lambda g: [int(b[0][0]) for b in DataLoader(ds, 1, shuffle=True, generator=g)]
    assert order(g1) == order(g2) and sorted(order(g1)) == list(range(20))
    parts = [random_split(ds, [15, 5], generator=sg.Generator().manual_seed(3))
             for _ in range(2)]
    assert list(parts[0][1].indices) == list(parts[1][1].indices)
    s = [list(RandomSampler(ds, generator=sg.Generator().manual_seed(5))) for _ in range(2)]
    assert s[0] == s[1]


def test_a_foreign_generator_is_refused_with_a_clear_error() -> None:
    with pytest.raises(TypeError, match="softgrad.Generator"):
        sg.rand(3, generator="seed")
    if torch is not None:
        with pytest.raises(TypeError, match="softgrad.Generator"):
            sg.multinomial(sg.ones(3), 1, generator=torch.Generator())


# ---------------------------------------------------------------------- multinomial
def test_multinomial_shapes_and_frequencies_with_replacement() -> None:
    sg.manual_seed(0)
    w = sg.tensor([[1.0, 2.0, 0.0, 7.0], [0.0, 0.0, 5.0, 5.0]])
    x = sg.multinomial(w, 100_000, replacement=True)
    assert tuple(x.shape) == (2, 100_000) and x.dtype == sg.int64
    freq = np.stack([(x.numpy() == k).mean(1) for k in range(4)], 1)
    np.testing.assert_allclose(freq, w.numpy() / w.numpy().sum(1, keepdims=True), atol=0.01)
    assert not (x.numpy()[:, :] == 2)[0].any() and not (x.numpy()[1] < 2).any()
    one = sg.multinomial(sg.tensor([0.2, 0.8]), 1)
    assert tuple(one.shape) == (1,)
    big = sg.multinomial(sg.rand(3, 1000), 5000, True)  # the per-row search path
    assert tuple(big.shape) == (3, 5000) and int(big.max()) < 1000


def test_multinomial_without_replacement() -> None:
    sg.manual_seed(1)
    x = sg.multinomial(sg.ones(500, 6), 6)
    assert all(sorted(r) == list(range(6)) for r in x.tolist())
    # zero-weight categories come only after every positive one
    assert sg.multinomial(sg.tensor([0.0, 1.0, 0.0]), 3).tolist()[0] == 1
    # the first draw follows the weights; later draws renormalise
    w = np.array([0.1, 0.2, 0.7])
    first = sg.multinomial(sg.tensor(w).expand(40_000, 3), 2)[:, 0].numpy()
    np.testing.assert_allclose(np.bincount(first, minlength=3) / 40_000, w, atol=0.01)


MULTINOMIAL_ERRORS = [
    lambda m: m.multinomial(m.tensor([0.0, 0.0, 0.0]), 1),
    lambda m: m.multinomial(m.tensor([-1.0, 1.0, 0.0]), 1),
    lambda m: m.multinomial(m.tensor([1.0, 1.0]), 3),
    lambda m: m.multinomial(m.ones(2, 2, 2), 1),
    lambda m: m.multinomial(m.tensor([float("nan"), 1.0]), 1),
    lambda m: m.multinomial(m.tensor([1, 1]), 1),
    lambda m: m.multinomial(m.tensor([1.0, 1.0]), 0),
    lambda m: m.multinomial(m.ones(0), 1),
    lambda m: m.multinomial(m.tensor([[1.0, 1.0], [0.0, 0.0]]), 1, True),
]


@pytest.mark.parametrize("i", range(len(MULTINOMIAL_ERRORS)))
def test_multinomial_errors_match_pytorch(i: int) -> None:
    pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as theirs:
        MULTINOMIAL_ERRORS[i](torch)
    with pytest.raises(RuntimeError) as ours:
        MULTINOMIAL_ERRORS[i](sg)
    assert str(ours.value) == str(theirs.value)


# ---------------------------------------------------------------------- bernoulli, normal
def test_bernoulli_frequencies_dtype_and_zero_gradient_like_pytorch() -> None:
    sg.manual_seed(2)
    p = sg.tensor([0.1, 0.5, 0.9], dtype=sg.float64, requires_grad=True)
    x = sg.bernoulli(p.expand(50_000, 3))
    assert x.requires_grad  # as in PyTorch, with a zero gradient
    x.sum().backward()
    assert p.grad is not None and not p.grad.numpy().any()
    x = x.detach()
    assert x.dtype == sg.float64 and set(np.unique(x.numpy())) <= {0.0, 1.0}
    np.testing.assert_allclose(x.numpy().mean(0), [0.1, 0.5, 0.9], atol=0.01)
    fixed = sg.bernoulli(sg.zeros(20_000), 0.25)
    assert abs(float(fixed.mean()) - 0.25) < 0.015
    with pytest.raises(RuntimeError, match=r"\[0, 1\]"):  # clearer than PyTorch's message
        sg.bernoulli(sg.tensor([1.5]))
    with pytest.raises(RuntimeError, match=r"\[0, 1\]"):
        sg.zeros(3).bernoulli_(sg.tensor([0.5, 1.5, 0.0]))
    with pytest.raises(NotImplementedError, match="Long"):
        sg.bernoulli(sg.tensor([1, 0]))


def test_normal_overloads_match_pytorch_shapes_dtypes_and_gradients() -> None:
    pytest.importorskip("torch")
    calls = [
        lambda m: m.normal(m.zeros(2, 1), m.ones(3)),
        lambda m: m.normal(m.zeros(3)),
        lambda m: m.normal(m.zeros(3), 2.0),
        lambda m: m.normal(0.5, m.ones(3)),
        lambda m: m.normal(0.0, 1.0, size=(2, 3)),
        lambda m: m.normal(2, 3, (4,)),
        lambda m: m.normal(mean=m.zeros(3, dtype=m.float64), std=m.ones(3)),
    ]
    torch.set_default_dtype(torch.float32)  # the tests' float64 default would hide float32
    try:
        for call in calls:
            a, b = call(sg), call(torch)
            assert tuple(a.shape) == tuple(b.shape)
            assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    finally:
        torch.set_default_dtype(torch.float64)
    for mod in (sg, torch):
        m = mod.zeros(3, requires_grad=True)
        s = mod.ones(3, requires_grad=True)
        out = mod.normal(m, s)
        assert out.requires_grad
        out.sum().backward()
        assert not m.grad.numpy().any() and not s.grad.numpy().any()


def test_normal_statistics_and_errors() -> None:
    sg.manual_seed(3)
    x = sg.normal(sg.tensor([-2.0, 5.0]).expand(100_000, 2), sg.tensor([0.5, 3.0]))
    np.testing.assert_allclose(x.numpy().mean(0), [-2.0, 5.0], atol=0.03)
    np.testing.assert_allclose(x.numpy().std(0), [0.5, 3.0], rtol=0.01)
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        sg.normal(sg.zeros(3), -sg.ones(3))
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        sg.normal(0.0, -1.0, size=(2,))
    with pytest.raises(TypeError, match="size="):
        sg.normal(0.0, 1.0)
    with pytest.raises(TypeError, match="size="):
        sg.normal(sg.zeros(3), sg.ones(3), size=(3,))


def test_poisson_mean_and_errors() -> None:
    sg.manual_seed(4)
    rate = sg.tensor([0.5, 4.0, 30.0])
    x = sg.poisson(rate.expand(50_000, 3))
    assert x.dtype == sg.float32 and (x.numpy() == np.round(x.numpy())).all()
    np.testing.assert_allclose(x.numpy().mean(0), [0.5, 4.0, 30.0], rtol=0.02)
    with pytest.raises(RuntimeError, match="non-negative"):
        sg.poisson(sg.tensor([1.0, -1.0]))


# ---------------------------------------------------------------------- tensor fills
def test_random_fills_follow_their_distributions() -> None:
    sg.manual_seed(5)
    n = 100_000
    e = sg.empty(n).exponential_(2.0).numpy()
    assert e.min() >= 0 and abs(e.mean() - 0.5) < 0.01
    g = sg.empty(n).geometric_(0.25).numpy()
    assert g.min() >= 1 and (g == np.round(g)).all() and abs(g.mean() - 4.0) < 0.05
    ln = sg.empty(n, dtype=sg.float64).log_normal_(0.5, 0.3).numpy()
    assert abs(np.median(ln) - np.exp(0.5)) < 0.01
    c = sg.empty(n).cauchy_(1.0, 2.0).numpy()
    assert abs(np.median(c) - 1.0) < 0.05 and abs(np.median(np.abs(c - 1.0)) - 2.0) < 0.05
    b = sg.empty(n).bernoulli_(sg.tensor(0.3)).numpy()
    assert abs(b.mean() - 0.3) < 0.01
    r = sg.empty(n).random_(3, 7).numpy()
    assert set(np.unique(r)) == {3.0, 4.0, 5.0, 6.0}
    assert set(np.unique(sg.zeros(1000, dtype=sg.int64).random_(4).numpy())) == {0, 1, 2, 3}
    assert 0 <= sg.zeros(1000).random_().numpy().min() and \
        sg.zeros(1000).random_().numpy().max() <= 2**24
    assert set(np.unique(sg.zeros(100, dtype=sg.bool).random_().numpy())) == {False, True}


FILL_ERRORS = [
    lambda m: m.zeros(3).exponential_(-1),
    lambda m: m.zeros(3).geometric_(0),
    lambda m: m.zeros(3).geometric_(1.5),
    lambda m: m.zeros(3).log_normal_(0, -1),
    lambda m: m.zeros(3).random_(5, 2),
    lambda m: m.zeros(3).bernoulli_(2.0),
    lambda m: m.zeros(3).cauchy_(0, -1),
    lambda m: m.zeros(3).exponential_(-1.5),
    lambda m: m.zeros(3).normal_(0, -1.0),
    lambda m: m.zeros(3).uniform_(2, 1),
]


@pytest.mark.parametrize("i", range(len(FILL_ERRORS)))
def test_fill_errors_match_pytorch(i: int) -> None:
    pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as ours:
        FILL_ERRORS[i](sg)
    try:
        FILL_ERRORS[i](torch)
    except RuntimeError as exc:
        assert str(ours.value) == str(exc)


def test_fills_refuse_a_leaf_that_requires_grad() -> None:
    w = sg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w.exponential_()
    with sg.no_grad():
        w.exponential_()
    assert (w.detach().numpy() > 0).all()
