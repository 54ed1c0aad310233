"""Einstein summation: one primitive whose VJP is an einsum of g with the other operands.

Equations are first rewritten to a canonical form with letters only: ``...`` becomes
fresh letters (right-aligned, so ellipsis dims broadcast as in NumPy) and an implicit
output becomes the ellipsis letters followed by the letters used exactly once, sorted.
"""
from __future__ import annotations

import functools
import math
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

from softgrad.engine.function import Function

_LETTERS = string.ascii_letters
_BIG = 1 << 14  # operand size above which NumPy's contraction-path optimiser pays off


@functools.lru_cache(maxsize=512)
def parse_einsum(equation: str, shapes: tuple) -> tuple[tuple[str, ...], str]:
    """Canonical ``(subscripts per operand, output subscripts)`` for ``equation``.

    Raises ValueError naming the problem (operand count, rank, sizes, bad subscripts).
    """
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise ValueError(f"einsum(): more than one '->' in the equation {equation!r}")
    lhs, out = eq.split("->") if "->" in eq else (eq, None)
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum(): the equation {equation!r} has {len(terms)} operand(s) "
                         f"but {len(shapes)} were given")
    for i, ch in enumerate(eq):
        if ch not in _LETTERS and ch not in ".,->":
            raise ValueError(f"einsum(): invalid subscript {ch!r} at index {i} of the equation "
                             f"{equation!r}; subscripts must be in [a-zA-Z]")
    free = [c for c in _LETTERS if c not in eq]
    ranks = [_ellipsis_rank(t, shape, k) for k, (t, shape) in enumerate(zip(terms, shapes))]
    n_ell = max(ranks, default=0)
    if n_ell > len(free):
        raise ValueError("einsum(): too many dimensions under '...'")
    ell = "".join(free[:n_ell])
    subs = tuple(t.replace("...", ell[n_ell - r:]) for t, r in zip(terms, ranks))
    if out is None:
        counts = Counter("".join(t.replace("...", "") for t in terms))
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    else:
        if out.replace("...", "", 1).count(".") or out.count("...") > 1:
            raise ValueError(f"einsum(): found '.' in the output that is not part of an "
                             f"ellipsis in {equation!r}")
        output = out.replace("...", ell)
        seen = "".join(subs)
        for c in output:
            if c not in seen:
                raise ValueError(f"einsum(): output subscript {c} does not appear in the "
                                 f"equation for any input operand")
            if output.count(c) > 1:
                raise ValueError(f"einsum(): output subscript {c} appears more than once in "
                                 f"the output")
    _check_sizes(subs, shapes)
    return subs, output


def _ellipsis_rank(term: str, shape: tuple, k: int) -> int:
    """Number of dims operand ``k`` holds under its '...' (0 without one)."""
    if "..." in term:
        if term.count("...") > 1 or "." in term.replace("...", ""):
            raise ValueError(f"einsum(): found '.' for operand {k} that is not part of any "
                             f"ellipsis")
        rank = len(shape) - (len(term) - 3)
        if rank < 0:
            raise ValueError(f"einsum(): operand {k} has {len(shape)} dims (shape "
                             f"{tuple(shape)}), fewer than the {len(term) - 3} subscripts "
                             f"{term!r}")
        return rank
    if "." in term:
        raise ValueError(f"einsum(): found '.' for operand {k} that is not part of any ellipsis")
    if len(term) != len(shape):
        raise ValueError(f"einsum(): the number of subscripts in the equation ({len(term)}) "
                         f"does not match the number of dimensions ({len(shape)}) for operand "
                         f"{k} (shape {tuple(shape)}) and no ellipsis was given")
    return 0


def _check_sizes(subs: Sequence[str], shapes: Sequence[tuple]) -> None:
    sizes: dict[str, int] = {}
    for k, (sub, shape) in enumerate(zip(subs, shapes)):
        mine: dict[str, int] = {}
        for c, n in zip(sub, shape):
            if c in mine and mine[c] != n:
                raise ValueError(f"einsum(): subscript {c} is repeated for operand {k} but the "
                                 f"sizes don't match, {mine[c]} != {n}")
            mine[c] = n
        for c, n in mine.items():
            seen = sizes.get(c, 1)
            if n != 1 and seen != 1 and n != seen:
                raise ValueError(f"einsum(): subscript {c} has size {n} for operand {k} (shape "
                                 f"{tuple(shape)}) which does not broadcast with previously "
                                 f"seen size {seen}")
            sizes[c] = max(seen, n)


class Einsum(Function):
    """grad_k = einsum(g, other operands -> subscripts of operand k), then broadcast over
    letters only operand k has and placed on the diagonal for letters it repeats."""

    def forward(self, *arrays: Any, subscripts: tuple = (), output: str = "") -> Any:
        self.subs, self.output = subscripts, output
        self.shapes = [a.shape for a in arrays]
        self.array_xp = self.xp
        self.save_for_backward(*arrays)
        out = self._einsum(subscripts, output, arrays)
        self.dtype = out.dtype
        return out

    def backward(self, g: Any) -> tuple:
        arrays = self.saved
        return tuple(self._grad_of(k, g, arrays) if need else None
                     for k, need in enumerate(self.needs_input_grad))

    def _grad_of(self, k: int, g: Any, arrays: Sequence[Any]) -> Any:
        xp, sub, shape = self.xp, self.subs[k], self.shapes[k]
        size = dict(zip(sub, shape))
        unique = "".join(dict.fromkeys(sub))
        others = [i for i in range(len(arrays)) if i != k]
        present = set(self.output).union(*(self.subs[i] for i in others))
        kept = "".join(c for c in unique if c in present)
        r = self._einsum((self.output,) + tuple(self.subs[i] for i in others), kept,
                         [g] + [arrays[i] for i in others])
        if kept != unique:  # letters summed inside operand k alone: their gradient is constant
            r = r.reshape(tuple(r.shape[kept.index(c)] if c in kept else 1 for c in unique))
        # size-1 dims of r where operand k has size n: the letter broadcast elsewhere (dims
        # where k has size 1 and r has n are summed by the engine's unbroadcast)
        target = tuple(n if m == 1 else m for m, n in zip(r.shape, (size[c] for c in unique)))
        if tuple(r.shape) != target:
            r = xp.broadcast_to(r, target)
        if unique != sub:  # repeated letters (a diagonal): scatter onto it with identities
            fresh = [c for c in _LETTERS if c not in sub]
            full, pairs = [], []
            for i, c in enumerate(sub):
                if c in sub[:i]:
                    full.append(fresh.pop(0))
                    pairs.append(c + full[-1])
                else:
                    full.append(c)
            eyes = [self.array_xp.eye(size[p[0]], dtype=self.dtype) for p in pairs]
            r = self._einsum((unique,) + tuple(pairs), "".join(full), [r] + eyes)
        return r

    def _einsum(self, subs: Sequence[str], output: str, arrays: Sequence[Any]) -> Any:
        eq = ",".join(subs) + "->" + output
        big = len(arrays) > 2 or any(math.prod(a.shape) > _BIG for a in arrays)
        return self.xp.asarray(self.xp.einsum(eq, *arrays, optimize=big))
