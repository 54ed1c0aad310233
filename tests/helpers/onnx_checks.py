"""Shared check for the ONNX export tests: export, onnx.checker, onnxruntime vs softgrad."""
from __future__ import annotations

import numpy as np

import softgrad as sg

ATOL = 1e-5


def export_and_run(model, x, tmp_path, dynamic=None, sizes=(), **kw):
    """Export, check, then compare onnxruntime with softgrad on x and on resized copies.

    ``sizes``: leading dims (an int for the batch, or a tuple) of extra random inputs.
    Returns (model proto, max |onnxruntime - softgrad|).
    """
    import onnx
    import onnxruntime as ort

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
