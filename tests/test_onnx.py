"""sg.onnx.export: traced models pass onnx.checker and onnxruntime matches softgrad."""
from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
import softgrad.nn.functional as F
from softgrad.onnx import ExportError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ATOL = 1e-5


def _export_and_run(model, x, tmp_path, dynamic=None, sizes=(), **kw):
    """Export, check, then compare onnxruntime with softgrad on x and on resized copies."""
    path = tmp_path / "model.onnx"
    xs = x if isinstance(x, tuple) else (x,)
    names = [f"in{i}" for i in range(len(xs))]
    was_training = model.training
    proto = sg.onnx.export(model, x, path, input_names=names, output_names=["out"],
                           dynamic_axes=dynamic, **kw)
    assert model.training == was_training  # export runs in eval mode, then restores the mode
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model.eval()
    worst = 0.0
    for batch in (None,) + tuple(sizes):
        if batch is None:
            feed = xs
        else:
            lead = batch if isinstance(batch, tuple) else (batch,)
            rng = np.random.default_rng(lead)
            feed = tuple(sg.tensor(rng.standard_normal(lead + t.shape[len(lead):]).astype(
                t.numpy().dtype)) if t.dtype.is_floating_point else t[:1].expand(
                lead + t.shape[1:]).contiguous() for t in xs)
        got = sess.run(None, {n: t.numpy() for n, t in zip(names, feed)})[0]
        with sg.no_grad():
            want = model(*feed).numpy()
        assert got.shape == want.shape
        worst = max(worst, float(np.abs(got - want).max()))
    assert worst <= ATOL, worst
    return proto, worst


def _mlp():
    sg.manual_seed(0)
    return nn.Sequential(
        nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.BatchNorm1d(32), nn.GELU(),
        nn.Dropout(0.5), nn.Linear(32, 32), nn.LayerNorm(32), nn.Tanh(), nn.Linear(32, 16),
        nn.Sigmoid(), nn.Linear(16, 16), nn.LeakyReLU(0.2), nn.ELU(0.7), nn.Linear(16, 10),
        nn.LogSoftmax(dim=1))


def test_mlp_matches_onnxruntime_with_dynamic_batch(tmp_path):
    model = _mlp()
    model.train()
    for _ in range(3):  # give BatchNorm non-trivial running statistics
        model(sg.randn(16, 12))
    proto, worst = _export_and_run(model, sg.randn(4, 12), tmp_path,
                                   dynamic={"in0": {0: "batch"}, "out": {0: "batch"}},
                                   sizes=(1, 7))
    ops = {n.op_type for n in proto.graph.node}
    assert {"Gemm", "BatchNormalization", "LayerNormalization", "LogSoftmax"} <= ops
    assert "Dropout" not in ops
    inits = {i.name for i in proto.graph.initializer}
    assert {"0.weight", "0.bias", "3.weight"} <= inits  # state-dict names
    dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param == "batch"


@pytest.mark.parametrize("act", [
    nn.Softplus(), nn.Softplus(beta=2.0, threshold=5.0), nn.SiLU(), nn.GELU("tanh"), nn.SELU(),
    nn.CELU(0.5), nn.Mish(), nn.Hardtanh(-0.5, 0.8), nn.ReLU6(), nn.Hardsigmoid(),
    nn.Hardswish(), nn.Softsign(), nn.Tanhshrink(), nn.LogSigmoid(), nn.Softmax(dim=-1),
    nn.Softmin(dim=1)])
def test_activations(tmp_path, act):
    x = sg.tensor(np.linspace(-30, 30, 48, dtype=np.float32).reshape(4, 12))
    model = nn.Sequential(act)
    _export_and_run(model, x, tmp_path, dynamic={"in0": [0], "out": [0]}, sizes=(3,))


class _Blocks(nn.Module):
    """Residual adds, reshape/permute/transpose, concat, indexing, matmul, reductions."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(8, 8), nn.Linear(8, 8)
        self.norm = nn.LayerNorm(8)
        self.flat = nn.Flatten()
        self.head = nn.Linear(2 * 6 * 8 + 6, 5)

    def forward(self, x):                               # (N, 6, 8)
        h = x + self.fc1(x).relu()                      # residual, 3-D Linear
        h = self.norm(h) * 0.5 - 1.0 / (h.abs() + 2.0)  # scalar arithmetic
        a = h.transpose(1, 2) @ h                       # (N, 8, 8) matmul
        h2 = (h @ a).softmax(dim=-1) + h ** 2
        z = sg.cat([h2, self.fc2(h).exp().sqrt()], dim=1)     # (N, 12, 8)
        z = z.reshape(z.shape[0], 2, 6, 8).permute(0, 1, 3, 2).permute(0, 1, 3, 2)
        s = z.mean(dim=(1, 3)) + z.sum(dim=1).amax(dim=-1)    # (N, 6)
        return self.head(sg.cat([self.flat(z), s[:, None][:, 0]], dim=1))


def test_residual_reshape_concat_reductions(tmp_path):
    sg.manual_seed(1)
    model = _Blocks()
    _export_and_run(model, sg.randn(3, 6, 8), tmp_path,
                    dynamic={"in0": {0: "n"}, "out": {0: "n"}}, sizes=(1, 5))


def test_indexing_and_views(tmp_path):
    class M(nn.Module):
        def forward(self, x):  # (N, 4, 10)
            y = x[:, 1:, ::2] + x[..., 1:, -1:]
            y = y[:, :, None, :].squeeze(2).unsqueeze(1).flatten(1)
            return y[:, 3] .unsqueeze(-1) * y - x[:, 0, :].sum(dim=-1, keepdim=True)

    _export_and_run(M(), sg.randn(2, 4, 10), tmp_path, dynamic={"in0": [0], "out": [0]},
                    sizes=(3,))


def test_embedding_model_takes_integer_input(tmp_path):
    sg.manual_seed(2)
    model = nn.Sequential(nn.Embedding(20, 6), nn.Flatten(), nn.Linear(18, 3))
    tokens = sg.tensor([[1, 5, 19], [0, 3, 3]])
    _export_and_run(model, tokens, tmp_path, dynamic={"in0": [0], "out": [0]}, sizes=(4,))


def test_several_inputs_and_outputs_and_file_object(tmp_path):
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, a, b):
            return self.fc(a) + b, F.softmax(b, dim=1)

    sg.manual_seed(3)
    model, a, b = Two(), sg.randn(2, 4), sg.randn(2, 3)
    buf = io.BytesIO()
    sg.onnx.export(model, (a, b), buf, input_names=["a", "b"], output_names=["s", "p"])
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    s, p = sess.run(None, {"a": a.numpy(), "b": b.numpy()})
    want_s, want_p = model(a, b)
    np.testing.assert_allclose(s, want_s.detach().numpy(), atol=ATOL)
    np.testing.assert_allclose(p, want_p.numpy(), atol=ATOL)


@pytest.mark.parametrize("opset", [14, 17, 18, 21])
def test_opsets(tmp_path, opset):
    model = _mlp()
    proto, _ = _export_and_run(model, sg.randn(3, 12), tmp_path, opset_version=opset)
    assert proto.opset_import[0].version == opset


def test_unsupported_op_names_the_layer(tmp_path):
    class Odd(nn.Module):
        def forward(self, x):
            return x.cumsum(dim=1)

    model = nn.Sequential(nn.Linear(3, 3), Odd())
    with pytest.raises(ExportError, match=r"Cumsum.*'1' \(Odd\)"):
        sg.onnx.export(model, sg.randn(2, 3), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
    from softgrad import tensor as tensor_mod  # noqa: F401
    assert sys.modules["softgrad.tensor"]._trace_hook is None  # tracing is off again


def test_inplace_change_of_a_traced_value_is_refused(tmp_path):
    class Inplace(nn.Module):
        def forward(self, x):
            y = x * 2
            y += 1
            return y * 3

    with pytest.raises(ExportError, match="modified in place"):
        sg.onnx.export(Inplace(), sg.randn(2, 3), None)


def test_bad_arguments(tmp_path):
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="opset_version"):
        sg.onnx.export(model, sg.randn(1, 2), None, opset_version=5)
    with pytest.raises(ValueError, match="dynamic_axes names"):
        sg.onnx.export(model, sg.randn(1, 2), None, dynamic_axes={"nope": [0]})
    with pytest.raises(TypeError, match="example_input"):
        sg.onnx.export(model, "x", None)


def test_tracing_hook_costs_nothing_when_off():
    t = sys.modules["softgrad.tensor"]
    assert t._trace_hook is None
    seen = []
    prev = t.set_trace_hook(lambda fn, ins, params, out: seen.append(fn.__name__))
    try:
        (sg.ones(2) * 3).sum()
    finally:
        t.set_trace_hook(prev)
    assert seen == ["Mul", "Sum"]


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
    (lambda x: x[:, : x.shape[0]], "index 2 becomes 3"),
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
            return sg.where(mask > 0, x, 0.0)  # the comparison runs outside the primitives

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
    proto, worst = _export_and_run(model, sg.randn(2, 3, 15, 15), tmp_path,
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


def test_values_computed_outside_the_traced_ops_are_refused_even_without_dynamic_axes():
    class Cmp(nn.Module):
        def forward(self, x):
            h = x * 2
            return sg.where(h > 0, h, h * 0.1)  # the mask would be frozen

    class Branch(nn.Module):
        def forward(self, x):
            return x.relu() if x.sum().item() > 0 else x.tanh()

    x = sg.tensor([[0.5, -1.0, 0.25], [2.0, 0.75, -0.5]])
    with pytest.raises(ExportError, match=r"constant of shape \[2, 3\] used by op Where"):
        sg.onnx.export(Cmp(), x, None)
    with pytest.raises(ExportError, match="different ops"):
        sg.onnx.export(Branch(), sg.tensor([[1.0, -2.0]]), None)


def test_dropout_in_training_mode_is_named():
    with pytest.raises(ExportError, match="Dropout.*training mode"):
        sg.onnx.export(lambda x: F.dropout(x, 0.5, training=True), sg.randn(3, 4), None)


def test_layer_modes_are_restored_and_tracing_stops_when_forward_fails():
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.Dropout(0.1))
    model.train()
    model[1].eval()  # a frozen BatchNorm inside a training model
    sg.onnx.export(model, sg.randn(4, 3), None)
    assert [m.training for m in model] == [True, False, True] and model.training

    class Fails(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        sg.onnx.export(Fails(), sg.randn(1), None)
    assert sys.modules["softgrad.tensor"]._trace_hook is None
