"""sg.onnx.export: traced models pass onnx.checker and onnxruntime matches softgrad (MLP,
activations, shape ops, several inputs/outputs, opsets, masks) and unexportable code is named."""
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

from tests.helpers.onnx_checks import ATOL, export_and_run as _export_and_run  # noqa: E402


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
    proto, _ = _export_and_run(model, sg.randn(4, 12), tmp_path,
                                   dynamic={"in0": {0: "batch"}, "out": {0: "batch"}},
                                   sizes=(1, 7))
    ops = {n.op_type for n in proto.graph.node}
    assert {"Gemm", "BatchNormalization", "LayerNormalization", "LogSoftmax"} <= ops
    assert "Dropout" not in ops
    inits = {i.name for i in proto.graph.initializer}
    assert {"0.weight", "0.bias", "3.weight", "3.running_mean", "3.running_var"} <= inits
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
            return F.unfold(x, 2)  # no ONNX counterpart

    model = nn.Sequential(nn.Conv2d(1, 2, 1), Odd())
    with pytest.raises(ExportError, match=r"op Unfold in layer '1' \(Odd\)"):
        sg.onnx.export(model, sg.randn(2, 1, 3, 3), tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
    assert sys.modules["softgrad.tensor.core"]._trace_hook is None  # tracing is off again


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
    t = sys.modules["softgrad.tensor.core"]
    assert t._trace_hook is None
    seen = []
    prev = t.set_trace_hook(lambda fn, ins, params, out: seen.append(fn.__name__))
    try:
        (sg.ones(2) * 3).sum()
    finally:
        t.set_trace_hook(prev)
    assert seen == ["Mul", "Sum"]

def test_values_computed_outside_the_traced_ops_are_refused_even_without_dynamic_axes():
    class Cmp(nn.Module):
        def forward(self, x):
            h = x * 2
            return sg.where(sg.tensor(h.numpy() > 0), h, h * 0.1)  # the mask would be frozen

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
    assert sys.modules["softgrad.tensor.core"]._trace_hook is None

def test_comparisons_masks_and_thresholds_are_traced(tmp_path):
    class Masks(nn.Module):
        def __init__(self):
            super().__init__()
            self.prelu, self.thr = nn.PReLU(3), nn.Threshold(0.1, -2.0)

        def forward(self, x, ids):
            h = self.thr(self.prelu(x))
            keep = (h > -1) & ~(h == 0) | (x <= -3)
            h = sg.where(keep, h, h * 0.5) + (ids != 0).float().unsqueeze(1)
            return h.masked_fill(x.abs() >= 2, 0.0)

    sg.manual_seed(12)
    x, ids = sg.randn(2, 3, 4) * 2, sg.tensor([[0, 3, 1, 0], [2, 0, 0, 5]])
    _export_and_run(Masks(), (x, ids), tmp_path,
                    dynamic={"in0": {0: "n"}, "in1": {0: "n"}, "out": {0: "n"}}, sizes=(3,))


def test_rounding_division_cumsum_flip_roll_gather_scatter_prod_norm(tmp_path):
    class Misc(nn.Module):
        def forward(self, x):  # (N, 4, 5)
            idx = sg.tensor([[[0, 2, 1, 4, 3]] * 4]).expand(x.shape[0], 4, 5)
            h = x.cumsum(dim=2).flip(1).roll(2, 2) + x.roll(-1, 1) + x[0].roll(3)
            h = h + x.gather(2, idx) + sg.zeros(x.shape).scatter_add(2, idx, x)
            h = h + (x * 3.7).floor() + x.ceil() - x.sign() + (x * 10).round(decimals=1) / 10
            h = h + x.floor_divide(0.7) + x.remainder(0.6) + x.prod(dim=1, keepdim=True)
            return h + x.norm(dim=-1, keepdim=True)

    _export_and_run(Misc(), sg.randn(2, 4, 5), tmp_path, dynamic={"in0": [0], "out": [0]},
                    sizes=(3,))


def test_rolling_a_dynamic_axis_is_refused():
    with pytest.raises(ExportError, match="Roll.*dynamic axis"):
        sg.onnx.export(lambda x: x.roll(1, 0), sg.randn(3, 2), None,
                       dynamic_axes={"input": [0]})


def test_ops_run_by_other_threads_during_tracing_are_not_recorded():
    import threading

    done = threading.Event()

    def busy():
        while not done.is_set():
            (sg.ones(3) * 2).sum()

    worker = threading.Thread(target=busy)
    worker.start()
    try:
        proto = sg.onnx.export(nn.Sequential(nn.Linear(3, 2), nn.ReLU()), sg.randn(4, 3), None)
    finally:
        done.set()
        worker.join()
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Relu", "Identity"]
