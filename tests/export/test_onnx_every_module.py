"""Every public layer of the module registry (tests/helpers/module_registry.py) exports to
ONNX with a dynamic batch axis and onnxruntime matches softgrad at other batch sizes; the few
that cannot are named."""
from __future__ import annotations

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
from softgrad.onnx import ExportError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tests.helpers.module_registry import NAMES, REGISTRY  # noqa: E402

# layers without an ONNX counterpart (or, for circular padding, not before opset 19)
NOT_EXPORTABLE = {"Fold": "Fold", "Unfold": "Unfold", "CircularPad1d": "opset_version >= 19",
                  "CircularPad2d": "opset_version >= 19", "MaxUnpool1d": "MaxUnpool",
                  "MaxUnpool2d": "MaxUnpool"}
LAYERS = [n for n in NAMES if "Loss" not in n]


def _flat(out):
    if isinstance(out, sg.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return []


@pytest.mark.parametrize("name", LAYERS)
def test_layer_exports_with_a_dynamic_batch(tmp_path, name):
    entry = REGISTRY[name]
    layer = entry.make(nn)
    arrays = [a.astype(np.float32) if a.dtype.kind == "f" else a
              for a in entry.inputs(np.random.default_rng(0))]
    if any(a.ndim == 0 for a in arrays):
        pytest.skip("scalar inputs have no batch axis")

    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, *xs):
            return entry.call(self.layer, *xs)

    model = Wrapped()
    names = [f"x{i}" for i in range(len(arrays))]
    path = tmp_path / "layer.onnx"
    args = (tuple(sg.tensor(a) for a in arrays), path)
    kw = {"input_names": names, "dynamic_axes": {n: {0: "batch"} for n in names}}
    if name in NOT_EXPORTABLE:
        with pytest.raises(ExportError, match=NOT_EXPORTABLE[name]):
            sg.onnx.export(model, *args, **kw)
        if "opset" not in NOT_EXPORTABLE[name]:
            return
        kw["opset_version"] = 19
    sg.onnx.export(model, *args, **kw)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model.eval()
    for batch in (1, 5):
        feed = [np.take(a, np.arange(batch) % a.shape[0], axis=0) for a in arrays]
        feed = [f + np.float32(0.01 * batch) if f.dtype.kind == "f" else f for f in feed]
        got = sess.run(None, dict(zip(names, feed)))
        with sg.no_grad():
            want = _flat(model(*[sg.tensor(f) for f in feed]))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), atol=entry.atol, rtol=1e-5)
