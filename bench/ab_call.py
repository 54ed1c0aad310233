"""A/B of ``Function.call`` on arrays, interleaved in one process: the backward of
softplus, logsigmoid and BCE-with-logits on a small (4, 10) float32 input, with ``call``
building a full node per use (``old``), with this checkout's ``call`` (``new``), and with the
sigmoid computed by a plain helper call (``direct``: what a backward did before ``call``),
and with ``call`` running the forward on one node made in advance (``reuse``: the cost of
the call layer alone, no instance per use).

Usage:  OMP_NUM_THREADS=1 PYTHONPATH=$PWD python bench/ab_call.py [--rounds 15]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np

from softgrad.engine.function import Function
from softgrad.ops import activation, loss


def old_call(self: Function, fn_cls: type, *inputs: Any, **params: Any) -> Any:
    if self._graph:
        return self.xp.apply(fn_cls, *inputs, **params)
    fn = fn_cls()
    fn.xp = self.xp
    return fn.forward(*inputs, **params)


def direct_call(self: Function, fn_cls: type, x: Any) -> Any:
    return activation.sigmoid_of(x, self.xp)


_SCRATCH: dict = {}


def reuse_call(self: Function, fn_cls: type, *inputs: Any, **params: Any) -> Any:
    fn = _SCRATCH.get(fn_cls)
    if fn is None:
        fn = _SCRATCH[fn_cls] = fn_cls()
    return fn.forward(*inputs, **params)


def nodes() -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 10)).astype(np.float32)
    t = (rng.random((4, 10)) > 0.5).astype(np.float32)
    g = np.ones((4, 10), np.float32)
    out = {}
    sp = activation.Softplus()
    sp.forward(x)
    ls = activation.LogSigmoid()
    ls.forward(x)
    out["softplus"], out["logsigmoid"] = (sp, g), (ls, g)
    for fn in (sp, ls):
        fn.needs_input_grad = (True,)
    b = loss.BCEWithLogitsLoss()
    gl = b.forward(x, t)  # mean: a 0-d upstream gradient
    b.needs_input_grad = (True, False)
    out["bce_with_logits"] = (b, np.ones_like(gl))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--iters", type=int, default=20000)
    args = ap.parse_args()
    new_call = Function.call
    variants = {"old": old_call, "new": new_call, "reuse": reuse_call, "direct": direct_call}
    cases = nodes()
    times: dict = {(c, v): [] for c in cases for v in variants}
    for _ in range(args.rounds):
        for case, (fn, g) in cases.items():
            for name, call in variants.items():
                Function.call = call  # type: ignore[method-assign]
                bw = fn.backward
                t0 = time.process_time()
                for _ in range(args.iters):
                    bw(g)
                times[case, name].append(time.process_time() - t0)
    Function.call = new_call  # type: ignore[method-assign]
    for case in cases:
        med = {v: statistics.median(times[case, v]) for v in variants}
        print(f"{case:16s} old/new {med['old'] / med['new']:.3f}  "
              f"new/direct {med['new'] / med['direct']:.3f}  "
              f"old/direct {med['old'] / med['direct']:.3f}  "
              f"new/reuse {med['new'] / med['reuse']:.3f}  "
              f"(new {med['new'] / args.iters * 1e6:.2f} us/backward)")


if __name__ == "__main__":
    main()
