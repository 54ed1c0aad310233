"""A small helper that accumulates ONNX nodes and initializers (the ``onnx`` package is
imported lazily by :func:`load_onnx`)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from softgrad import backend
from softgrad.onnx.tracer import ExportError, TraceNode
from softgrad.onnx.unsupported import REASONS

np = backend.np

# converters: Function class name -> fn(builder, node, input value names) -> output value name
CONVERTERS: dict[str, Callable[[Builder, TraceNode, list[str]], str]] = {}


def converter(*ops: str) -> Callable:
    """Register the decorated function as the ONNX converter of the named primitives."""

    def deco(fn: Callable) -> Callable:
        for op in ops:
            CONVERTERS[op] = fn
        return fn

    return deco


def load_onnx() -> Any:
    """Import the ``onnx`` package, with an install hint when it is missing."""
    try:
        import onnx
    except ImportError:  # pragma: no cover - depends on the machine
        raise ImportError("softgrad.onnx.export needs the 'onnx' package: "
                          "pip install 'softgrad[export]' (or pip install onnx)") from None
    return onnx


class Builder:
    """Collects nodes and initializers; ``op`` returns the (first) output name."""

    def __init__(self, onnx: Any, opset: int, used: set[str],
                 sources: dict[tuple[int, int], tuple[str, int]] | None = None) -> None:
        self.onnx, self.helper, self.opset = onnx, onnx.helper, opset
        self.nodes: list[Any] = []
        self.initializers: dict[str, Any] = {}
        self.used = set(used)
        self.count = 0
        self.sources = sources or {}
        self.cache: dict[Any, str] = {}
        self.state_data: dict[int, str] = {}  # array id -> state-dict key (set by export)

    def state_name(self, array: Any, default: str) -> str:
        """The state-dict key of the parameter/buffer ``array`` is (a view of), else default."""
        for a in (array, getattr(array, "base", None)):
            if a is not None and id(a) in self.state_data:
                return self.state_data[id(a)]
        return default

    def dim(self, n1: int, n2: int) -> str | None:
        """A (1,) int64 value holding, at run time, the input dim whose traced sizes were
        ``n1`` and ``n2`` (None when no input dim varies that way)."""
        src = self.sources.get((n1, n2))
        if src is None:
            return None
        if src not in self.cache:
            if src[0] not in self.cache:
                self.cache[src[0]] = self.op("Shape", [src[0]], name="shape")
            self.cache[src] = self.op("Gather", [self.cache[src[0]], self.ints([src[1]])],
                                      name="dim", axis=0)
        return self.cache[src]

    def shape_value(self, pieces: Sequence[Any]) -> str:
        """A 1-D int64 shape from ints and (1,) value names (concatenated when mixed)."""
        if all(isinstance(p, int) for p in pieces):
            return self.ints(pieces, "shape")
        parts, run = [], []
        for p in pieces:
            if isinstance(p, int):
                run.append(p)
                continue
            if run:
                parts.append(self.ints(run, "shape"))
                run = []
            parts.append(p)
        if run:
            parts.append(self.ints(run, "shape"))
        return self.op("Concat", parts, name="shape", axis=0)

    def fresh(self, base: str) -> str:
        name = base
        while name in self.used:
            self.count += 1
            name = f"{base}_{self.count}"
        self.used.add(name)
        return name

    def const(self, value: Any, name: str = "c", dtype: Any = None) -> str:
        """Add an initializer holding ``value`` (an array or a Python number/list)."""
        arr = np.asarray(value, dtype=dtype)
        if arr.dtype == np.float64 and dtype is None and not isinstance(value, np.ndarray):
            arr = arr.astype(np.float32)
        name = self.fresh(name)
        self.initializers[name] = self.onnx.numpy_helper.from_array(np.array(arr, order="C"),
                                                                     name)
        return name

    def ints(self, values: Sequence[int], name: str = "i") -> str:
        """An int64 1-D initializer (shapes, axes, starts...)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1), name)

    def scalar(self, value: float, like: Any, name: str = "s") -> str:
        """A 0-d initializer of dtype ``like`` (a NumPy dtype)."""
        return self.const(np.asarray(value, dtype=like), name)

    def op(self, op_type: str, inputs: Sequence[str], n_out: int = 1, name: str | None = None,
           **attrs: Any) -> Any:
        outs = [self.fresh(name or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs,
                                                name=self.fresh("n_" + op_type), **attrs))
        return outs[0] if n_out == 1 else outs

    def reduce(self, op_type: str, x: str, axes: Sequence[int] | None, keepdims: bool) -> str:
        """ReduceX over ``axes`` (None: all), with axes as attribute or input per opset."""
        keep = int(bool(keepdims))
        if axes is None:
            return self.op(op_type, [x], keepdims=keep)
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes, "axes")], keepdims=keep)
        return self.op(op_type, [x], axes=axes, keepdims=keep)

    def unsupported(self, node: TraceNode, why: str = "") -> ExportError:
        why = why or REASONS.get(node.op, "softgrad has no ONNX converter for it")
        return ExportError(f"cannot export {node.where()} to ONNX: {why}")


def axes_of(axis: Any, ndim: int) -> list[int] | None:
    """A reduction ``axis`` param (None, int or tuple) as a list of non-negative ints."""
    if axis is None:
        return None
    items = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return [int(a) % max(ndim, 1) for a in items]
