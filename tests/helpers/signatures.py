"""Signature comparison with PyTorch: a public name's parameters (names, order, kinds and
defaults) must be PyTorch's, less the documented omissions and additions below.

``lookup(root, "nn.functional.relu")`` finds a dotted name; ``compare(key, ours, theirs)``
asserts the two signatures agree (it returns quietly where either has no Python signature).
"""
from __future__ import annotations

import inspect
import math
from typing import Any

# PyTorch parameters softgrad leaves out on purpose, with the reason.
OMITTED: dict[str, set] = {
    # deprecated / vmap-only options
    "autograd.grad": {"only_inputs", "is_grads_batched"},
    # forward-mode AD, batched and masked checks do not exist in softgrad
    "autograd.gradcheck": {"check_undefined_grad", "check_grad_dtypes", "check_batched_grad",
                           "check_batched_forward_grad", "check_forward_ad",
                           "check_backward_ad", "fast_mode", "masked"},
    "autograd.functional.jacobian": {"strategy"},
    "autograd.functional.hessian": {"outer_jacobian_strategy"},
    "autograd.functional.vjp": {"strict"},
    # softgrad has no out= arguments; norm's dtype= is not supported
    "norm": {"out", "dtype"},
    # the deprecated positional form state_dict(destination, prefix, keep_vars)
    "nn.Module.state_dict": {"args"},
}
# PyTorch's signature is not comparable: einsum(*args) also takes the sublist format,
# softgrad's einsum(equation, *operands) takes the equation string only.
NOT_COMPARED = {"einsum"}
# defaults that differ only in form: random_split's generator=None means the global one
SAME_MEANING_DEFAULTS = {("utils.data.random_split", "generator")}
# softgrad's own name for a PyTorch parameter (positional use is unaffected)
RENAMED: dict[str, dict] = {
    "autograd.gradcheck": {"fn": "func"},  # the issue spells it gradcheck(fn, inputs)
}
# softgrad parameters PyTorch does not have
EXTRA: dict[str, set] = {"autograd.gradcheck": {"seed"},
                         "save": {"format"}}  # "torch" (PyTorch's zip) or "safetensors"


def lookup(root: Any, dotted: str) -> Any:
    obj = root
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _params(obj: Any) -> list | None:
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    ps = list(sig.parameters.values())
    if ps and ps[0].name == "self":
        ps = ps[1:]
    kinds = [q.kind for q in ps]
    if kinds == [inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD]:
        return None  # an opaque (*args, **kwargs) wrapper
    return ps


def _same_default(a: Any, b: Any) -> bool:
    if a is inspect.Parameter.empty or b is inspect.Parameter.empty:
        return a is b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if any(isinstance(v, (int, float, str, bool, tuple, type(None))) for v in (a, b)):
        try:
            return bool(a == b)
        except Exception:  # e.g. a tensor default
            return False
    return True  # objects (generators, dtypes) are compared by name only


def compare(key: str, ours: Any, theirs: Any) -> None:
    ps, pt = _params(ours), _params(theirs)
    if ps is None or pt is None or key in NOT_COMPARED:
        return
    omitted, extra = OMITTED.get(key, set()), EXTRA.get(key, set())
    renamed = RENAMED.get(key, {})
    ps_names = [renamed.get(p.name, p.name) for p in ps if p.name not in extra]
    pt_names = [p.name for p in pt if p.name not in omitted]
    assert ps_names == pt_names, f"{key}: softgrad {ps_names} vs PyTorch {pt_names}"
    by_name = {p.name: p for p in pt}
    for p in ps:
        name = renamed.get(p.name, p.name)
        if name in by_name:
            q = by_name[name]
            if (key, name) in SAME_MEANING_DEFAULTS:
                continue
            assert _same_default(p.default, q.default), \
                f"{key}({name}=...): default {p.default!r} vs PyTorch {q.default!r}"
            var = (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            assert (p.kind in var) == (q.kind in var), f"{key}({name}): {p.kind} vs {q.kind}"
