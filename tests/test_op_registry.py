"""Every primitive of ``softgrad/ops`` is complete; the test names what each one lacks:

- a case in ``tests/op_cases.py`` that runs it (found by tracing every case), or a reason in
  ``op_cases.NO_CASE``;
- an ONNX converter, or a reason in ``softgrad/onnx/unsupported.py``;
- a user above the ops: a Tensor method, an ``sg.``/``F.`` function or a module that applies
  it (found by reading the imports and attribute uses of every module outside ``ops/``).

And every primitive runs on arrays alone: its forward, called outside the engine on the
arrays a case gave it, returns what it returned inside.
"""
from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
from pathlib import Path

import numpy as np
from op_cases import ALL, NO_CASE, Case

import softgrad as sg
import softgrad.ops
from softgrad.engine.backward import toposort
from softgrad.engine.function import Function
from softgrad.onnx import CONVERTERS
from softgrad.onnx.unsupported import REASONS
from softgrad.tensor import core

ROOT = Path(sg.__file__).parent


@functools.cache
def primitives() -> dict[str, type]:
    """Name -> class of every primitive defined in softgrad/ops (not the private bases)."""
    found = {}
    for info in pkgutil.iter_modules(softgrad.ops.__path__):
        module = importlib.import_module(f"softgrad.ops.{info.name}")
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, Function) and obj is not Function
                    and obj.__module__ == module.__name__ and not name.startswith("_")):
                found[name] = obj
    return found


@functools.cache
def traced_calls() -> dict[type, tuple]:
    """Primitive class -> (input arrays, params, output array) of its first call by a case,
    seen by an export trace hook (``Tensor._apply`` calls it for every primitive)."""
    calls: dict[type, tuple] = {}

    def hook(fn_cls: type, inputs: tuple, params: dict, out: sg.Tensor) -> None:
        if fn_cls not in calls:
            calls[fn_cls] = ([t._data.copy() for t in inputs], dict(params), out._data.copy())

    previous = core.set_trace_hook(hook)
    try:
        for case in ALL:
            for shapes in case.shapes:
                _run(case, shapes)
    finally:
        core.set_trace_hook(previous)
    return calls


@functools.cache
def recorded_by_cases() -> frozenset[str]:
    """Names of the primitives whose nodes the cases' graphs hold (run without tracing: a
    few layers run fused primitives only then, such as attention)."""
    names = set()
    for case in ALL:
        for shapes in case.shapes:
            out = _run(case, shapes)
            outs = [o for o in (out if isinstance(out, (tuple, list)) else [out])
                    if isinstance(o, sg.Tensor)]
            names.update(type(node._ctx).__name__ for node in toposort(outs)
                         if node._ctx is not None)
    return frozenset(names)


def _run(case: Case, shapes: tuple) -> object:
    xs = [sg.tensor(a, requires_grad=case.differentiable) for a in case.arrays(shapes)]
    with np.errstate(all="ignore"):
        return case.fn(sg, *xs)


@functools.cache
def used_above_ops() -> frozenset[str]:
    """Names of the ops' classes that modules outside softgrad/ops import or use."""
    names: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if path.parent == ROOT / "ops":
            continue
        tree = ast.parse(path.read_text())
        aliases = set()  # names bound to an ops module: ``from softgrad.ops import shape as S``
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("softgrad.ops."):
                    names.update(a.name for a in node.names)
                elif node.module == "softgrad.ops":
                    aliases.update(a.asname or a.name for a in node.names)
            elif isinstance(node, ast.Import):
                aliases.update(a.asname for a in node.names
                               if a.name.startswith("softgrad.ops.") and a.asname)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases):
                names.add(node.attr)
    return frozenset(names)


def _run_by_cases() -> set[str]:
    return {cls.__name__ for cls in traced_calls()} | recorded_by_cases()


def test_every_primitive_is_complete() -> None:
    traced = _run_by_cases()
    lacking = {}
    for name in primitives():
        needs = []
        if name not in traced and name not in NO_CASE:
            needs.append("a case in tests/op_cases.py (or a reason in its NO_CASE)")
        if name not in CONVERTERS and name not in REASONS:
            needs.append("an ONNX converter (softgrad/onnx/ops_*.py) or a reason in "
                         "softgrad/onnx/unsupported.py")
        if name not in used_above_ops():
            needs.append("a user above the ops (a Tensor method, an sg. or F. function)")
        if needs:
            lacking[name] = needs
    assert not lacking, "incomplete primitives:\n" + "\n".join(
        f"  {name} needs {' and '.join(needs)}" for name, needs in sorted(lacking.items()))


def test_every_reason_for_no_case_is_still_needed() -> None:
    traced = _run_by_cases()
    stale = sorted(n for n in NO_CASE if n not in primitives() or n in traced)
    assert not stale, f"remove from NO_CASE in tests/op_cases.py: {stale}"


def test_the_primitives_run_on_arrays_alone() -> None:
    """Each forward, called outside the engine on the arrays a case gave it, returns what it
    returned inside (no ``parents``, no recording)."""
    assert len(traced_calls()) > 100
    wrong = []
    for cls, (arrays, params, expected) in traced_calls().items():
        with np.errstate(all="ignore"):
            out = np.asarray(cls().forward(*arrays, **params))
        if out.shape != expected.shape or not np.array_equal(out, expected, equal_nan=True):
            wrong.append(cls.__name__)
    assert not wrong, f"forward on arrays alone differs for: {wrong}"
