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


class TinyGPT(nn.Module):
    """Token + position embeddings, one causal attention block, a language-model head."""

    def __init__(self, vocab: int = 50, dim: int = 32, heads: int = 4, max_len: int = 64):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, dim), nn.Parameter(sg.randn(1, max_len, dim))
        self.ln1, self.ln2, self.lnf = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.head, self.heads = nn.Linear(dim, vocab), heads

    def forward(self, ids):
        n, seq = ids.shape
        x = self.tok(ids) + self.pos[:, :seq]
        q, k, v = self.qkv(self.ln1(x)).reshape(n, seq, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(n, seq, -1))
        x = x + self.mlp(self.ln2(x))
        return self.head(self.lnf(x)).log_softmax(dim=-1)


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
            "TransformerEncoderLayer": (enc, (12, 64)), "LSTM": (lstm, (12, 16)),
            "TinyGPT (dynamic seq)": (TinyGPT(), None)}


def main() -> None:
    import onnxruntime as ort

    folder = tempfile.mkdtemp()
    for name, (model, shape) in _models().items():
        if name in ("MLP", "CNN"):  # give BatchNorm running statistics
            model.train()
            for _ in range(3):
                model(sg.randn(32, *shape))
        path = os.path.join(folder, name.split()[0] + ".onnx")
        net = (lambda m: (lambda x: m(x)[0]))(model) if name == "LSTM" else model
        gpt = shape is None
        example = sg.randint(0, 50, (4, 10)) if gpt else sg.randn(4, *shape)
        sg.onnx.export(net, example, path, input_names=["x"],
                       dynamic_axes={"x": {0: "batch", 1: "seq"} if gpt else {0: "batch"}})
        if hasattr(model, "eval"):
            model.eval()
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        worst = 0.0
        for batch in (1, 4, 33):
            x = sg.randint(0, 50, (batch, 7 + batch % 20)) if gpt else sg.randn(batch, *shape)
            with sg.no_grad():
                want = net(x).numpy()
            got = sess.run(None, {"x": x.numpy()})[0]
            worst = max(worst, float(np.abs(got - want).max()))
        print(f"{name:24s} max |ORT - softgrad| = {worst:.2e} (batches 1, 4, 33; float32)")
    print("(TinyGPT: sequence lengths 8, 11, 20 with a dynamic sequence axis)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
