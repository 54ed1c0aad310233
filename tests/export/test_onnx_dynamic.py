"""sg.onnx.export with dynamic axes: sizes read at run time, and size-dependent code refused."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
import softgrad.nn.functional as F
from softgrad.onnx import ExportError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tests.helpers.onnx_checks import ATOL, export_and_run as _export_and_run  # noqa: E402



class _Tokens(nn.Module):
    """Reshapes that mix dynamic sizes: (N, L, E) -> (L, N, E) -> (L*N, E) -> (L, N, H, d)."""

    def __init__(self):
        super().__init__()
        self.cls = nn.Parameter(sg.randn(1, 1, 8))
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        n, seq, e = x.shape
        x = sg.cat([self.cls.expand(n, -1, -1), x], dim=1)        # (N, L+1, E)
        x = x + sg.ones(n, 1, 1) * 0.5                             # a filled constant
        t = x.transpose(0, 1)                                      # (L+1, N, E)
        h = self.fc(t.reshape(-1, e)).reshape(seq + 1, n, e)       # products of both sizes
        h = h.reshape(seq + 1, n, 2, e // 2).permute(1, 2, 0, 3)   # (N, 2, L+1, 4)
        return h.reshape(n, 2, -1).mean(dim=1)


def test_dynamic_batch_and_sequence_through_mixed_reshapes(tmp_path):
    sg.manual_seed(4)
    model = _Tokens()
    path = tmp_path / "tok.onnx"
    sg.onnx.export(model, sg.randn(2, 3, 8), path, input_names=["x"],
                   dynamic_axes={"x": {0: "batch", 1: "seq"}})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n, seq in ((2, 3), (1, 1), (5, 7)):
        x = sg.randn(n, seq, 8)
        got = sess.run(None, {"x": x.numpy()})[0]
        with sg.no_grad():
            np.testing.assert_allclose(got, model(x).numpy(), atol=ATOL)
    out_type = onnx.load(str(path)).graph.output[0].type
    out_dims = [d.dim_param for d in out_type.tensor_type.shape.dim]
    assert out_dims[0] == "output_dim0" and out_dims[1] == "output_dim1"


@pytest.mark.parametrize("forward,match", [
    (lambda x: x + sg.arange(float(x.shape[0])).reshape(-1, 1), "constant of shape"),
    (lambda x: x[:, : x.shape[0] * 2 - 3], "index 1 becomes 3"),
    (lambda x: x.relu() if x.shape[0] < 3 else x.tanh(), "different ops"),
])
def test_size_dependent_code_is_refused_with_dynamic_axes(forward, match):
    class M(nn.Module):
        def forward(self, x):
            return forward(x)

    with pytest.raises(ExportError, match=match):
        sg.onnx.export(M(), sg.randn(2, 4), None, dynamic_axes={"input": [0]})
    sg.onnx.export(M(), sg.randn(2, 4), None)  # fine with static shapes


def test_an_input_read_outside_the_traced_ops_is_refused():
    class Masked(nn.Module):
        def forward(self, x, mask):
            return x * sg.tensor(mask.numpy() > 0)  # read through NumPy, outside the trace

    with pytest.raises(ExportError, match="input 'mask' is not used"):
        sg.onnx.export(Masked(), (sg.randn(2, 3), sg.randn(2, 3)), None,
                       input_names=["x", "mask"])


def test_indices_that_follow_a_dynamic_size_count_from_the_end(tmp_path):
    class Ends(nn.Module):
        def forward(self, x):  # (N, L, 3)
            n, seq = x.shape[0], x.shape[1]
            return x[:, : seq - 1] * 2 + x[:, 1:seq] - x[:, seq - 1:seq] + x[n - 1, seq - 2]

    _export_and_run(Ends(), sg.randn(3, 5, 3), tmp_path,
                    dynamic={"in0": {0: "n", 1: "l"}, "out": {0: "n", 1: "l"}},
                    sizes=((2, 6), (1, 2), (4, 9)))

def test_transformer_with_an_additive_mask_input_and_dynamic_sequence(tmp_path):
    sg.manual_seed(11)
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)

    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x, mask):
            return self.layer(x, src_mask=mask)

    def causal(n):
        return sg.tensor(np.triu(np.full((n, n), -np.inf, np.float32), 1))

    model = Masked()
    path = tmp_path / "masked.onnx"
    sg.onnx.export(model, (sg.randn(2, 5, 16), causal(5)), path, input_names=["x", "mask"],
                   dynamic_axes={"x": {0: "b", 1: "s"}, "mask": {0: "s", 1: "s"}})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model.eval()
    for b, s in ((2, 5), (3, 8), (1, 1)):
        x, m = sg.randn(b, s, 16), causal(s)
        with sg.no_grad():
            want = model(x, m).numpy()
        got = sess.run(None, {"x": x.numpy(), "mask": m.numpy()})[0]
        np.testing.assert_allclose(got, want, atol=ATOL)


def test_positional_table_sliced_to_the_sequence_length(tmp_path):
    class Positional(nn.Module):
        def __init__(self):
            super().__init__()
            self.pe = nn.Parameter(sg.randn(1, 50, 8))
            self.fc = nn.Linear(8, 8)

        def forward(self, x):  # (N, L, 8)
            return self.fc(x + self.pe[:, : x.shape[1]])

    sg.manual_seed(13)
    _export_and_run(Positional(), sg.randn(2, 6, 8), tmp_path,
                    dynamic={"in0": {0: "n", 1: "l"}, "out": {0: "n", 1: "l"}},
                    sizes=((3, 11), (1, 1)))


def test_causal_attention_with_a_dynamic_sequence_length(tmp_path):
    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv, self.out = nn.Linear(8, 24), nn.Linear(8, 8)

        def forward(self, x):  # (N, L, 8), two heads
            n, seq, _ = x.shape
            q, k, v = self.qkv(x).reshape(n, seq, 3, 2, 4).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.out(y.transpose(1, 2).reshape(n, seq, 8))

    sg.manual_seed(15)
    proto, _ = _export_and_run(Causal(), sg.randn(2, 5, 8), tmp_path,
                               dynamic={"in0": {0: "n", 1: "l"}, "out": {0: "n", 1: "l"}},
                               sizes=((3, 9), (1, 1), (2, 2)))
    assert "Trilu" in {n.op_type for n in proto.graph.node}


def test_indexing_with_an_integer_input_tensor(tmp_path):
    table = sg.randn(6, 3)

    class Rows(nn.Module):
        def forward(self, x, i):
            return x[i] * 2 + table[i]

    path = tmp_path / "rows.onnx"
    sg.onnx.export(Rows(), (sg.randn(5, 3), sg.tensor([0, 4, 4, 1])), path,
                   input_names=["x", "i"], dynamic_axes={"i": [0]})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for i in ([2], [4, 0, 3, 3, 1, 2, 0]):
        x, idx = sg.randn(5, 3), sg.tensor(i)
        got = sess.run(None, {"x": x.numpy(), "i": idx.numpy()})[0]
        np.testing.assert_allclose(got, Rows()(x, idx).numpy(), atol=ATOL)
