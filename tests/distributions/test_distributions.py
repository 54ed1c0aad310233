"""softgrad.distributions against torch.distributions: log_prob, entropy, moments, cdf/icdf
and KL values, and their gradients with respect to every parameter (float64)."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
from tests.helpers.checks import torch
from tests.helpers.dist_cases import BY_NAME, CASES

D_SG = sg.distributions


def _tensors(mod, arrays: list, no_grad: tuple) -> list:
    out = []
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        grad = a.dtype.kind == "f" and i not in no_grad
        out.append(mod.tensor(a, dtype=mod.float64 if a.dtype.kind == "f" else None,
                              requires_grad=grad))
    return out


def _evaluate(mod, D, case, arrays, method: str, value: np.ndarray, weights_seed: int = 1):
    """(output as NumPy, gradients of sum(w * output) w.r.t. the parameters)."""
    params = _tensors(mod, arrays, case.extra.get(f"{method}_no_grad", case.no_grad))
    dist = case.make(D, *params)
    if method in ("log_prob", "cdf", "icdf"):
        v = mod.tensor(value) if value.dtype.kind != "f" else mod.tensor(value,
                                                                         dtype=mod.float64)
        out = getattr(dist, method)(v)
    elif method in ("entropy", "perplexity"):
        out = getattr(dist, method)()
    else:
        out = getattr(dist, method)
    arr = out.detach().numpy()
    grads = [None] * len(params)
    if out.requires_grad:
        w = np.random.default_rng(weights_seed).standard_normal(tuple(out.shape))
        mask = np.isfinite(arr)
        loss = (out * mod.tensor(np.where(mask, w, 0.0))).sum() if mask.all() else \
            (out[mod.tensor(mask)] * mod.tensor(w[mask])).sum()
        loss.backward()
        grads = [None if p.grad is None else p.grad.numpy() for p in params]
    return arr, grads


def _values_for(case, rng, arrays, method):
    if method == "icdf":
        return rng.uniform(0.05, 0.95, case.value(rng, arrays).shape)
    return case.value(rng, arrays)


METHOD_CASES = [pytest.param(c, m, id=f"{c.name}-{m}") for c in CASES for m in c.methods]


@pytest.mark.parametrize("case, method", METHOD_CASES)
def test_values_and_gradients_match_torch(case, method) -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = case.params(rng)
    value = _values_for(case, rng, arrays, method)
    ours, our_grads = _evaluate(sg, D_SG, case, arrays, method, value)
    theirs, their_grads = _evaluate(torch, torch.distributions, case, arrays, method, value)
    assert ours.shape == theirs.shape, f"{method}: shape {ours.shape} vs {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9, equal_nan=True,
                               err_msg=f"{case.name}.{method}")
    for i, (g, t) in enumerate(zip(our_grads, their_grads)):
        if t is None or g is None:  # one side has no dependence: the other's must be zero
            assert g is None or np.allclose(g, 0), f"param {i}: softgrad {g} vs no gradient"
            assert t is None or np.allclose(t, 0), f"param {i}: torch {t} vs no gradient"
            continue
        np.testing.assert_allclose(g, t, rtol=1e-6, atol=1e-8,
                                   err_msg=f"{case.name}.{method} d/dparam{i}")


KL_PAIRS = [
    ("Normal", "Normal"), ("Uniform", "Uniform"), ("Laplace", "Laplace"),
    ("Exponential", "Exponential"), ("Gamma", "Gamma"), ("Beta", "Beta"),
    ("Dirichlet", "Dirichlet"), ("Bernoulli_probs", "Bernoulli_probs"),
    ("Bernoulli_logits", "Bernoulli_probs"), ("Categorical_probs", "Categorical_probs"),
    ("Categorical_logits", "Categorical_probs"), ("OneHotCategorical", "OneHotCategorical"),
    ("MultivariateNormal_tril", "MultivariateNormal_cov"),
    ("MultivariateNormal_prec", "MultivariateNormal_tril"),
    ("Independent_Normal", "Independent_Normal"), ("Poisson", "Poisson"),
    ("Binomial", "Binomial"), ("LogNormal", "LogNormal"), ("Gumbel", "Gumbel"),
]


def _shape_like(case_p, arrays_p, case_q, rng):
    """Parameters for q whose shapes broadcast with p's (same event size)."""
    if case_q.name.startswith("Categorical") or case_q.name == "OneHotCategorical":
        k = np.asarray(arrays_p[0]).shape[-1]
        return [_pos_like(rng, (k,))] if case_q.name != "OneHotCategorical" else \
            [rng.standard_normal((k,))]
    if case_q.name == "Bernoulli_probs" and case_p.name == "Bernoulli_logits":
        return [rng.uniform(0.1, 0.9, np.asarray(arrays_p[0]).shape)]
    if case_q.name == "Uniform":  # q must cover p's support: wider on both sides
        lo, w = arrays_p
        return [lo - rng.uniform(0.1, 0.5, lo.shape), w + rng.uniform(0.6, 1.0, w.shape)]
    return case_q.params(rng)


def _pos_like(rng, shape):
    return rng.uniform(0.1, 1.0, shape)


def _kl(mod, D, case_p, arrays_p, case_q, arrays_q):
    ps = _tensors(mod, arrays_p, case_p.no_grad)
    qs = _tensors(mod, arrays_q, case_q.no_grad)
    kl = D.kl_divergence(case_p.make(D, *ps), case_q.make(D, *qs))
    w = np.random.default_rng(3).standard_normal(tuple(kl.shape))
    (kl * mod.tensor(w)).sum().backward()
    grads = [None if t.grad is None else t.grad.numpy() for t in ps + qs]
    return kl.detach().numpy(), grads


@pytest.mark.parametrize("p_name, q_name", KL_PAIRS, ids=[f"{p}-{q}" for p, q in KL_PAIRS])
def test_kl_divergence_and_its_gradients_match_torch(p_name: str, q_name: str) -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    case_p, case_q = BY_NAME[p_name], BY_NAME[q_name]
    arrays_p = case_p.params(rng)
    arrays_q = _shape_like(case_p, arrays_p, case_q, rng)
    ours, og = _kl(sg, D_SG, case_p, arrays_p, case_q, arrays_q)
    theirs, tg = _kl(torch, torch.distributions, case_p, arrays_p, case_q, arrays_q)
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)
    assert np.all(ours >= -1e-12)
    for i, (g, t) in enumerate(zip(og, tg)):
        if g is None or t is None:
            assert (g is None or np.allclose(g, 0)) and (t is None or np.allclose(t, 0)), i
            continue
        np.testing.assert_allclose(g, t, rtol=1e-6, atol=1e-8, err_msg=f"grad {i}")


def test_kl_infinite_where_supports_do_not_nest_as_in_torch() -> None:
    pytest.importorskip("torch")
    for mod in (sg, torch):
        D = mod.distributions
        u = D.kl_divergence(D.Uniform(mod.tensor([0.0, 0.0]), mod.tensor([1.0, 1.0])),
                            D.Uniform(mod.tensor([0.5, -1.0]), mod.tensor([2.0, 2.0])))
        c = D.kl_divergence(D.Categorical(probs=mod.tensor([0.5, 0.5, 0.0])),
                            D.Categorical(probs=mod.tensor([1.0, 0.0, 0.0])))
        b = D.kl_divergence(D.Bernoulli(probs=mod.tensor([0.0, 0.3])),
                            D.Bernoulli(probs=mod.tensor([0.0, 1.0])))
        assert u.tolist()[0] == float("inf") and np.isclose(u.tolist()[1], np.log(3.0))
        assert c.item() == float("inf")
        assert b.tolist() == [0.0, float("inf")]


def test_kl_without_a_closed_form_raises_and_register_kl_adds_one() -> None:
    D = sg.distributions
    p, q = D.Normal(0.0, 1.0), D.Laplace(0.0, 1.0)
    with pytest.raises(NotImplementedError, match="p type Normal and q type Laplace"):
        D.kl_divergence(p, q)

    class MyNormal(D.Normal):
        pass

    # a subclass finds its parent's rule, and a rule for the subclass wins once registered
    assert np.isclose(D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)).item(), 0.5)

    @D.register_kl(MyNormal, D.Normal)
    def _always_seven(p, q):
        return sg.tensor(7.0)

    assert D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)).item() == 7.0
    assert np.isclose(D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(1.0, 1.0)).item(), 0.5)
    with pytest.raises(TypeError, match="subclass of Distribution"):
        D.register_kl(int, D.Normal)


TRANSFORMS = {
    "exp": lambda T, p: T.ExpTransform(),
    "sigmoid": lambda T, p: T.SigmoidTransform(),
    "tanh": lambda T, p: T.TanhTransform(),
    "softplus": lambda T, p: T.SoftplusTransform(),
    "power": lambda T, p: T.PowerTransform(p),
    "affine": lambda T, p: T.AffineTransform(p - 1.0, p),
    "affine_event": lambda T, p: T.AffineTransform(0.5, p, event_dim=1),
    "compose": lambda T, p: T.ComposeTransform([T.AffineTransform(0.3, p), T.ExpTransform(),
                                                T.PowerTransform(2.0)]),
    "inverse": lambda T, p: T.SigmoidTransform().inv,
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transforms_match_torch(name: str) -> None:
    """Forward, inverse and log |det J| (values, and gradients w.r.t. x and the parameter)."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x0 = rng.uniform(0.2, 0.9, (2, 3))
    p0 = rng.uniform(0.5, 1.5, (3,))
    results = []
    for mod in (sg, torch):
        T = mod.distributions.transforms
        x = mod.tensor(x0, requires_grad=True)
        p = mod.tensor(p0, requires_grad=True)
        t = TRANSFORMS[name](T, p)
        y = t(x)
        back = t.inv(y.detach())
        ladj = t.log_abs_det_jacobian(x, y)
        (y.sum() + 2 * ladj.sum()).backward()
        results.append([y.detach().numpy(), back.detach().numpy(), ladj.detach().numpy(),
                        x.grad.numpy(), None if p.grad is None else p.grad.numpy(),
                        t.domain.event_dim, t.codomain.event_dim, t.bijective])
    ours, theirs = results
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a is None or b is None:
            assert (a is None or not np.any(a)) and (b is None or not np.any(b)), i
        else:
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10, err_msg=f"item {i}")
