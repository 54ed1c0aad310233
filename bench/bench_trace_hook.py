"""Cost of the export-tracing check in ``Tensor._apply`` when tracing is off.

``_apply`` tests ``_trace_hook is not None`` once per primitive. This times small
element-wise ops (where per-op overhead dominates), and that test on its own (the same
global load and identity comparison, in the same module's globals), and prints the test's
share of one op. With a no-op hook installed it also shows what tracing itself costs.
Usage: python -m bench.bench_trace_hook
"""
from __future__ import annotations

import timeit

import softgrad as sg
from softgrad.tensor import core


def _per_op(x: sg.Tensor, y: sg.Tensor) -> float:
    """Seconds per primitive of ``(x + y) * y`` on 4-element tensors (best of 30 x 5)."""
    def work() -> None:
        for _ in range(100):
            (x + y) * y

    return min(min(timeit.repeat(work, number=10, repeat=5)) for _ in range(30)) / 2000


def main() -> None:
    x, y = sg.randn(4), sg.randn(4)
    assert core._trace_hook is None, "tracing must be off"
    off = _per_op(x, y)
    previous = core.set_trace_hook(lambda fn_cls, inputs, params, out: None)
    try:
        on = _per_op(x, y)
    finally:
        core.set_trace_hook(previous)
    check = timeit.timeit("if _trace_hook is not None: pass", globals=vars(core),
                          number=2_000_000) / 2_000_000
    empty = timeit.timeit("pass", number=2_000_000) / 2_000_000
    print(f"per op: {off * 1e6:.3f} us with tracing off, {on * 1e6:.3f} us with a no-op hook")
    print(f"the check alone: {(check - empty) * 1e9:.1f} ns = "
          f"{(check - empty) / off * 100:.2f}% of one op")


if __name__ == "__main__":
    main()
