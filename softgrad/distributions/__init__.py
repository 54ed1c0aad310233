"""``sg.distributions``: probability distributions with PyTorch's API.

``sample`` / ``rsample`` (reparameterised, differentiable), ``log_prob``, ``entropy``,
``mean``/``mode``/``variance``/``stddev``, ``cdf``/``icdf`` where closed forms exist,
``expand``, argument validation, and ``kl_divergence`` for the common pairs.

Example:
    >>> from softgrad.distributions import Categorical, Normal, kl_divergence
    >>> dist = Categorical(logits=policy(state)); a = dist.sample()
    >>> loss = -(dist.log_prob(a) * advantage).mean()
"""
from softgrad.distributions import constraints, transforms
from softgrad.distributions.bernoulli import Bernoulli, Binomial
from softgrad.distributions.categorical import (Categorical, OneHotCategorical,
                                                OneHotCategoricalStraightThrough)
from softgrad.distributions.dirichlet import Beta, Dirichlet
from softgrad.distributions.distribution import Distribution
from softgrad.distributions.exponential import Exponential
from softgrad.distributions.gamma import Gamma
from softgrad.distributions.gumbel import Gumbel
from softgrad.distributions.independent import Independent
from softgrad.distributions.kl import kl_divergence, register_kl
from softgrad.distributions.laplace import Laplace
from softgrad.distributions.multivariate_normal import MultivariateNormal
from softgrad.distributions.normal import Normal
from softgrad.distributions.poisson import Poisson
from softgrad.distributions.transformed_distribution import (LogitRelaxedBernoulli, LogNormal,
                                                             RelaxedBernoulli,
                                                             TransformedDistribution)
from softgrad.distributions.transforms import (AffineTransform, ComposeTransform, ExpTransform,
                                               PowerTransform, SigmoidTransform,
                                               SoftplusTransform, TanhTransform, Transform)
from softgrad.distributions.uniform import Uniform

__all__ = ["AffineTransform", "Bernoulli", "Beta", "Binomial", "Categorical",
           "ComposeTransform", "Dirichlet", "Distribution", "ExpTransform", "Exponential",
           "Gamma", "Gumbel", "Independent", "Laplace", "LogNormal", "LogitRelaxedBernoulli",
           "MultivariateNormal", "Normal", "OneHotCategorical",
           "OneHotCategoricalStraightThrough", "Poisson", "PowerTransform", "RelaxedBernoulli",
           "SigmoidTransform", "SoftplusTransform", "TanhTransform", "Transform",
           "TransformedDistribution", "Uniform", "constraints", "kl_divergence", "register_kl",
           "transforms"]
