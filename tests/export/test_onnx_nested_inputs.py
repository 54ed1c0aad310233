"""sg.onnx.export with nested example inputs: ``(x, (h, c))`` flattened into graph inputs
x, h, c (depth first), as torch.onnx.export does; checked against onnxruntime."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


class _WordLM(nn.Module):
    """An LSTM language model's core, called as ``model(x, hidden)`` with ``hidden = (h, c)``
    (as pytorch/examples' word_language_model does), returning the output and new state."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(4, 8, num_layers=2)
        self.head = nn.Linear(8, 3)

    def forward(self, x, hidden):
        out, (h, c) = self.rnn(x, hidden)
        return self.head(out), h, c


def _run(path, feed: dict) -> list:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {k: v.numpy() for k, v in feed.items()})


def test_lstm_with_state_tuple_matches_onnxruntime(tmp_path) -> None:
    sg.manual_seed(3)
    model = _WordLM().eval()
    x, h, c = sg.randn(5, 2, 4), sg.randn(2, 2, 8), sg.randn(2, 2, 8)
    path = tmp_path / "lm.onnx"
    proto = sg.onnx.export(model, (x, (h, c)), path)
    names = [i.name for i in proto.graph.input]
    assert names == ["input", "input_1", "input_2"]
    assert [[d.dim_value for d in i.type.tensor_type.shape.dim] for i in proto.graph.input] \
        == [[5, 2, 4], [2, 2, 8], [2, 2, 8]]
    assert "LSTM" in {n.op_type for n in proto.graph.node}
    got = _run(path, dict(zip(names, (x, h, c))))
    with sg.no_grad():
        want = model(x, (h, c))
    assert len(got) == 3
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), atol=1e-5)
    # the state matters: a zero state gives another output
    zero = _run(path, {"input": x, "input_1": sg.zeros(2, 2, 8), "input_2": sg.zeros(2, 2, 8)})
    assert np.abs(zero[0] - got[0]).max() > 1e-3


def test_nested_lists_names_and_dynamic_axes(tmp_path) -> None:
    class M(nn.Module):
        def forward(self, a, pair, none, triple):
            assert none is None and isinstance(pair, list) and isinstance(triple, tuple)
            (b, (c, d)) = triple
            return a * pair[0] + pair[1] - b * c + d.sum()

    args = (sg.randn(2, 3), [sg.randn(2, 3), sg.randn(3)], None,
            (sg.randn(1, 3), (sg.randn(2, 1), sg.randn(4))))
    names = ["a", "p0", "p1", "b", "c", "d"]
    path = tmp_path / "m.onnx"
    proto = sg.onnx.export(M(), args, path, input_names=names,
                           dynamic_axes={"a": {0: "batch"}, "p0": {0: "batch"},
                                         "c": {0: "batch"}, "output": {0: "batch"}})
    assert [i.name for i in proto.graph.input] == names
    flat = [args[0], *args[1], args[3][0], *args[3][1]]
    feed = dict(zip(names, flat))
    feed["a"], feed["p0"], feed["c"] = sg.randn(5, 3), sg.randn(5, 3), sg.randn(5, 1)
    got = _run(path, feed)[0]
    want = M()(feed["a"], [feed["p0"], feed["p1"]], None,
               (feed["b"], (feed["c"], feed["d"])))
    np.testing.assert_allclose(got, want.numpy(), atol=1e-5)


def test_nested_input_errors_name_the_position() -> None:
    class M(nn.Module):
        def forward(self, x, pair):
            return x

    with pytest.raises(TypeError, match=r"example_input\[1\]\[0\] must be a Tensor"):
        sg.onnx.export(M(), (sg.randn(2), ("h", sg.randn(2))), None)
    with pytest.raises(ValueError, match="at least one Tensor"):
        sg.onnx.export(M(), ((), [None]), None)
    with pytest.raises(ValueError, match="expected 3 distinct input names"):
        sg.onnx.export(nn.LSTM(2, 3), (sg.randn(4, 1, 2), (sg.randn(1, 1, 3),
                                                            sg.randn(1, 1, 3))), None,
                       input_names=["x", "h"])
