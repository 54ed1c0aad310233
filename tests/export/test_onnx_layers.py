"""sg.onnx.export of convolution/pooling/padding, Transformer and recurrent layers."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
import softgrad.nn.functional as F
from softgrad.onnx import ExportError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tests.helpers.onnx_checks import export_and_run as _export_and_run  # noqa: E402


# ---------------------------------------------------------------------- CNN
class _CNN(nn.Module):
    """Conv2d/Conv1d (padding, stride, dilation, groups), BatchNorm2d, max/avg/adaptive and
    global pooling (ceil_mode, count_include_pad=False), reflection and zero padding."""

    def __init__(self):
        super().__init__()
        self.pad, self.zp = nn.ReflectionPad2d(1), nn.ZeroPad2d((1, 0, 2, 1))
        self.c1, self.b1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.p1 = nn.MaxPool2d(2, ceil_mode=True)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2, groups=2)
        self.p2 = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.c3 = nn.Conv1d(8, 4, 3, padding="same")
        self.mp1, self.ap1 = nn.MaxPool1d(2), nn.AvgPool1d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout2d(0.2)
        self.fc = nn.Linear(8 + 4 * 2, 5)

    def forward(self, x):
        h = self.p1(self.b1(self.c1(self.pad(x))).relu())
        h = self.drop(self.p2(self.c2(self.zp(h))))
        g = self.gap(h).flatten(1)
        s = self.ap1(self.mp1(self.c3(h.flatten(2))))
        s = F.adaptive_avg_pool1d(s, 2).flatten(1)
        return self.fc(sg.cat([g, s], dim=1)).log_softmax(dim=1)


def test_cnn_matches_onnxruntime(tmp_path):
    sg.manual_seed(5)
    model = _CNN()
    for _ in range(2):
        model(sg.randn(4, 3, 15, 15))  # BatchNorm running statistics
    proto, _ = _export_and_run(model, sg.randn(2, 3, 15, 15), tmp_path,
                                   dynamic={"in0": {0: "batch"}, "out": {0: "batch"}},
                                   sizes=(1, 5))
    ops = {n.op_type for n in proto.graph.node}
    assert {"Conv", "MaxPool", "AveragePool", "BatchNormalization", "Pad"} <= ops


def test_global_pooling_with_dynamic_spatial_size(tmp_path):
    sg.manual_seed(6)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(4, 3))
    _export_and_run(model, sg.randn(2, 2, 8, 8), tmp_path,
                    dynamic={"in0": {0: "n", 2: "h", 3: "w"}}, sizes=((3, 2, 10, 6),))


def test_max_pool_with_indices_is_refused():
    model = nn.MaxPool2d(2, return_indices=True)
    with pytest.raises(ExportError, match="MaxPool2d.*return_indices"):
        sg.onnx.export(model, sg.randn(1, 1, 4, 4), None)


# ---------------------------------------------------------------------- Transformer, RNN
@pytest.mark.parametrize("kw", [dict(batch_first=True),
                                dict(batch_first=False, norm_first=True, activation="gelu")])
def test_transformer_encoder_layer_matches_onnxruntime(tmp_path, kw):
    sg.manual_seed(7)
    layer = nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, dropout=0.1,
                                       **kw)
    if kw["batch_first"]:
        x, dyn, sizes = sg.randn(2, 5, 16), {"in0": {0: "batch", 1: "seq"}}, ((1, 1), (3, 9))
    else:
        x, dyn, sizes = sg.randn(5, 2, 16), {"in0": {0: "seq", 1: "batch"}}, ((1, 1), (9, 3))
    proto, _ = _export_and_run(layer, x, tmp_path, dynamic=dyn, sizes=sizes)
    ops = {n.op_type for n in proto.graph.node}
    assert {"LayerNormalization", "Softmax", "MatMul"} <= ops


def test_transformer_encoder_stack(tmp_path):
    sg.manual_seed(8)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32, batch_first=True),
                                num_layers=2)
    _export_and_run(enc, sg.randn(2, 5, 16), tmp_path, dynamic={"in0": [0, 1]},
                    sizes=((4, 7),))


class _Rnn(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        out, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state
        return out.sum(dim=-1) + h.sum()


@pytest.mark.parametrize("make", [
    lambda: nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True),
    lambda: nn.GRU(4, 6, num_layers=2, bidirectional=True),
    lambda: nn.RNN(4, 6, nonlinearity="relu", bias=False, batch_first=True)])
def test_recurrent_layers_match_onnxruntime(tmp_path, make):
    sg.manual_seed(9)
    rnn = make()
    x = sg.randn(2, 5, 4) if rnn.batch_first else sg.randn(5, 2, 4)
    proto, _ = _export_and_run(_Rnn(rnn), x, tmp_path, dynamic={"in0": [0, 1]},
                               sizes=((3, 1), (1, 8)))
    assert {"LSTM", "GRU", "RNN"} & {n.op_type for n in proto.graph.node}


def test_adaptive_max_pooling_global_and_divisible(tmp_path):
    class M(nn.Module):
        def forward(self, x):
            a = F.adaptive_max_pool2d(x, 1).flatten(1)
            b = F.adaptive_max_pool2d(x, (2, 3)).flatten(1)
            return sg.cat([a, b], dim=1)

    _export_and_run(M(), sg.randn(2, 3, 4, 6), tmp_path, dynamic={"in0": [0]}, sizes=(3,))
    with pytest.raises(ExportError, match=r"AdaptiveMaxPool2d.*\(4, 6\) -> \(3, 3\)"):
        sg.onnx.export(nn.AdaptiveMaxPool2d((3, 3)), sg.randn(1, 1, 4, 6), None)


@pytest.mark.parametrize("make,shape,opset", [
    (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), (2, 3, 5, 5), 17),
    (lambda: nn.ConvTranspose1d(3, 2, 4, stride=3, groups=1), (2, 3, 7), 17),
    (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 3, 4), 17),
    (lambda: nn.Upsample(size=(5, 7), mode="nearest"), (1, 2, 3, 4), 17),
    (lambda: nn.ReplicationPad2d((1, 2, 0, 3)), (1, 2, 3, 4), 17),
    (lambda: nn.ReflectionPad1d(2), (2, 3, 5), 17),
    (lambda: nn.CircularPad2d(1), (1, 2, 3, 4), 19),
    (lambda: nn.ConstantPad2d((1, -1, 2, 0), 0.5), (1, 2, 3, 4), 17),
    (lambda: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, divisor_override=5),
     (1, 2, 7, 6), 17),
])
def test_vision_layers(tmp_path, make, shape, opset):
    sg.manual_seed(10)
    _export_and_run(make(), sg.randn(*shape), tmp_path, dynamic={"in0": [0]}, sizes=(2,),
                    opset_version=opset)


def test_transposed_convolution_with_dynamic_spatial_size(tmp_path):
    sg.manual_seed(14)
    model = nn.Sequential(nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
                          nn.ReLU(), nn.ConvTranspose2d(3, 1, (2, 3), stride=(1, 2)))
    _export_and_run(model, sg.randn(1, 2, 4, 5), tmp_path,
                    dynamic={"in0": {0: "n", 2: "h", 3: "w"}}, sizes=((2, 2, 7, 3),))


def test_transformer_with_a_boolean_padding_mask_input(tmp_path):
    sg.manual_seed(16)
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)

    class Padded(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x, pad):
            return self.layer(x, src_key_padding_mask=pad)

    def padding(lengths, seq):
        return sg.tensor(np.arange(seq)[None, :] >= np.asarray(lengths)[:, None])

    model = Padded()
    path = tmp_path / "padded.onnx"
    sg.onnx.export(model, (sg.randn(2, 5, 16), padding([5, 3], 5)), path,
                   input_names=["x", "pad"],
                   dynamic_axes={"x": {0: "b", 1: "s"}, "pad": {0: "b", 1: "s"}})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model.eval()
    for lengths, seq in (([5, 3], 5), ([7, 2, 1], 7)):
        x, pad = sg.randn(len(lengths), seq, 16), padding(lengths, seq)
        with sg.no_grad():
            want = model(x, pad).numpy()
        got = sess.run(None, {"x": x.numpy(), "pad": pad.numpy()})[0]
        np.testing.assert_allclose(got, want, atol=1e-5)
