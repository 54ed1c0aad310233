"""Cost of the export-tracing check in ``Tensor._apply`` when tracing is off.

Times small element-wise ops (where per-op overhead dominates) with the shipped ``_apply``
and with a copy of it whose two tracing lines are removed, interleaved in one process.
Usage: python -m bench.bench_trace_hook
"""
from __future__ import annotations

import inspect
import textwrap
import timeit

import softgrad as sg
from softgrad import tensor as _unused  # noqa: F401
import sys


def _recompiled(drop_hook: bool):
    """``Tensor._apply`` compiled again from its source, optionally without the hook lines
    (both variants are compiled the same way, so only those lines differ)."""
    mod = sys.modules["softgrad.tensor"]
    src = textwrap.dedent(inspect.getsource(mod.Tensor._apply.__func__ if hasattr(
        mod.Tensor._apply, "__func__") else mod.Tensor._apply))
    lines = [ln for ln in src.splitlines() if not (drop_hook and "_trace_hook" in ln)
             and not ln.strip().startswith("@staticmethod")]
    ns: dict = {}
    exec("\n".join(lines), mod.__dict__, ns)
    return staticmethod(ns["_apply"])


def main() -> None:
    mod = sys.modules["softgrad.tensor"]
    shipped = mod.Tensor.__dict__["_apply"]
    hooked, bare = _recompiled(False), _recompiled(True)
    x, y = sg.randn(4), sg.randn(4)

    def work():
        for _ in range(100):
            (x + y) * y

    best = {"with check": [], "without": []}
    for _ in range(30):
        for name, fn in (("with check", hooked), ("without", bare)):
            mod.Tensor._apply = fn
            best[name].append(min(timeit.repeat(work, number=10, repeat=5)) / 2000)
    mod.Tensor._apply = shipped
    a, b = min(best["with check"]), min(best["without"])
    print(f"per op: with tracing check {a * 1e6:.3f} us, without {b * 1e6:.3f} us, "
          f"ratio {a / b:.3f}")
    # the check on its own: one global load and an identity comparison
    check = timeit.timeit("if _trace_hook is not None: pass", globals=mod.__dict__,
                          number=2_000_000) / 2_000_000
    empty = timeit.timeit("pass", number=2_000_000) / 2_000_000
    print(f"the check alone: {(check - empty) * 1e9:.1f} ns = "
          f"{(check - empty) / b * 100:.2f}% of one op")


if __name__ == "__main__":
    main()
