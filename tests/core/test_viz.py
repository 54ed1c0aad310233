"""Graph drawing (softgrad.utils.viz.make_dot) and PyTorch-style graph introspection
(``grad_fn.name()``, ``grad_fn.next_functions``)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from softgrad import nn
from softgrad.engine.function import AccumulateGrad
from softgrad.utils import viz
from softgrad.utils.viz import DotSource, make_dot

_NODE = re.compile(r'^\t(n\d+) \[label=("(?:[^"\\]|\\.)*"|\w+)(.*)\]$')
_EDGE = re.compile(r"^\t(n\d+) -> (n\d+)(?: \[(.*)\])?$")


def _parse(source: str) -> tuple[dict[str, str], list[tuple[str, str, str]], dict[str, str]]:
    """DOT text -> ({node: label}, [(tail, head, attrs)], {node: attrs}); labels unquoted."""
    labels, edges, attrs = {}, [], {}
    for line in source.splitlines():
        m = _NODE.match(line)
        if m:
            labels[m.group(1)] = m.group(2).strip('"').replace("\\n", "\n")
            attrs[m.group(1)] = m.group(3)
            continue
        m = _EDGE.match(line)
        if m:
            edges.append((m.group(1), m.group(2), m.group(3) or ""))
    return labels, edges, attrs


def _mlp_loss():
    sg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = sg.randn(5, 4), sg.tensor([0, 1, 2, 0, 1])
    return model, x, y, F.cross_entropy(model(x), y)


# the MLP + cross-entropy graph, edge by edge (labels; data flows tail -> head)
EXPECTED_EDGES = Counter([
    ("0.weight\n(8, 4)", "AccumulateGrad"), ("0.bias\n(8)", "AccumulateGrad"),
    ("2.weight\n(3, 8)", "AccumulateGrad"), ("2.bias\n(3)", "AccumulateGrad"),
    ("AccumulateGrad", "AddmmBackward0"), ("AccumulateGrad", "AddmmBackward0"),
    ("AccumulateGrad", "AddmmBackward0"), ("AccumulateGrad", "AddmmBackward0"),
    ("AddmmBackward0", "ReluBackward0"), ("ReluBackward0", "AddmmBackward0"),
    ("AddmmBackward0", "CrossEntropyLossBackward0"), ("CrossEntropyLossBackward0", "()"),
])
EXPECTED_NODES = Counter(["()", "CrossEntropyLossBackward0", "AddmmBackward0", "AddmmBackward0",
                          "ReluBackward0", "AccumulateGrad", "AccumulateGrad", "AccumulateGrad",
                          "AccumulateGrad", "0.weight\n(8, 4)", "0.bias\n(8)",
                          "2.weight\n(3, 8)", "2.bias\n(3)"])


def _path_to_output(labels: dict, edges: list, start: str) -> list[str]:
    """Follow the one outgoing edge of each node from ``start`` to the output."""
    out = {}
    for tail, head, _ in edges:
        assert tail not in out, f"{labels[tail]!r} feeds two nodes"
        out[tail] = head
    path, node = [labels[start]], start
    while node in out:
        node = out[node]
        path.append(labels[node])
    return path


def _check_mlp_graph(source: str) -> dict[str, str]:
    labels, edges, attrs = _parse(source)
    assert Counter(labels.values()) == EXPECTED_NODES
    assert Counter((labels[t], labels[h]) for t, h, _ in edges) == EXPECTED_EDGES
    assert len({(t, h) for t, h, _ in edges}) == len(edges)  # no edge drawn twice
    by_label = {v: k for k, v in labels.items()}
    tail = ["AccumulateGrad", "AddmmBackward0", "CrossEntropyLossBackward0", "()"]
    first = ["AccumulateGrad", "AddmmBackward0", "ReluBackward0"] + tail[1:]
    assert _path_to_output(labels, edges, by_label["0.weight\n(8, 4)"])[1:] == first
    assert _path_to_output(labels, edges, by_label["0.bias\n(8)"])[1:] == first
    assert _path_to_output(labels, edges, by_label["2.weight\n(3, 8)"])[1:] == tail
    assert _path_to_output(labels, edges, by_label["2.bias\n(3)"])[1:] == tail
    assert "lightblue" in attrs[by_label["0.weight\n(8, 4)"]]
    assert "darkolivegreen1" in attrs[by_label["()"]]
    return labels


def test_make_dot_of_an_mlp_with_cross_entropy_has_exactly_the_expected_nodes_and_edges():
    model, _, _, loss = _mlp_loss()
    dot = make_dot(loss, params=dict(model.named_parameters()))
    _check_mlp_graph(dot.source)


def test_the_graph_can_be_drawn_after_backward_with_gradient_norms():
    model, _, _, loss = _mlp_loss()
    before = make_dot(loss, params=dict(model.named_parameters()), show_grad_norm=True).source
    assert before.count("grad norm None") == 4
    loss.backward()  # frees the saved values; the graph's shape stays
    assert loss.grad_fn._freed
    after = make_dot(loss, params=dict(model.named_parameters()), show_grad_norm=True).source
    labels, _, _ = _parse(after)
    norms = {}
    for label in labels.values():
        m = re.fullmatch(r"(\S+)\n\(.*\)\ngrad norm (\S+)", label)
        if m:
            norms[m.group(1)] = float(m.group(2))
    assert set(norms) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    for name, p in model.named_parameters():
        assert norms[name] == pytest.approx(np.linalg.norm(p.grad.numpy()), rel=1e-3)
    plain = make_dot(loss, params=dict(model.named_parameters())).source
    _check_mlp_graph(plain)


def test_show_saved_and_show_attrs_show_what_backward_uses():
    x = sg.randn(3, 4, requires_grad=True)
    y = F.softmax(x, dim=1)
    labels, edges, attrs = _parse(make_dot(y, params={"x": x}, show_saved=True,
                                           show_attrs=True).source)
    saved = [n for n, a in attrs.items() if "orange" in a]
    assert [labels[n] for n in saved] == ["result\n(3, 4)"]
    softmax = next(n for n, v in labels.items() if v.startswith("SoftmaxBackward0"))
    assert "axis: 1" in labels[softmax]
    assert (saved[0], softmax, "dir=none style=dotted") in edges
    y.sum().backward()  # freed: nothing saved is left to draw
    assert "orange" not in make_dot(y, show_saved=True).source


def test_several_outputs_shared_leaves_and_unnamed_leaves():
    a = sg.randn(2, 3, requires_grad=True)
    b = sg.randn(3, requires_grad=True)
    c = sg.randn(2, 3)  # needs no gradient: not drawn
    u, v = (a * b).sum(), (a + c).exp()
    labels, edges, _ = _parse(make_dot([u, v], params={"a": a}).source)
    assert Counter(labels.values()) == Counter(
        ["()", "(2, 3)", "SumBackward0", "MulBackward0", "ExpBackward0", "AddBackward0",
         "AccumulateGrad", "AccumulateGrad", "a\n(2, 3)", "(3)"])
    a_node = next(n for n, v in labels.items() if v == "a\n(2, 3)")
    acc = [h for t, h, _ in edges if t == a_node]
    assert len(acc) == 1  # one AccumulateGrad per leaf, used by Mul and Add
    assert sorted(labels[h] for t, h, _ in edges if t == acc[0]) == ["AddBackward0",
                                                                      "MulBackward0"]


def test_a_long_chain_is_walked_without_recursion():
    x = sg.randn(3, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    assert make_dot(y).source.count("MulBackward0") == 3000


def test_make_dot_rejects_what_is_not_a_tensor():
    with pytest.raises(TypeError, match="Tensor"):
        make_dot(np.ones(3))
    with pytest.raises(TypeError, match=r"params\['w'\] must be a Tensor"):
        make_dot(sg.ones(2, requires_grad=True) * 2, params={"w": np.ones(2)})


def test_without_the_graphviz_package_the_dot_text_is_the_same(monkeypatch, tmp_path):
    model, _, _, loss = _mlp_loss()
    params = dict(model.named_parameters())
    monkeypatch.setattr(viz, "_has_graphviz", lambda: False)
    text = make_dot(loss, params=params, show_attrs=True, show_saved=True)
    assert isinstance(text, DotSource) and str(text) == text.source
    _check_mlp_graph(make_dot(loss, params=params).source)
    assert text.save(str(tmp_path / "g.dot")) and (tmp_path / "g.dot").read_text() == text.source
    with pytest.raises(ImportError, match="softgrad\\[viz\\]"):
        text.render("g")
    monkeypatch.undo()
    graphviz = pytest.importorskip("graphviz")
    dot = make_dot(loss, params=params, show_attrs=True, show_saved=True)
    assert isinstance(dot, graphviz.Digraph) and dot.source == text.source


def _svg(dot) -> str:
    if isinstance(dot, DotSource):
        return subprocess.run(["dot", "-Tsvg"], input=dot.source, capture_output=True,
                              text=True, check=True, timeout=60).stdout
    return dot.pipe(format="svg").decode("utf-8")


def test_rendering_to_svg():
    if shutil.which("dot") is None:
        if os.environ.get("SOFTGRAD_REQUIRE_DOT"):
            pytest.fail("SOFTGRAD_REQUIRE_DOT is set but Graphviz's dot program is not on PATH")
        pytest.skip("Graphviz's dot program is not installed (apt-get install graphviz)")
    model, _, _, loss = _mlp_loss()
    loss.backward()
    svg = _svg(make_dot(loss, params=dict(model.named_parameters()), show_grad_norm=True))
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for expected in ["AddmmBackward0", "ReluBackward0", "CrossEntropyLossBackward0",
                     "0.weight", "(8, 4)", "2.bias"]:
        assert expected in texts
    assert sum(t.startswith("grad norm ") for t in texts) == 4
    assert svg.count('class="node"') == 13 and svg.count('class="edge"') == 12


def test_it_renders_inline_in_jupyter():
    graphviz = pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    _, _, _, loss = _mlp_loss()
    bundle = make_dot(loss)._repr_mimebundle_()
    assert isinstance(make_dot(loss), graphviz.Digraph) and "</svg>" in bundle["image/svg+xml"]


# ---------------------------------------------------------------------- grad_fn introspection
def test_grad_fn_names_and_repr_follow_pytorch():
    x = sg.randn(3, 4, requires_grad=True)
    assert (x * 2).grad_fn.name() == "MulBackward0"
    assert repr((x * 2).grad_fn) == "<MulBackward0>"
    assert "grad_fn=<ExpBackward0>" in repr(x.exp())
    assert F.linear(x, sg.randn(2, 4), sg.randn(2)).grad_fn.name() == "AddmmBackward0"
    assert F.linear(x, sg.randn(2, 4)).grad_fn.name() == "MmBackward0"
    assert F.cross_entropy(x, sg.tensor([0, 1, 2])).grad_fn.name() == \
        "CrossEntropyLossBackward0"
    assert x.digamma().grad_fn.name() == "DigammaBackward0"
    assert x.polygamma(1).grad_fn.name() == "PolygammaBackward0"


def test_next_functions_walk_the_graph_before_and_after_backward():
    w = sg.randn(3, requires_grad=True)
    c = sg.randn(3)
    h = (w * c).exp()
    loss = h.sum()
    for _ in range(2):  # before backward, then on the freed graph
        (exp, k), = loss.grad_fn.next_functions
        assert k == 0 and exp is h.grad_fn and exp.name() == "ExpBackward0"
        (mul, _), = exp.next_functions
        (acc, _), (none, _) = mul.next_functions
        assert isinstance(acc, AccumulateGrad) and acc.variable is w and none is None
        assert acc.name() == "AccumulateGrad" and acc.next_functions == ()
        assert acc == mul.next_functions[0][0] and len({acc, mul.next_functions[0][0]}) == 1
        if not loss.grad_fn._freed:
            loss.backward()
    assert h.grad_fn._freed and mul._freed


def test_a_freed_graph_keeps_no_intermediate_values():
    import gc
    import weakref

    x = sg.randn(50, 50, requires_grad=True)
    h = x.exp()
    ref = weakref.ref(h._data)
    loss = (h * 2).sum()
    del h
    loss.backward()
    gc.collect()
    assert ref() is None
    assert make_dot(loss).source.count("Backward0") == 3


def test_node_names_match_pytorch():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as TF

    cases = {
        "x + y": lambda L, F, x, y: x + y, "x * y": lambda L, F, x, y: x * y,
        "x / y": lambda L, F, x, y: x / y, "x ** 2": lambda L, F, x, y: x ** 2,
        "x ** y": lambda L, F, x, y: x ** y, "2 ** x": lambda L, F, x, y: 2 ** x,
        "exp": lambda L, F, x, y: x.exp(), "log1p": lambda L, F, x, y: x.log1p(),
        "tanh": lambda L, F, x, y: x.tanh(), "sigmoid": lambda L, F, x, y: x.sigmoid(),
        "relu": lambda L, F, x, y: F.relu(x), "clamp": lambda L, F, x, y: x.clamp(0.6, 1.0),
        "softmax": lambda L, F, x, y: F.softmax(x, dim=1),
        "log_softmax": lambda L, F, x, y: F.log_softmax(x, dim=1),
        "sum": lambda L, F, x, y: x.sum(), "mean": lambda L, F, x, y: x.mean(),
        "matmul": lambda L, F, x, y: x @ y.T, "reshape": lambda L, F, x, y: x.reshape(4, 3),
        "T": lambda L, F, x, y: x.T, "max(dim)": lambda L, F, x, y: x.max(1)[0],
        "cat": lambda L, F, x, y: L.cat([x, y]), "where": lambda L, F, x, y: L.where(x > 1, x, y),
        "gelu": lambda L, F, x, y: F.gelu(x), "logsumexp": lambda L, F, x, y: x.logsumexp(1),
        "nll_loss": lambda L, F, x, y: F.nll_loss(x, L.tensor([0, 1, 2])),
        "mse_loss": lambda L, F, x, y: F.mse_loss(x, y.detach()),
        "bce_with_logits": lambda L, F, x, y: F.binary_cross_entropy_with_logits(
            x, y.detach().sigmoid()),
        "dropout": lambda L, F, x, y: F.dropout(x, 0.5, training=True),
        "float": lambda L, F, x, y: x.float(), "norm": lambda L, F, x, y: x.norm(),
    }
    rng = np.random.default_rng(0)
    a, b = rng.random((3, 4)) + 0.5, rng.random((3, 4)) + 0.5
    for what, f in cases.items():
        ours = f(sg, F, sg.tensor(a, requires_grad=True), sg.tensor(b, requires_grad=True))
        theirs = f(torch, TF, torch.tensor(a, requires_grad=True),
                   torch.tensor(b, requires_grad=True))
        assert ours.grad_fn.name() == theirs.grad_fn.name(), what


def _graph(fn, name: Callable, inputs: Callable) -> tuple[Counter, Counter]:
    """Node and edge counts, by ``name(node)``, of the graph behind ``fn``; ``inputs(node)``
    lists the nodes whose outputs it takes."""
    nodes, edges, seen, stack = Counter(), Counter(), set(), [fn]
    while stack:
        f = stack.pop()
        if f in seen:
            continue
        seen.add(f)
        nodes[name(f)] += 1
        for nxt in inputs(f):
            edges[(name(nxt), name(f))] += 1
            stack.append(nxt)
    return nodes, edges


def _torch_graph(fn, names: dict) -> tuple[Counter, Counter]:
    """Node and edge names of a torch graph, with softgrad's fusions applied."""
    def name(f):
        return names.get(f.name(), f.name())

    def inputs(f) -> list:
        out = []
        for nxt, _ in f.next_functions:
            while nxt is not None and nxt.name() == "TBackward0":
                (nxt, _), = nxt.next_functions  # softgrad's Linear takes the weight as it is
            if nxt is None:
                continue
            if name(f) == "CrossEntropyLossBackward0" and nxt.name() == "LogSoftmaxBackward0":
                (nxt, _), = nxt.next_functions  # log_softmax + nll_loss: one fused node
            out.append(nxt)
        return out

    return _graph(fn, name, inputs)


def _our_graph(fn) -> tuple[Counter, Counter]:
    return _graph(fn, lambda f: f.name(),
                  lambda f: [nxt for nxt, _ in f.next_functions if nxt is not None])


def test_the_mlp_graph_is_pytorchs_up_to_the_fused_nodes():
    torch = pytest.importorskip("torch")
    _model, x, y, loss = _mlp_loss()
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
                                 torch.nn.Linear(8, 3)).double()  # whatever torch's default
    tloss = torch.nn.functional.cross_entropy(tmodel(torch.tensor(x.numpy(), dtype=torch.float64)),
                                              torch.tensor(y.numpy()))
    theirs = _torch_graph(tloss.grad_fn, {"NllLossBackward0": "CrossEntropyLossBackward0",
                                         "torch::autograd::AccumulateGrad": "AccumulateGrad"})
    assert _our_graph(loss.grad_fn) == theirs
    loss.backward()
    assert _our_graph(loss.grad_fn) == theirs


