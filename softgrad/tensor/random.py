"""Random methods of Tensor (a mixin): ``multinomial``, ``bernoulli`` and the in-place fills
(``uniform_``, ``normal_``, ``bernoulli_``, ``exponential_``, ``geometric_``, ``log_normal_``,
``cauchy_``, ``random_``).

Draws come from ``generator`` (an ``sg.Generator``), else from the seeded global generator.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

from softgrad import backend
from softgrad.ops import random as R
from softgrad.tensor.base import TensorBase

if TYPE_CHECKING:
    from softgrad.tensor.core import Tensor

np = backend.np


def _rng(generator: Any) -> Any:
    if generator is None:
        return backend.generator()
    rng = getattr(generator, "rng", generator)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"generator must be a softgrad.Generator, got "
                        f"{type(generator).__name__}")
    return rng


class RandomMixin(TensorBase):
    """Sampling methods of Tensor."""

    __slots__ = ()

    # ------------------------------------------------------------------ out of place
    def multinomial(self, num_samples: int, replacement: bool = False, *,
                    generator: Any = None) -> Tensor:
        """``num_samples`` category indices per row, drawn with probability proportional to
        the (non-negative, not necessarily normalised) weights in this 1-D or 2-D tensor.

        Shape: (K,) -> (num_samples,); (B, K) -> (B, num_samples), int64.
        """
        if self.ndim not in (1, 2):
            raise RuntimeError("prob_dist must be 1 or 2 dim")
        probs = backend.to_numpy(self._data)
        rows = probs.reshape(1, -1) if self.ndim == 1 else probs
        R.check_multinomial(rows, num_samples, replacement, probs.dtype)
        idx = R.multinomial(rows.astype(np.float64), int(num_samples), bool(replacement),
                            _rng(generator))
        out = idx[0] if self.ndim == 1 else idx
        return type(self)._wrap(backend.to_device(out, self.device))

    def bernoulli(self, p: Any = None, *, generator: Any = None) -> Tensor:
        """0/1 draws (this tensor's dtype): 1 with probability ``self`` (or ``p`` when given).

        Gradient to the probabilities: zero, as in PyTorch.
        """
        if self._data.dtype.kind != "f":
            raise NotImplementedError(f'"bernoulli" not implemented for '
                                      f"'{R.torch_dtype_name(self._data.dtype)}'")
        if p is None:
            probs = backend.to_numpy(self._data)
            with np.errstate(invalid="ignore"):
                ok = ((probs >= 0) & (probs <= 1)).all()
            if not ok:
                raise RuntimeError("bernoulli: expected all probabilities to be in [0, 1], "
                                   f"but got values in [{probs.min()}, {probs.max()}]")
        else:
            _check_p(p, "bernoulli_")
            probs = np.broadcast_to(np.asarray(float(p)), self.shape)
        draw = (_rng(generator).random(self.shape) < probs).astype(self._data.dtype)
        return type(self)._apply(R.Sampled, self,
                                 value=backend.to_device(draw, self.device))

    # ------------------------------------------------------------------ in-place fills
    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with U(from_, to) draws from ``generator`` (default: the seeded global one)."""
        self._check_inplace("uniform_")
        if from_ > to:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                               f"from={from_:g} > to={to:g}")
        g = _rng(generator)
        self._data[...] = backend.to_device(g.uniform(from_, to, self.shape), self.device)
        self._version += 1
        return cast("Tensor", self)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with N(mean, std²) draws from ``generator`` (default: the seeded global one)."""
        self._check_inplace("normal_")
        if not std >= 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
        g = _rng(generator)
        self._data[...] = backend.to_device(g.normal(mean, std, self.shape), self.device)
        self._version += 1
        return cast("Tensor", self)

    def _fill_random(self, name: str, values: Any) -> Tensor:
        self._check_inplace(name)
        self._data[...] = backend.to_device(np.asarray(values), self.device)
        self._version += 1
        return cast("Tensor", self)

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> Tensor:
        """Fill with 0/1 draws that are 1 with probability ``p`` (a float or a tensor)."""
        if hasattr(p, "_data"):
            probs: Any = backend.to_numpy(p._data)
            if not ((probs >= 0) & (probs <= 1)).all():
                raise RuntimeError("bernoulli_: expected all probabilities to be in [0, 1]")
            probs = np.broadcast_to(probs, self.shape)
        else:
            _check_p(p, "bernoulli_")
            probs = float(p)
        return self._fill_random("bernoulli_", _rng(generator).random(self.shape) < probs)

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
        """Fill with Exponential(rate ``lambd``) draws."""
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found "
                               f"lambda={lambd:g}")
        return self._fill_random("exponential_",
                                 _rng(generator).standard_exponential(self.shape) / lambd)

    def geometric_(self, p: float, *, generator: Any = None) -> Tensor:
        """Fill with the number of Bernoulli(p) trials up to the first success (>= 1)."""
        if not 0 < p < 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
        return self._fill_random("geometric_", _rng(generator).geometric(p, self.shape))

    def log_normal_(self, mean: float = 1.0, std: float = 2.0, *,
                    generator: Any = None) -> Tensor:
        """Fill with exp(N(mean, std^2)) draws."""
        if not std > 0:
            raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std:g}")
        return self._fill_random("log_normal_", _rng(generator).lognormal(mean, std, self.shape))

    def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *,
                generator: Any = None) -> Tensor:
        """Fill with Cauchy(median, sigma) draws."""
        if not sigma > 0:
            raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
        u = _rng(generator).random(self.shape)
        return self._fill_random("cauchy_", median + sigma * np.tan(math.pi * (u - 0.5)))

    def random_(self, *args: Any, generator: Any = None, **kwargs: Any) -> Tensor:
        """Fill with integers: ``random_()`` in [0, 2**mantissa] (floats) or [0, max] (ints),
        ``random_(to)`` in [0, to), ``random_(from, to)`` in [from, to)."""
        bounds = dict(zip(("from", "to"), args)) if len(args) != 1 else {"to": args[0]}
        unknown = set(kwargs) - {"from", "to"}
        if len(args) > 2 or unknown:
            raise TypeError(f"random_() takes (from=0, to=None), got {len(args)} positional "
                            f"arguments and keywords {sorted(kwargs)}")
        bounds.update(kwargs)
        low, high = int(bounds.get("from", 0)), bounds.get("to")
        dt = self._data.dtype
        top = (1 << (np.finfo(dt).nmant + 1)) + 1 if dt.kind == "f" else \
            (2 if dt.kind == "b" else int(np.iinfo(dt).max) + 1)
        high = top if high is None else int(high)
        if low >= high:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                               f"from={low} >= to={high}")
        draws = _rng(generator).integers(low, high, self.shape, dtype=np.int64,
                                         endpoint=False)
        return self._fill_random("random_", draws)


def _check_p(p: Any, name: str) -> None:
    try:
        value = float(p)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: p must be a float or a tensor, got {type(p).__name__}") from None
    if not 0 <= value <= 1:
        raise RuntimeError(f"{name} expects p to be in [0, 1], but got p={value:g}")
