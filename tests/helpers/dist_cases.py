"""Distribution cases shared by the distribution tests: each builds the same distribution in
softgrad and in PyTorch (``D`` is ``sg.distributions`` or ``torch.distributions``) from
float64 parameter arrays, plus a value generator inside its support."""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np


def _pos(rng, shape, lo=0.5, hi=2.0):
    return rng.uniform(lo, hi, shape)


def _simplex(rng, shape):
    w = rng.uniform(0.2, 1.0, shape)
    return w / w.sum(-1, keepdims=True)


def _tril(rng, n, batch=()):
    a = np.tril(rng.standard_normal(batch + (n, n)) * 0.3)
    idx = np.arange(n)
    a[..., idx, idx] = rng.uniform(0.5, 1.5, batch + (n,))
    return a


def _spd(rng, n, batch=()):
    a = rng.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@dataclass
class DistCase:
    """``make(D, *params)`` builds the distribution; ``params(rng)`` draws float64 arrays
    (index ``ints`` are integer-valued and not differentiated); ``value(rng, params)`` draws a
    batch of values in the support."""

    name: str
    make: Callable
    params: Callable
    value: Callable
    methods: tuple = ("log_prob", "entropy", "mean", "variance", "stddev")
    no_grad: tuple = ()  # parameter positions that are not differentiated
    rsample: bool = False
    sample_tol: float = 0.05
    extra: dict = field(default_factory=dict)


CASES = [
    DistCase("Normal", lambda D, m, s: D.Normal(m, s),
             lambda r: [r.standard_normal((2, 3)), _pos(r, (3,))],
             lambda r, p: r.standard_normal((4, 2, 3)),
             ("log_prob", "entropy", "mean", "variance", "stddev", "mode", "cdf", "icdf",
              "perplexity"), rsample=True),
    DistCase("Uniform", lambda D, lo, w: D.Uniform(lo, lo + w),
             lambda r: [r.standard_normal((3,)), _pos(r, (3,))],
             lambda r, p: p[0] + r.uniform(0.05, 0.95, (4, 3)) * p[1],
             ("log_prob", "entropy", "mean", "variance", "stddev", "cdf", "icdf"),
             rsample=True),
    DistCase("Laplace", lambda D, m, s: D.Laplace(m, s),
             lambda r: [r.standard_normal((3,)), _pos(r, (2, 3))],
             lambda r, p: r.standard_normal((5, 2, 3)),
             ("log_prob", "entropy", "mean", "variance", "stddev", "mode", "cdf", "icdf"),
             rsample=True),
    DistCase("Exponential", lambda D, rate: D.Exponential(rate),
             lambda r: [_pos(r, (4,))], lambda r, p: _pos(r, (3, 4), 0.1, 3.0),
             ("log_prob", "entropy", "mean", "variance", "stddev", "mode", "cdf", "icdf"),
             rsample=True),
    DistCase("Gamma", lambda D, c, rate: D.Gamma(c, rate),
             lambda r: [_pos(r, (3,), 0.5, 4.0), _pos(r, (2, 1))],
             lambda r, p: _pos(r, (4, 2, 3), 0.1, 4.0),
             ("log_prob", "entropy", "mean", "variance", "stddev", "mode", "cdf"), rsample=True,
             extra={"cdf_no_grad": (0,)}),  # PyTorch has no d(cdf)/d(concentration)
    DistCase("Beta", lambda D, a, b: D.Beta(a, b),
             lambda r: [_pos(r, (3,), 0.5, 4.0), _pos(r, (3,), 0.5, 4.0)],
             lambda r, p: r.uniform(0.05, 0.95, (4, 3)),
             ("log_prob", "entropy", "mean", "variance", "stddev", "mode"), rsample=True),
    DistCase("Dirichlet", lambda D, c: D.Dirichlet(c),
             lambda r: [_pos(r, (2, 4), 0.5, 4.0)], lambda r, p: _simplex(r, (3, 2, 4)),
             ("log_prob", "entropy", "mean", "variance", "stddev", "mode"), rsample=True),
    DistCase("Bernoulli_probs", lambda D, p: D.Bernoulli(probs=p),
             lambda r: [r.uniform(0.1, 0.9, (2, 3))],
             lambda r, p: r.integers(0, 2, (4, 2, 3)).astype(np.float64),
             ("log_prob", "entropy", "mean", "variance", "stddev", "mode")),
    DistCase("Bernoulli_logits", lambda D, lg: D.Bernoulli(logits=lg),
             lambda r: [r.standard_normal((3,)) * 2],
             lambda r, p: r.integers(0, 2, (5, 3)).astype(np.float64),
             ("log_prob", "entropy", "mean", "variance", "stddev")),
    DistCase("Binomial", lambda D, n, p: D.Binomial(n, probs=p),
             lambda r: [np.full((3,), 7.0), r.uniform(0.1, 0.9, (3,))],
             lambda r, p: r.integers(0, 8, (4, 3)).astype(np.float64),
             ("log_prob", "entropy", "mean", "variance", "stddev", "mode"), no_grad=(0,)),
    DistCase("Binomial_logits", lambda D, n, lg: D.Binomial(n, logits=lg),
             lambda r: [np.array([3.0, 5.0, 10.0]), r.standard_normal((2, 3))],
             lambda r, p: np.minimum(r.integers(0, 4, (4, 2, 3)), 3).astype(np.float64),
             ("log_prob", "mean", "variance"), no_grad=(0,)),
    DistCase("Poisson", lambda D, rate: D.Poisson(rate),
             lambda r: [_pos(r, (3,), 0.5, 6.0)],
             lambda r, p: r.integers(0, 8, (4, 3)).astype(np.float64),
             ("log_prob", "mean", "variance", "stddev", "mode")),
    DistCase("Categorical_probs", lambda D, p: D.Categorical(probs=p),
             lambda r: [_pos(r, (2, 5), 0.1, 1.0)],
             lambda r, p: r.integers(0, 5, (3, 2)).astype(np.int64),
             ("log_prob", "entropy", "perplexity")),
    DistCase("Categorical_logits", lambda D, lg: D.Categorical(logits=lg),
             lambda r: [r.standard_normal((4,)) * 2],
             lambda r, p: r.integers(0, 4, (6,)).astype(np.int64),
             ("log_prob", "entropy")),
    DistCase("OneHotCategorical", lambda D, lg: D.OneHotCategorical(logits=lg),
             lambda r: [r.standard_normal((2, 4))],
             lambda r, p: np.eye(4)[r.integers(0, 4, (3, 2))],
             ("log_prob", "entropy", "mean", "variance", "mode")),
    DistCase("MultivariateNormal_tril", lambda D, m, L: D.MultivariateNormal(m, scale_tril=L),
             lambda r: [r.standard_normal((2, 3)), _tril(r, 3)],
             lambda r, p: r.standard_normal((4, 2, 3)),
             ("log_prob", "entropy", "mean", "variance", "stddev", "mode"), rsample=True),
    DistCase("MultivariateNormal_cov",
             lambda D, m, C: D.MultivariateNormal(m, covariance_matrix=C),
             lambda r: [r.standard_normal((3,)), _spd(r, 3, (2,))],
             lambda r, p: r.standard_normal((4, 2, 3)),
             ("log_prob", "entropy", "variance"), rsample=True),
    DistCase("MultivariateNormal_prec",
             lambda D, m, P: D.MultivariateNormal(m, precision_matrix=P),
             lambda r: [r.standard_normal((3,)), _spd(r, 3)],
             lambda r, p: r.standard_normal((5, 3)), ("log_prob", "entropy", "variance"),
             rsample=True),
    DistCase("Independent_Normal", lambda D, m, s: D.Independent(D.Normal(m, s), 1),
             lambda r: [r.standard_normal((2, 3)), _pos(r, (2, 3))],
             lambda r, p: r.standard_normal((4, 2, 3)),
             ("log_prob", "entropy", "mean", "variance"), rsample=True),
    DistCase("LogNormal", lambda D, m, s: D.LogNormal(m, s),
             lambda r: [r.standard_normal((3,)) * 0.3, _pos(r, (3,), 0.2, 0.6)],
             lambda r, p: _pos(r, (4, 3), 0.2, 3.0),
             ("log_prob", "entropy", "mean", "variance", "mode", "cdf", "icdf"), rsample=True),
    DistCase("Gumbel", lambda D, m, s: D.Gumbel(m, s),
             lambda r: [r.standard_normal((3,)), _pos(r, (3,))],
             lambda r, p: r.standard_normal((4, 3)),
             ("log_prob", "entropy", "mean", "variance", "stddev", "mode", "cdf", "icdf"),
             rsample=True),
    DistCase("RelaxedBernoulli", lambda D, t, p: D.RelaxedBernoulli(t, probs=p),
             lambda r: [np.array(0.7), r.uniform(0.2, 0.8, (3,))],
             lambda r, p: r.uniform(0.05, 0.95, (4, 3)), ("log_prob",), no_grad=(0,),
             rsample=True),
]

BY_NAME = {c.name: c for c in CASES}
