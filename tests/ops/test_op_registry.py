"""Every primitive of ``softgrad/ops`` is complete; the test names what each one lacks:

- a case in ``tests/helpers/op_cases.py`` that runs it (found by tracing every case), or a reason in
  ``op_cases.NO_CASE``;
- an ONNX converter, or a reason in ``softgrad/onnx/unsupported.py``;
- a user: a Tensor method, an ``sg.``/``F.`` function or a module above the ops that applies
  it, or another primitive's recorded backward (``self.xp.apply(Fn, ...)``), found by reading
  the modules with ``ast``.

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
from tests.helpers.op_cases import ALL, NO_CASE, Case

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
    """Names of the primitives whose nodes the cases' graphs hold, with those of the recorded
    backward of the cases whose second derivatives are checked (run without tracing: a few
    layers run fused primitives only then, such as attention)."""
    names = set()
    for case in ALL:
        for shapes in case.shapes:
            xs = [sg.tensor(a, requires_grad=case.differentiable) for a in case.arrays(shapes)]
            with np.errstate(all="ignore"):
                out = case.fn(sg, *xs)
            outs = [o for o in (out if isinstance(out, (tuple, list)) else [out])
                    if isinstance(o, sg.Tensor)]
            if case.second_order and case.differentiable and case.grad:
                loss = sum((o * o).sum() for o in outs if o.requires_grad)
                outs += [g for g in sg.autograd.grad(loss, xs, create_graph=True,
                                                     allow_unused=True) if g is not None]
            names.update(type(node._ctx).__name__ for node in toposort(outs)
                         if node._ctx is not None)
    return frozenset(names)


def _run(case: Case, shapes: tuple) -> object:
    xs = [sg.tensor(a, requires_grad=case.differentiable) for a in case.arrays(shapes)]
    with np.errstate(all="ignore"):
        return case.fn(sg, *xs)


@functools.cache
def used() -> frozenset[str]:
    """Names of the ops' classes that modules outside softgrad/ops import or use, and of
    those that a primitive's backward applies (``self.call(Fn, ...)``, ``xp.apply(Fn, ...)``)."""
    names: set[str] = set()
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text())
        if path.parent == ROOT / "ops":
            names.update(node.args[0].id for node in ast.walk(tree)
                         if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                         and node.func.attr in ("apply", "call") and node.args
                         and isinstance(node.args[0], ast.Name))
            continue
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
            needs.append("a case in tests/helpers/op_cases.py (or a reason in its NO_CASE)")
        if name not in CONVERTERS and name not in REASONS:
            needs.append("an ONNX converter (softgrad/onnx/ops_*.py) or a reason in "
                         "softgrad/onnx/unsupported.py")
        if name not in used():
            needs.append("a user (a Tensor method, an sg. or F. function, another "
                         "primitive's recorded backward)")
        if needs:
            lacking[name] = needs
    assert not lacking, "incomplete primitives:\n" + "\n".join(
        f"  {name} needs {' and '.join(needs)}" for name, needs in sorted(lacking.items()))


def test_every_reason_for_no_case_is_still_needed() -> None:
    traced = _run_by_cases()
    stale = sorted(n for n in NO_CASE if n not in primitives() or n in traced)
    assert not stale, f"remove from NO_CASE in tests/helpers/op_cases.py: {stale}"


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
