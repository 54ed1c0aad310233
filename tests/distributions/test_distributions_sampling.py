"""Sampling from softgrad.distributions: shapes (sample + batch + event), float32 by default,
moments of many draws against the closed forms, reparameterised (pathwise) gradients, and
argument validation with PyTorch's messages."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from tests.helpers import fake_cuda
import softgrad as sg
from tests.helpers.checks import torch
from tests.helpers.dist_cases import CASES

D = sg.distributions


def _dist(case, dtype=sg.float32, seed: int = 0, grad: bool = False):
    rng = np.random.default_rng(seed)
    params = []
    for i, a in enumerate(case.params(rng)):
        a = np.asarray(a)
        params.append(sg.tensor(a, dtype=dtype, requires_grad=grad and i not in case.no_grad))
    return case.make(D, *params), params


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sample_shape_is_sample_batch_event_and_float32(case) -> None:
    sg.manual_seed(0)
    dist, _ = _dist(case)
    for sample_shape in [(), (5,), (2, 3)]:
        x = dist.sample(sample_shape)
        want = tuple(sample_shape) + tuple(dist.batch_shape) + tuple(dist.event_shape)
        assert tuple(x.shape) == want, (sample_shape, tuple(x.shape), want)
        assert not x.requires_grad
        if case.name.startswith("Categorical"):
            assert x.dtype == sg.int64
        else:
            assert x.dtype == sg.float32, x.dtype
        assert bool(dist.support.check(x).all()), f"{case.name}: sample outside the support"
        lp = dist.log_prob(x)
        assert tuple(lp.shape) == tuple(sample_shape) + tuple(dist.batch_shape)
        assert lp.dtype == sg.float32 and bool(lp.isfinite().all())


def test_sample_shape_of_a_torch_size_like_and_an_int() -> None:
    n = D.Normal(sg.zeros(3), sg.ones(3))
    assert tuple(n.sample(sg.Size([4])).shape) == (4, 3)
    assert tuple(n.rsample((2, 1)).shape) == (2, 1, 3)
    assert tuple(D.Normal(0.0, 1.0).sample().shape) == ()
    assert D.Normal(0.0, 1.0).sample().dtype == sg.float32


MOMENT_CASES = [c for c in CASES if c.name not in ("RelaxedBernoulli",)]


@pytest.mark.parametrize("case", MOMENT_CASES, ids=[c.name for c in MOMENT_CASES])
def test_moments_of_many_draws_match_mean_and_variance(case) -> None:
    sg.manual_seed(1)
    dist, _ = _dist(case, dtype=sg.float64)
    n = 200_000
    x = dist.sample((n,))
    if case.name.startswith("Categorical"):
        k = dist.probs.shape[-1]
        freq = np.stack([(x.numpy() == i).mean(0) for i in range(k)], -1)
        np.testing.assert_allclose(freq, dist.probs.detach().numpy(), atol=0.01)
        return
    xs = x.numpy()
    mean, var = dist.mean.detach().numpy(), dist.variance.detach().numpy()
    se = np.sqrt(var / n)
    assert np.all(np.abs(xs.mean(0) - mean) < 6 * se + 1e-12), (xs.mean(0), mean)
    np.testing.assert_allclose(xs.var(0), var, rtol=case.sample_tol)


REPARAM = [c for c in CASES if c.rsample]


@pytest.mark.parametrize("case", REPARAM, ids=[c.name for c in REPARAM])
def test_rsample_gradient_is_the_gradient_of_the_expectation(case) -> None:
    """d/dtheta mean(f(rsample)) over many draws ~ d/dtheta E[f] with f(x) = x^2 (summed),
    E[x^2] = variance + mean^2 in closed form. (RelaxedBernoulli has no closed-form moments:
    its pathwise gradient is only checked to be finite and non-zero.)"""
    sg.manual_seed(2)
    n = 50_000 if case.name in ("Gamma", "Beta", "Dirichlet") else 200_000  # slower draws
    dist, params = _dist(case, dtype=sg.float64, grad=True)
    x = dist.rsample((n,))
    assert x.requires_grad
    (x.pow(2).sum() / n).backward()
    pathwise = [p.grad.numpy().copy() for p in params if p.requires_grad]
    if case.name == "RelaxedBernoulli":
        assert all(np.isfinite(g).all() and np.abs(g).sum() > 0 for g in pathwise)
        return
    dist, params = _dist(case, dtype=sg.float64, grad=True)  # same values, a fresh graph
    exact = (dist.variance + dist.mean.pow(2)).sum()
    exact.backward()
    analytic = [p.grad.numpy() for p in params if p.requires_grad]
    for g, a in zip(pathwise, analytic):
        np.testing.assert_allclose(g, a, rtol=0.05, atol=0.02 * np.abs(a).max())


def test_normal_rsample_is_loc_plus_scale_times_noise() -> None:
    loc = sg.tensor([0.5, -1.0], requires_grad=True)
    scale = sg.tensor([2.0, 0.5], requires_grad=True)
    x = D.Normal(loc, scale).rsample((3,))
    x.sum().backward()
    eps = (x.detach() - loc.detach()) / scale.detach()
    np.testing.assert_allclose(loc.grad.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0).numpy(), rtol=1e-5)


def test_gamma_rsample_gradient_matches_torch_implicit_reparameterisation() -> None:
    pytest.importorskip("torch")
    from softgrad.ops.gamma import StandardGamma

    rng = np.random.default_rng(0)
    a = np.concatenate([rng.uniform(0.05, 5, 200), rng.uniform(5, 100, 50)])
    x = rng.gamma(a)
    alpha = sg.tensor(a, dtype=sg.float64, requires_grad=True)
    sg.Tensor._apply(StandardGamma, alpha, value=x).sum().backward()
    ref = torch._standard_gamma_grad(torch.tensor(a), torch.tensor(x)).numpy()
    np.testing.assert_allclose(alpha.grad.numpy(), ref, rtol=1e-3)  # PyTorch's is approximate


def test_rsample_is_refused_where_there_is_no_reparameterisation() -> None:
    for dist in (D.Bernoulli(probs=sg.tensor([0.3])), D.Categorical(logits=sg.zeros(3)),
                 D.Poisson(sg.tensor([2.0])), D.Binomial(4, probs=sg.tensor([0.2]))):
        assert not dist.has_rsample
        with pytest.raises(NotImplementedError):
            dist.rsample()


def test_sample_has_no_gradient_but_rsample_does() -> None:
    loc = sg.zeros(3, requires_grad=True)
    dist = D.Normal(loc, 1.0)
    assert not dist.sample().requires_grad and dist.rsample().requires_grad


def test_manual_seed_makes_sampling_repeat() -> None:
    dist = D.Categorical(logits=sg.randn(4, 6))
    sg.manual_seed(7)
    a = (dist.sample((10,)), D.Normal(0.0, 1.0).sample((5,)), D.Gamma(2.0, 1.0).rsample((3,)))
    sg.manual_seed(7)
    b = (dist.sample((10,)), D.Normal(0.0, 1.0).sample((5,)), D.Gamma(2.0, 1.0).rsample((3,)))
    for u, v in zip(a, b):
        assert u.equal(v)


# ---------------------------------------------------------------------- parameters
def test_categorical_normalises_probs_and_logits_like_torch() -> None:
    pytest.importorskip("torch")
    w = np.array([[1.0, 2.0, 5.0], [0.5, 0.5, 0.0]])
    for kind in ("probs", "logits"):
        ours = D.Categorical(**{kind: sg.tensor(w)})
        theirs = torch.distributions.Categorical(**{kind: torch.tensor(w)})
        np.testing.assert_allclose(ours.probs.numpy(), theirs.probs.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.logits.numpy(), theirs.logits.numpy(), rtol=1e-12)
        assert ours.batch_shape == (2,) and ours.event_shape == ()
        np.testing.assert_array_equal(ours.mode.numpy(), theirs.mode.numpy())
        assert ours.enumerate_support().tolist() == theirs.enumerate_support().tolist()


def test_bernoulli_from_numbers_and_enumerate_support() -> None:
    b = D.Bernoulli(0.3)
    assert b.batch_shape == () and b.probs.dtype == sg.float32
    assert np.isclose(b.logits.item(), math.log(0.3 / 0.7), atol=1e-6)
    assert D.Bernoulli(probs=sg.tensor([0.2, 0.5])).enumerate_support().tolist() == \
        [[0.0, 0.0], [1.0, 1.0]]


def test_expand_broadcasts_parameters_without_copying() -> None:
    cases = [D.Normal(sg.tensor([0.0]), sg.tensor([1.0])), D.Gamma(sg.tensor([2.0]), 1.0),
             D.Categorical(logits=sg.zeros(1, 4)), D.Bernoulli(logits=sg.zeros(1)),
             D.Beta(sg.tensor([2.0]), sg.tensor([3.0])), D.Dirichlet(sg.ones(1, 3)),
             D.MultivariateNormal(sg.zeros(1, 2), scale_tril=sg.eye(2)),
             D.LogNormal(sg.zeros(1), sg.ones(1)), D.Uniform(sg.zeros(1), sg.ones(1))]
    for dist in cases:
        big = dist.expand((5, 1 if dist.batch_shape == () else dist.batch_shape[-1]))
        assert tuple(big.batch_shape) == (5, 1) and big.event_shape == dist.event_shape
        x = big.sample((2,))
        assert tuple(x.shape) == (2, 5, 1) + tuple(dist.event_shape)
        assert tuple(big.log_prob(x).shape) == (2, 5, 1)
        assert type(big) is type(dist)
    ind = D.Independent(D.Normal(sg.zeros(3, 2), sg.ones(3, 2)), 1).expand((4, 3))
    assert tuple(ind.batch_shape) == (4, 3) and tuple(ind.event_shape) == (2,)


def test_independent_moves_batch_dims_into_the_event() -> None:
    base = D.Normal(sg.zeros(4, 3), sg.ones(4, 3))
    ind = D.Independent(base, 1)
    assert tuple(ind.batch_shape) == (4,) and tuple(ind.event_shape) == (3,)
    x = ind.sample()
    np.testing.assert_allclose(ind.log_prob(x).numpy(), base.log_prob(x).sum(-1).numpy(),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims <= len"):
        D.Independent(base, 3)


def test_transformed_distribution_with_tanh_and_affine_like_a_squashed_gaussian() -> None:
    pytest.importorskip("torch")
    T = D.transforms
    rng = np.random.default_rng(0)
    mu, sd = rng.standard_normal(3), rng.uniform(0.5, 1.0, 3)
    out = []
    for mod in (sg, torch):
        DD = mod.distributions
        m = mod.tensor(mu, requires_grad=True)
        s = mod.tensor(sd, requires_grad=True)
        dist = DD.TransformedDistribution(
            DD.Normal(m, s), [DD.transforms.TanhTransform(cache_size=1),
                              DD.transforms.AffineTransform(1.0, 2.0)])
        y = mod.tensor(np.array([[-0.5, 1.0, 2.5], [0.2, 1.7, 2.9]]))
        lp = dist.log_prob(y)
        lp.sum().backward()
        out.append((lp.detach().numpy(), m.grad.numpy(), s.grad.numpy(), dist.batch_shape,
                    dist.event_shape))
    for a, b in zip(out[0][:3], out[1][:3]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert tuple(out[0][3]) == tuple(out[1][3]) and tuple(out[0][4]) == tuple(out[1][4])
    # the cached forward value inverts exactly, even where tanh rounds to 1
    tanh = T.TanhTransform(cache_size=1)
    x = sg.tensor([30.0])
    assert tanh.inv(tanh(x)) is x
    assert T.ExpTransform() == T.ExpTransform() and T.ExpTransform() != T.TanhTransform()


# ---------------------------------------------------------------------- validation
def _messages(fn) -> tuple:
    ours = theirs = None
    try:
        fn(sg)
    except (ValueError, RuntimeError, NotImplementedError) as exc:
        ours = str(exc)
    try:
        fn(torch)
    except (ValueError, RuntimeError, NotImplementedError) as exc:
        theirs = str(exc)
    return ours, theirs


BAD = {
    "negative_scale": lambda m: m.distributions.Normal(m.tensor([0.0]), m.tensor([-1.0])),
    "probs_above_one": lambda m: m.distributions.Bernoulli(probs=m.tensor([1.5])),
    "both_probs_and_logits": lambda m: m.distributions.Categorical(
        probs=m.tensor([0.5, 0.5]), logits=m.tensor([0.0, 0.0])),
    "scalar_probs": lambda m: m.distributions.Categorical(probs=m.tensor(0.5)),
    "negative_concentration": lambda m: m.distributions.Dirichlet(m.tensor([1.0, -1.0])),
    "bad_scale_tril": lambda m: m.distributions.MultivariateNormal(
        m.zeros(2), scale_tril=m.tensor([[1.0, 1.0], [0.0, 1.0]])),
    "two_matrices": lambda m: m.distributions.MultivariateNormal(
        m.zeros(2), covariance_matrix=m.eye(2), scale_tril=m.eye(2)),
    "log_prob_outside_support": lambda m: m.distributions.Exponential(
        m.tensor([1.0])).log_prob(m.tensor([-1.0])),
    "log_prob_category_out_of_range": lambda m: m.distributions.Categorical(
        logits=m.zeros(3)).log_prob(m.tensor(3)),
    "log_prob_wrong_event_shape": lambda m: m.distributions.MultivariateNormal(
        m.zeros(3), m.eye(3)).log_prob(m.zeros(2)),
    "log_prob_not_broadcastable": lambda m: m.distributions.Normal(
        m.zeros(3), m.ones(3)).log_prob(m.zeros(4)),
    "log_prob_of_a_list": lambda m: m.distributions.Normal(0.0, 1.0).log_prob([0.0]),
    "uniform_low_above_high": lambda m: m.distributions.Uniform(m.tensor([2.0]),
                                                                m.tensor([1.0])),
}


@pytest.mark.parametrize("name", list(BAD))
def test_validation_errors_say_what_pytorch_says(name: str) -> None:
    pytest.importorskip("torch")
    ours, theirs = _messages(BAD[name])
    assert theirs is not None and ours is not None, (ours, theirs)
    # the message is PyTorch's, up to the printed tensors (whose formatting may differ)
    def norm(msg: str) -> str:
        return re.sub(r"tensor\([^)]*\)", "tensor(...)", msg.split("\n")[0])

    assert norm(ours) == norm(theirs).replace("torch.", "softgrad."), \
        f"\nsoftgrad: {ours}\npytorch:  {theirs}"


def test_validation_can_be_turned_off() -> None:
    dist = D.Normal(sg.tensor([0.0]), sg.tensor([-1.0]), validate_args=False)
    assert bool(dist.log_prob(sg.tensor([0.0])).isnan().all())
    D.Distribution.set_default_validate_args(False)
    try:
        D.Exponential(sg.tensor([1.0])).log_prob(sg.tensor([-1.0]))
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


def test_repr_names_the_parameters() -> None:
    assert repr(D.Normal(sg.zeros(3), sg.ones(3))) == \
        "Normal(loc: softgrad.Size([3]), scale: softgrad.Size([3]))"
    assert repr(D.Independent(D.Normal(sg.zeros(3), sg.ones(3)), 1)).startswith(
        "Independent(Normal(")


@pytest.mark.parametrize("name", sorted(D.__all__))
def test_signature_matches_torch(name: str) -> None:
    pytest.importorskip("torch")
    from tests.helpers.signatures import compare

    ours = getattr(D, name)
    theirs = getattr(torch.distributions, name, None)
    if theirs is None:
        theirs = getattr(torch.distributions.transforms, name, None) or getattr(
            torch.distributions.relaxed_bernoulli, name)
    if callable(ours) and not isinstance(ours, type) and name not in ("kl_divergence",
                                                                      "register_kl"):
        return  # a module or instance
    compare(f"distributions.{name}", ours, theirs)
    if isinstance(ours, type) and issubclass(ours, D.Distribution):
        for meth in ("sample", "rsample", "log_prob", "entropy", "expand", "cdf", "icdf",
                     "enumerate_support"):
            if meth in vars(theirs) or meth in vars(ours):
                compare(f"distributions.{name}.{meth}", getattr(ours, meth),
                         getattr(theirs, meth))


# ---------------------------------------------------------------------- devices
ON_DEVICE = {
    "normal_rsample": lambda dev, w: D.Normal(w(3), sg.ones(3, device=dev)).rsample((2,)),
    "normal_log_prob_cdf_icdf": lambda dev, w: sum(
        f(sg.full((3,), 0.3, device=dev)) for f in (
            D.Normal(w(3), 2.0).log_prob, D.Normal(w(3), 2.0).cdf, D.Normal(w(3), 2.0).icdf)),
    "categorical": lambda dev, w: D.Categorical(logits=w(2, 3)).log_prob(
        D.Categorical(logits=w(2, 3)).sample((4,))) + D.Categorical(logits=w(2, 3)).entropy(),
    "bernoulli": lambda dev, w: D.Bernoulli(logits=w(3)).log_prob(
        D.Bernoulli(logits=w(3)).sample()),
    "gamma_rsample": lambda dev, w: D.Gamma(w(3).exp(), 2.0).rsample((2,)),
    "dirichlet_entropy": lambda dev, w: D.Dirichlet(w(3).exp()).entropy(),
    "mvn": lambda dev, w: D.MultivariateNormal(
        w(3), covariance_matrix=sg.eye(3, device=dev) * 2).rsample((2,)),
    "kl_mvn": lambda dev, w: D.kl_divergence(
        D.MultivariateNormal(w(3), precision_matrix=sg.eye(3, device=dev) * 2),
        D.MultivariateNormal(sg.zeros(3, device=dev), scale_tril=sg.eye(3, device=dev))),
    "lognormal": lambda dev, w: D.LogNormal(w(3), 0.5).rsample(),
    "multinomial_normal_bernoulli": lambda dev, w: (
        sg.multinomial(w(2, 3).exp(), 2).float().sum() + sg.normal(w(3), 1.0)
        + sg.bernoulli(w(3).sigmoid()) + sg.poisson(w(3).exp())),
}


@pytest.fixture
def fake_device():
    fake_cuda.install()
    try:
        yield "cuda"
    finally:
        fake_cuda.uninstall()


@pytest.mark.parametrize("name", list(ON_DEVICE))
def test_distributions_run_on_the_cuda_device(fake_device, name: str) -> None:
    """On the NumPy-backed stand-in for CuPy: outputs and gradients stay on the device and
    equal the CPU results drawn from the same seed."""
    results = []
    for dev in ("cpu", fake_device):
        params = []

        def w(*shape, dev=dev):
            t = sg.tensor(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape),
                          dtype=sg.float64, device=dev, requires_grad=True)
            params.append(t)
            return t

        sg.manual_seed(3)
        out = ON_DEVICE[name](dev, w)
        assert out.device == dev
        out.sum().backward()
        assert all(p.grad is None or p.grad.device == dev for p in params)
        results.append((sg.tensor(out.detach().cpu().numpy()),
                        [p.grad.cpu().numpy() for p in params if p.grad is not None]))
    np.testing.assert_allclose(results[0][0].numpy(), results[1][0].numpy(), rtol=1e-10)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
