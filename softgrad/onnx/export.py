"""``export``: trace a forward pass and write it as an ONNX model."""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from softgrad import backend
from softgrad.autograd.grad_mode import no_grad
from softgrad.onnx import (  # noqa: F401
    dynamic,
    ops_basic,
    ops_extra,
    ops_math,
    ops_nn,
    ops_rnn,
    ops_shape,
    ops_vision,
)
from softgrad.onnx.builder import CONVERTERS, Builder, load_onnx
from softgrad.onnx.tracer import ExportError, TracedGraph, trace
from softgrad.serialization.atomic import atomic_write
from softgrad.tensor import Tensor
from softgrad.version import __version__

np = backend.np

MIN_OPSET, MAX_OPSET = 14, 21


def export(model: Any, example_input: Any, path: Any, input_names: Sequence[str] | None = None,
           output_names: Sequence[str] | None = None,
           dynamic_axes: Mapping[str, Any] | None = None, opset_version: int = 17,
           check: bool = True) -> Any:
    """Export ``model`` to an ONNX file by tracing one forward pass on ``example_input``.

    The model runs in eval mode (Dropout is the identity, BatchNorm uses its running
    statistics; its previous mode is restored afterwards). Every primitive the forward runs
    is converted; parameters and buffers become initializers named by their state-dict keys.
    A second, probing trace (the example's values reversed and moved, dynamic axes longer)
    finds what follows the dynamic axes, and refuses what the file would wrongly freeze:
    branches on the input (``if x.sum().item() > 0``), values computed outside softgrad's
    primitives (through ``.numpy()`` or ``.data``), and ``.shape`` arithmetic that is neither
    a fixed offset from an end nor an input's size. Comparisons, ``where`` and masks are
    traced like any other op.

    Args:
        model: a Module (or any callable taking and returning Tensors).
        example_input: a Tensor or a tuple of the positional arguments: Tensors, or tuples
            and lists of Tensors (nested as deep as the model takes them, such as an LSTM's
            ``(x, (h, c))``), or None; the Tensors become the graph's inputs in order, depth
            first (``x``, ``h``, ``c``), as in ``torch.onnx.export``.
        path: file path (written atomically) or a binary file object; None writes nothing.
        input_names, output_names: graph names (default ``input``/``input_1``...,
            ``output``/``output_1``...).
        dynamic_axes: ``{name: {axis: "label"}}`` or ``{name: [axis, ...]}``: axes whose size
            may vary (e.g. ``{"input": {0: "batch"}, "output": {0: "batch"}}``).
        opset_version: ONNX opset, 14 to 21 (default 17).
        check: run ``onnx.checker.check_model`` on the result.
    Returns:
        The ``onnx.ModelProto``.
    Raises:
        ExportError: a layer or op cannot be exported (the message names it).
    Example:
        >>> sg.onnx.export(model, sg.randn(1, 784), "mlp.onnx", input_names=["x"],
        ...                dynamic_axes={"x": {0: "batch"}})
    """
    onnx = load_onnx()
    if not MIN_OPSET <= int(opset_version) <= MAX_OPSET:
        raise ValueError(f"opset_version must be between {MIN_OPSET} and {MAX_OPSET}, got "
                         f"{opset_version}")
    args, spec = _as_inputs(example_input)
    rebuild = None if spec is None else (lambda flat: _rebuild(spec, iter(flat)))
    in_names = _names(input_names, len(args), "input")
    modes = [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []
    if modes:
        model.eval()
    try:
        with no_grad():
            graph = trace(model, args, in_names, rebuild)
            out_names = _names(output_names, len(graph.outputs), "output")
            shapes = {n: s for n, s, _ in graph.inputs}
            shapes.update((n, s) for n, (_, s, _) in zip(out_names, graph.outputs))
            axes = dynamic.normalize(dynamic_axes or {}, shapes)
            dyn = any(axes.get(n) for n in in_names)
            args2, sources = dynamic.probe_inputs(args, in_names, axes)
            try:
                with np.errstate(all="ignore"):  # probe values may overflow (e.g. -inf masks)
                    second = trace(model, args2, in_names, rebuild)
            except ExportError:
                raise
            except Exception as exc:
                if dyn:
                    raise ExportError(f"cannot export with dynamic axes: the model fails when "
                                      f"the dynamic axes are longer than in example_input "
                                      f"({type(exc).__name__}: {exc})") from None
                second = None  # the probe's values do not suit the model: skip the check
            if second is not None:
                dynamic.merge(graph, second)
                dynamic.output_axes(graph, second, out_names, axes)
    finally:
        for m, mode in modes:  # each layer's own mode (e.g. frozen BatchNorm stays eval)
            m.training = mode
    proto = build_model(onnx, graph, out_names, axes, int(opset_version), sources)
    if graph.frozen:
        raise ExportError(graph.frozen[0])
    if check:
        onnx.checker.check_model(proto)
    if path is not None:
        data = proto.SerializeToString()
        if hasattr(path, "write"):
            path.write(data)
        else:
            atomic_write(os.fspath(path), lambda fh: fh.write(data))
    return proto


def _as_inputs(example_input: Any) -> tuple[tuple, Any]:
    """The Tensors of ``example_input``, depth first, and the nesting to rebuild the
    positional arguments from them (None when the arguments are those Tensors, flat)."""
    items = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    out: list[Tensor] = []
    spec = [_flatten(x, f"example_input[{i}]", out) for i, x in enumerate(items)]
    if not out:
        raise ValueError("example_input must hold at least one Tensor")
    flat = all(s is _LEAF for s in spec)
    return tuple(out), None if flat else (tuple, spec)


_LEAF = "tensor"


def _flatten(x: Any, where: str, out: list) -> Any:
    """Append the Tensors of ``x`` to ``out``; return its nesting: ``_LEAF`` for a Tensor,
    ``(type, [nesting, ...])`` for a tuple or list, ``("const", x)`` for None."""
    if isinstance(x, (tuple, list)):
        return (type(x), [_flatten(v, f"{where}[{i}]", out) for i, v in enumerate(x)])
    if x is None:
        return ("const", None)
    if not isinstance(x, Tensor):
        if not hasattr(x, "__array_interface__"):
            raise TypeError(f"{where} must be a Tensor, an array, or a tuple or list of "
                            f"them, got {type(x).__name__}")
        x = Tensor._wrap(x)
    out.append(x)
    return _LEAF


def _rebuild(spec: Any, flat: Any) -> Any:
    """The nested arguments of ``spec`` with the next Tensors of the iterator ``flat``."""
    if spec is _LEAF:
        return next(flat)
    kind, parts = spec
    if kind == "const":
        return parts
    return kind(_rebuild(s, flat) for s in parts)


def _names(names: Sequence[str] | None, n: int, base: str) -> list[str]:
    if names is None:
        return [base if i == 0 else f"{base}_{i}" for i in range(n)]
    names = list(names)
    if len(names) != n or len(set(names)) != n:
        raise ValueError(f"expected {n} distinct {base} names, got {names}")
    return names


def _value_info(onnx: Any, name: str, shape: tuple, dtype: Any, labels: dict) -> Any:
    dims = [labels.get(i, int(n)) for i, n in enumerate(shape)]
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def build_model(onnx: Any, graph: TracedGraph, out_names: Sequence[str],
                dynamic_axes: Mapping[str, dict], opset: int, sources: dict | None = None) -> Any:
    """Convert a traced graph into an ``onnx.ModelProto``.

    ``dynamic_axes`` is ``{name: {axis: label}}``; ``sources`` maps a dynamic size pair (see
    ``dynamic.probe_inputs``) to the input dim it is read from at run time.
    """
    in_names = [n for n, _, _ in graph.inputs]
    used = set(in_names) | set(out_names) | set(graph.constants)
    used |= {node.output for node in graph.nodes}
    b = Builder(onnx, opset, used, sources or {})
    b.state_data = graph.state_data
    env = {n: n for n in in_names}
    for name, arr in graph.constants.items():
        if name in graph.fills:
            env[name] = _fill(b, name, arr, graph.fills[name], graph.const_where.get(name, ""))
            continue
        b.initializers[name] = onnx.numpy_helper.from_array(np.array(arr, order="C"), name)
        env[name] = name
    for node in graph.nodes:
        conv = CONVERTERS.get(node.op)
        if conv is None:
            raise b.unsupported(node)
        node.links = {k: env[v] for k, v in node.links.items()}  # arrays of traced values
        env[node.output] = conv(b, node, [env[i] for i in node.inputs])
    outputs = []
    for (value, shape, dtype), name in zip(graph.outputs, out_names):
        b.nodes.append(onnx.helper.make_node("Identity", [env[value]], [name],
                                             name=b.fresh("n_output")))
        outputs.append(_value_info(onnx, name, shape, dtype, dynamic_axes.get(name, {})))
    inputs = [_value_info(onnx, n, s, d, dynamic_axes.get(n, {})) for n, s, d in graph.inputs]
    _drop_unused(b, [o.name for o in outputs])
    g = onnx.helper.make_graph(b.nodes, "softgrad", inputs, outputs,
                               list(b.initializers.values()))
    model = onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="softgrad", producer_version=__version__)
    model.ir_version = min(model.ir_version, 8 if opset <= 18 else 9 if opset <= 20 else 10)
    return model


def _fill(b: Builder, name: str, arr: Any, fill: tuple, where: str) -> str:
    """A constant of one value, or a triangular two-valued one (a causal mask), shaped at run
    time from the inputs' dims."""
    alt_shape, tri = fill
    pieces: list = []
    for n1, n2 in zip(arr.shape, alt_shape):
        if n1 == n2:
            pieces.append(int(n1))
        elif b.dim(n1, n2) is not None:
            pieces.append(b.dim(n1, n2))
        else:
            raise ExportError(f"cannot export with dynamic axes: a constant of shape "
                              f"{list(arr.shape)} used by {where} has a size that follows the "
                              "dynamic axes but matches no input dim")
    shape = b.shape_value(pieces)
    if tri is None:
        value = b.const(np.asarray(arr.reshape(-1)[0], dtype=arr.dtype), name + "_value")
        return b.op("Expand", [value, shape], name=name)
    k, low, high = tri
    ones = b.op("Expand", [b.const(np.asarray(1.0, np.float32), "one"), shape])
    lower = b.op("Trilu", [ones, b.const(np.asarray(k, np.int64), "k")], upper=0)
    inside = b.op("Greater", [lower, b.const(np.asarray(0.5, np.float32), "half")])
    return b.op("Where", [inside, b.const(np.asarray(low, arr.dtype), "low"),
                          b.const(np.asarray(high, arr.dtype), "high")], name=name)


def _drop_unused(b: Builder, outputs: list[str]) -> None:
    """Remove nodes and initializers no output depends on (e.g. folded-away constants)."""
    needed = set(outputs)
    kept = []
    for node in reversed(b.nodes):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    b.nodes[:] = kept[::-1]
    for name in [n for n in b.initializers if n not in needed]:
        del b.initializers[name]
