"""Max |onnxruntime - softgrad| for exported models (MLP, CNN, Transformer encoder layer, LSTM)
over several batch sizes with a dynamic batch axis. Usage: python -m bench.onnx_parity
"""
from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

import softgrad as sg
import softgrad.nn as nn


def _models() -> dict:
    sg.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.BatchNorm1d(256), nn.Dropout(0.2),
                        nn.Linear(256, 128), nn.GELU(), nn.LayerNorm(128), nn.Linear(128, 10),
                        nn.LogSoftmax(dim=1))
    cnn = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                        nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(32, 10), nn.Softmax(dim=1))
    enc = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.1, batch_first=True)
    lstm = nn.LSTM(16, 32, num_layers=2, bidirectional=True, batch_first=True)
    return {"MLP": (mlp, (28 * 28,)), "CNN": (cnn, (1, 28, 28)),
            "TransformerEncoderLayer": (enc, (12, 64)), "LSTM": (lstm, (12, 16))}


def main() -> None:
    import onnxruntime as ort

    folder = tempfile.mkdtemp()
    for name, (model, shape) in _models().items():
        if name in ("MLP", "CNN"):  # give BatchNorm running statistics
            model.train()
            for _ in range(3):
                model(sg.randn(32, *shape))
        path = os.path.join(folder, name + ".onnx")
        net = (lambda m: (lambda x: m(x)[0]))(model) if name == "LSTM" else model
        sg.onnx.export(net, sg.randn(4, *shape), path, input_names=["x"],
                       dynamic_axes={"x": {0: "batch"}})
        if hasattr(model, "eval"):
            model.eval()
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        worst = 0.0
        for batch in (1, 4, 33):
            x = sg.randn(batch, *shape)
            with sg.no_grad():
                want = net(x).numpy()
            got = sess.run(None, {"x": x.numpy()})[0]
            worst = max(worst, float(np.abs(got - want).max()))
        print(f"{name:24s} max |ORT - softgrad| = {worst:.2e} (batches 1, 4, 33; float32)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
