"""Trace a forward pass into a flat list of primitive calls (the graph an exporter converts).

Tracing installs a hook in ``Tensor._apply`` (``softgrad.tensor.core.set_trace_hook``), so every
primitive run during the forward is seen with its input Tensors, parameters and output.
Tensors that were not produced by a traced primitive are either graph inputs, model
parameters/buffers (named by their state-dict key) or constants (kept by value).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from collections.abc import Callable, Sequence
from typing import Any

from softgrad import backend
from softgrad.tensor.core import set_trace_hook
from softgrad.tensor import Tensor

np = backend.np


class ExportError(RuntimeError):
    """The model (or one of its layers/ops) cannot be exported."""


@dataclass
class TraceNode:
    """One primitive call: ``op`` (Function class name), value names in/out, params, shapes."""

    op: str
    inputs: list[str]
    output: str
    params: dict
    in_shapes: list[tuple]
    in_dtypes: list[Any]
    out_shape: tuple
    out_dtype: Any
    links: dict = field(default_factory=dict)  # param name -> value name (arrays from tensors)
    module: str = ""  # "path (Type)" of the innermost layer running the op
    # shapes seen when the dynamic axes had other sizes (a second trace); same when static
    alt_in_shapes: list = field(default_factory=list)
    alt_out_shape: tuple = ()
    alt_params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.alt_in_shapes = self.alt_in_shapes or list(self.in_shapes)
        self.alt_out_shape = self.alt_out_shape or self.out_shape
        self.alt_params = self.alt_params or self.params

    def where(self) -> str:
        return f"op {self.op}" + (f" in layer {self.module}" if self.module else "")


@dataclass
class TracedGraph:
    """What :func:`trace` returns: inputs, nodes in execution order, outputs, constants."""

    inputs: list[tuple[str, tuple, Any]]  # (name, shape, dtype)
    nodes: list[TraceNode]
    outputs: list[tuple[str, tuple, Any]]
    constants: dict[str, Any]  # value name -> array (parameters, buffers, constants)
    const_where: dict[str, str] = field(default_factory=dict)  # constant -> first user
    # constants whose shape follows the dynamic axes, built at run time from the input
    # shapes: name -> (probe trace's shape, None for one value or (k, low, high) for
    # where(tril(ones, k), low, high))
    fills: dict[str, tuple] = field(default_factory=dict)
    frozen: list[str] = field(default_factory=list)  # input-dependent constants (errors)
    # id of a parameter's/buffer's array -> its state-dict key (names statistics passed as
    # primitive parameters, e.g. BatchNorm's running_mean); valid while the model lives
    state_data: dict[int, str] = field(default_factory=dict)


class _Recorder:
    """The hook: names every Tensor it sees and appends one TraceNode per primitive."""

    def __init__(self, state_names: dict[int, str]) -> None:
        self.state_names = state_names
        self.names: dict[int, str] = {}
        self.versions: dict[int, int] = {}
        self.data_ids: dict[int, str] = {}
        self.keep: list[Any] = []  # keeps traced objects alive so their ids stay unique
        self.constants: dict[str, Any] = {}
        self.const_where: dict[str, str] = {}
        self.nodes: list[TraceNode] = []
        self.stack: list[str] = []
        self.used: set[str] = set()
        self.thread = threading.get_ident()

    def _fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name

    def register(self, t: Tensor, name: str) -> str:
        name = self._fresh(name)
        self.names[id(t)] = name
        self.versions[id(t)] = t._version
        self.data_ids[id(t._data)] = name
        self.keep.append(t)
        return name

    def value(self, t: Tensor, where: str) -> str:
        """The value name of ``t``: traced before, a parameter/buffer, or a new constant."""
        key = id(t)
        if key in self.names:
            if t._version != self.versions[key]:
                raise ExportError(
                    f"cannot export {where}: its input {self.names[key]!r} was modified in "
                    "place during the forward pass (e.g. inplace=True); use the out-of-place "
                    "form")
            return self.names[key]
        alias = self.data_ids.get(id(t._data))
        if alias is not None and key not in self.state_names:  # same array: detach(), wrap
            self.names[key], self.versions[key] = alias, t._version
            self.keep.append(t)
            return alias
        name = self.register(t, self.state_names.get(key, "const"))
        self.constants[name] = backend.to_numpy(t._data).copy()
        self.const_where[name] = where
        return name

    def __call__(self, fn_cls: type, inputs: Sequence[Tensor], params: dict,
                 out: Tensor) -> None:
        if threading.get_ident() != self.thread:
            return  # another thread's work (e.g. a data loader) is not part of the model
        module = self.stack[-1] if self.stack else ""
        where = f"op {fn_cls.__name__}" + (f" in layer {module}" if module else "")
        names = [self.value(t, where) for t in inputs]
        links = {k: self.data_ids[id(v)] for k, v in params.items()
                 if hasattr(v, "shape") and id(v) in self.data_ids}
        oname = self.register(out, f"{fn_cls.__name__}_{len(self.nodes)}")
        self.nodes.append(TraceNode(
            op=fn_cls.__name__, inputs=names, output=oname, params=dict(params),
            in_shapes=[tuple(t.shape) for t in inputs], in_dtypes=[t._data.dtype for t in inputs],
            out_shape=tuple(out.shape), out_dtype=out._data.dtype, links=links, module=module))


def _module_hooks(model: Any, stack: list[str]) -> list:
    """Forward pre/post hooks that keep ``stack`` at the path of the running layer."""
    handles: list = []
    named = getattr(model, "named_modules", None)
    if named is None:
        return handles
    for path, mod in named():
        label = f"'{path or '<root>'}' ({type(mod).__name__})"

        def pre(m: Any, args: Any, label: str = label) -> None:
            stack.append(label)

        def post(m: Any, args: Any, out: Any) -> None:
            if stack:
                stack.pop()

        handles.append(mod.register_forward_pre_hook(pre))
        handles.append(mod.register_forward_hook(post))
    return handles


def _flat_outputs(out: Any) -> list[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        flat: list[Tensor] = []
        for o in out:
            flat.extend(_flat_outputs(o))
        return flat
    if out is None:
        return []
    raise ExportError(f"cannot export a model whose forward returns {type(out).__name__}; "
                      "return a Tensor or a tuple/list of Tensors")


def trace(model: Any, args: Sequence[Tensor], input_names: Sequence[str],
          rebuild: Callable[[Sequence[Tensor]], Sequence[Any]] | None = None) -> TracedGraph:
    """Run ``model(*args)`` once and record every primitive it calls.

    Args:
        model: a Module (parameters/buffers are named by their state-dict keys) or a callable.
        args: the example inputs (Tensors).
        input_names: one name per input.
        rebuild: makes the model's positional arguments from ``args`` (nested tuples, such
            as an LSTM's ``(x, (h, c))``); None passes ``args`` as they are.
    """
    state: dict[int, str] = {}
    if hasattr(model, "named_parameters"):
        for name, p in model.named_parameters():
            state.setdefault(id(p), name)
        for name, b in model.named_buffers():
            state.setdefault(id(b), name)
    rec = _Recorder(state)
    rec.used.update(input_names)
    inputs = []
    for name, t in zip(input_names, args):
        if id(t) in rec.names:
            raise ExportError(f"input {name!r} is the same tensor as another input")
        rec.names[id(t)] = name
        rec.versions[id(t)] = t._version
        rec.data_ids[id(t._data)] = name
        inputs.append((name, tuple(t.shape), t._data.dtype))
    handles = _module_hooks(model, rec.stack)
    previous = set_trace_hook(rec)
    try:
        out = model(*(args if rebuild is None else rebuild(args)))
    finally:
        set_trace_hook(previous)
        for h in handles:
            h.remove()
    outputs = []
    for t in _flat_outputs(out):
        name = rec.value(t, "the model output")
        outputs.append((name, tuple(t.shape), t._data.dtype))
    used = {i for node in rec.nodes for i in node.inputs}
    used |= {v for node in rec.nodes for v in node.links.values()} | {o[0] for o in outputs}
    for name in input_names:
        if name not in used:
            raise ExportError(
                f"input {name!r} is not used by any traced op: the model reads it outside "
                "softgrad's primitives (e.g. through .data, .numpy() or a comparison used as "
                "a mask), so its value would be frozen into the file")
    graph = TracedGraph(inputs, rec.nodes, outputs, rec.constants, rec.const_where)
    if hasattr(model, "named_buffers"):
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            graph.state_data.setdefault(id(t._data), name)
    return graph
