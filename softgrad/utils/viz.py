"""``make_dot``: draw an autograd graph with Graphviz, as ``torchviz.make_dot`` does.

    loss = F.cross_entropy(model(x), y)
    make_dot(loss, params=dict(model.named_parameters()))          # in Jupyter: the picture
    make_dot(loss, params=dict(model.named_parameters())).render("graph", format="svg")

Boxes are the graph's nodes, named like PyTorch's ``grad_fn`` classes (``AddmmBackward0``,
``ReluBackward0``, ...; see ``softgrad.engine.node_names``). Arrows run the way data flows
in the forward pass; backward walks them in reverse. Blue boxes are leaf tensors that require
grad (labelled with their name in ``params`` and their shape), each feeding the
``AccumulateGrad`` node where backward adds into ``.grad``; the green box is the output.
Orange boxes (``show_saved``) are what a node kept for its backward pass.

The result is a ``graphviz.Digraph`` when the ``graphviz`` package is installed
(``pip install 'softgrad[viz]'``), else a :class:`DotSource`; both give the DOT text as
``.source``. Rendering an image needs Graphviz's ``dot`` program (``apt-get install graphviz``,
``brew install graphviz``, ``conda install graphviz``).
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from softgrad import backend
from softgrad.engine.function import AccumulateGrad, Function
from softgrad.serialization.atomic import atomic_write
from softgrad.tensor import Tensor

if TYPE_CHECKING:
    import graphviz

np = backend.np

__all__ = ["GRAPH_ATTR", "NODE_ATTR", "DotSource", "make_dot"]

NODE_ATTR = {"style": "filled", "shape": "box", "fontsize": "10", "height": "0.2",
             "fontname": "monospace"}
GRAPH_ATTR = {"size": "12,12"}
_PARAM, _OUTPUT, _SAVED = "lightblue", "darkolivegreen1", "orange"
_DOT_KEYWORDS = {"node", "edge", "graph", "digraph", "subgraph", "strict"}
_DOT_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|-?(\.[0-9]+|[0-9]+(\.[0-9]*)?)")


@dataclass
class _Graph:
    """Nodes ``(name, label, attrs)`` and edges ``(tail, head, attrs)``, in drawing order."""

    nodes: list[tuple[str, str, dict]] = field(default_factory=list)
    edges: list[tuple[str, str, dict]] = field(default_factory=list)
    names: dict[tuple, str] = field(default_factory=dict)

    def add(self, key: tuple, label: str, **attrs: str) -> str:
        name = self.names.get(key)
        if name is None:
            name = self.names[key] = f"n{len(self.names)}"
            self.nodes.append((name, label, attrs))
        return name


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(n)) for n in shape) + ")"


def _leaf_label(t: Tensor, param_names: Mapping[int, str], show_grad_norm: bool) -> str:
    lines = [param_names.get(id(t), ""), _shape(t.shape)]
    if show_grad_norm:
        g = t.grad
        norm = "None" if g is None else f"{float(np.linalg.norm(backend.to_numpy(g._data))):.4g}"
        lines.append(f"grad norm {norm}")
    return "\\n".join(line for line in lines if line) or "()"


def _fn_label(fn: Any, show_attrs: bool, max_chars: int) -> str:
    name = fn.name()
    attrs = getattr(fn, "__dict__", {}) if show_attrs and isinstance(fn, Function) else {}
    lines = []
    for key, value in attrs.items():
        if key.startswith("_") or hasattr(value, "shape") or callable(value):
            continue
        text = f"{key}: {value!r}".replace("\\", "\\\\")  # a backslash is DOT's escape
        lines.append(text if len(text) <= max_chars else text[:max_chars - 3] + "...")
    return name + ("\\n\\n" + "".join(line + "\\l" for line in lines) if lines else "")


def _saved_arrays(fn: Any) -> list[tuple[str, Any]]:
    """What ``fn`` kept for backward: ``(label, array)``, inputs and result named as such."""
    if not isinstance(fn, Function) or fn._freed:
        return []
    out = fn._out() if fn._out is not None else None
    found: list[tuple[str, Any]] = []
    seen: set[int] = set()

    def keep(label: str, arr: Any) -> None:
        if arr is None or not hasattr(arr, "shape") or id(arr) in seen:
            return
        seen.add(id(arr))
        for i, p in enumerate(fn.parents):
            if p._data is arr:
                label = f"input {i}"
        if out is not None and out._data is arr:
            label = "result"
        found.append((label, arr))

    for i, arr in enumerate(fn._saved):
        keep(f"saved {i}", arr)
    for key, value in vars(fn).items():
        keep(key, value)
    return found


def _build(roots: Sequence[Tensor], param_names: Mapping[int, str], show_attrs: bool,
           show_saved: bool, max_attr_chars: int, show_grad_norm: bool) -> _Graph:
    """Walk from the outputs through ``grad_fn.next_functions`` (iteratively, no recursion)."""
    graph = _Graph()
    stack: list[Any] = []
    for root in roots:
        label = "\\n".join(s for s in (param_names.get(id(root), ""), _shape(root.shape)) if s)
        out = graph.add(("tensor", id(root)), label, fillcolor=_OUTPUT)
        fn = root.grad_fn
        if fn is not None:
            graph.edges.append((_node(graph, fn, show_attrs, max_attr_chars), out, {}))
            stack.append(fn)
    done: set[tuple] = set()
    while stack:
        fn = stack.pop()
        if _key(fn) in done:
            continue
        done.add(_key(fn))
        name = graph.names[_key(fn)]
        if isinstance(fn, AccumulateGrad):
            var = fn.variable
            leaf = graph.add(("tensor", id(var)), _leaf_label(var, param_names, show_grad_norm),
                             fillcolor=_PARAM)
            graph.edges.append((leaf, name, {}))
            continue
        if show_saved:
            for label, arr in _saved_arrays(fn):
                saved = graph.add(("saved", id(fn), id(arr)), f"{label}\\n{_shape(arr.shape)}",
                                  fillcolor=_SAVED)
                graph.edges.append((saved, name, {"dir": "none", "style": "dotted"}))
        for nxt, _ in fn.next_functions:
            if nxt is None:
                continue
            graph.edges.append((_node(graph, nxt, show_attrs, max_attr_chars), name, {}))
            stack.append(nxt)
    return graph


def _key(fn: Any) -> tuple:
    """One key per graph node; an ``AccumulateGrad`` is keyed by its tensor."""
    return ("accumulate", id(fn.variable)) if isinstance(fn, AccumulateGrad) else ("fn", id(fn))


def _node(graph: _Graph, fn: Any, show_attrs: bool, max_attr_chars: int) -> str:
    return graph.add(_key(fn), _fn_label(fn, show_attrs, max_attr_chars))


class DotSource:
    """The DOT text of a graph, for when the ``graphviz`` package is not installed.

    ``source`` (and ``str()``) is the text; ``save(path)`` writes it. To render it, install
    the package (``pip install 'softgrad[viz]'``) or run ``dot -Tsvg graph.dot -o graph.svg``.
    """

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def save(self, filename: str) -> str:
        """Write the DOT text to ``filename`` atomically; returns the path."""
        data = self.source.encode("utf-8")
        atomic_write(filename, lambda fh: fh.write(data))
        return filename

    def render(self, *args: Any, **kwargs: Any) -> str:
        raise ImportError("rendering needs the 'graphviz' package, which is not installed: "
                          "pip install 'softgrad[viz]' (and Graphviz's dot program); "
                          "DotSource.save() writes the DOT text without it")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {"text/plain": self.source}


def _quote(value: str) -> str:
    if _DOT_ID.fullmatch(value) and value.lower() not in _DOT_KEYWORDS:
        return value
    return '"' + value.replace('"', '\\"') + '"'


def _attr_list(attrs: Mapping[str, str], label: str | None = None) -> str:
    items = ([f"label={_quote(label)}"] if label is not None else []) + [
        f"{k}={_quote(v)}" for k, v in sorted(attrs.items())]
    return " [" + " ".join(items) + "]" if items else ""


def _dot_text(graph: _Graph) -> str:
    """The DOT text, laid out as the ``graphviz`` package lays out the same graph."""
    lines = ["digraph {", f"\tgraph{_attr_list(GRAPH_ATTR)}", f"\tnode{_attr_list(NODE_ATTR)}"]
    lines += [f"\t{name}{_attr_list(attrs, label)}" for name, label, attrs in graph.nodes]
    lines += [f"\t{tail} -> {head}{_attr_list(attrs)}" for tail, head, attrs in graph.edges]
    return "\n".join(lines) + "\n}\n"


def _digraph(graph: _Graph) -> graphviz.Digraph:
    import graphviz

    dot = graphviz.Digraph(node_attr=NODE_ATTR, graph_attr=GRAPH_ATTR)
    for name, label, attrs in graph.nodes:
        dot.node(name, label, **attrs)
    for tail, head, attrs in graph.edges:
        dot.edge(tail, head, **attrs)
    return dot


def _has_graphviz() -> bool:
    import importlib.util

    return importlib.util.find_spec("graphviz") is not None


def make_dot(var: Tensor | Sequence[Tensor], params: Mapping[str, Tensor] | None = None,
             show_attrs: bool = False, show_saved: bool = False, max_attr_chars: int = 50,
             show_grad_norm: bool = False) -> graphviz.Digraph | DotSource:
    """Draw the autograd graph that produced ``var``.

    Args:
        var: an output tensor, or a sequence of them.
        params: names for leaf tensors, e.g. ``dict(model.named_parameters())`` (default None:
            leaves are labelled with their shape only).
        show_attrs: list each node's non-tensor settings (``axis``, ``reduction``, ...) under
            its name (default False). Backward frees them, so draw before it.
        show_saved: draw what each node saved for backward as orange boxes, ``input i``,
            ``result`` or the attribute's name, with its shape (default False; freed by
            backward, like ``show_attrs``).
        max_attr_chars: cut each attribute line to this many characters (default 50).
        show_grad_norm: add each leaf's gradient norm ``‖.grad‖₂`` (``None`` before
            backward) to its label (default False). The graph can be drawn after
            ``backward()``: its shape outlives the freed values.

    Returns:
        a ``graphviz.Digraph`` when the ``graphviz`` package is installed (it renders inline
        in Jupyter, ``.render(path, format="svg")`` writes a file), else a
        :class:`DotSource`. Either way ``.source`` is the DOT text.

    Example:
        >>> loss = F.cross_entropy(model(x), y)
        >>> make_dot(loss, params=dict(model.named_parameters())).source.count("->") > 0
        True
    """
    roots = [var] if isinstance(var, Tensor) else list(var)
    if not roots or not all(isinstance(t, Tensor) for t in roots):
        raise TypeError(f"make_dot needs a Tensor or a sequence of Tensors, got "
                        f"{type(var).__name__}")
    param_names: dict[int, str] = {}
    for name, p in (params or {}).items():
        if not isinstance(p, Tensor):
            raise TypeError(f"params[{name!r}] must be a Tensor, got {type(p).__name__}")
        param_names[id(p)] = name
    graph = _build(roots, param_names, show_attrs, show_saved, max_attr_chars, show_grad_norm)
    return _digraph(graph) if _has_graphviz() else DotSource(_dot_text(graph))
