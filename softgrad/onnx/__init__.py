"""ONNX export: ``softgrad.onnx.export(model, example_input, path, ...)`` traces one forward
pass and writes it with the ``onnx`` package (imported only when exporting).

Every primitive the forward runs is converted: linear layers, every activation, softmax and
log-softmax, convolutions (1-D/2-D, transposed, grouped, dilated), max/average/adaptive/global
pooling, batch/layer/group/instance norm, padding, resampling, embeddings, RNN/LSTM/GRU,
attention and Transformer layers (as the primitives they are made of), element-wise
arithmetic, comparisons and masks, reductions, reshapes/permutes/indexing and concatenation.
A primitive without a converter, or input-dependent code the file would freeze, raises
``ExportError`` naming the op and the layer that ran it.

Files: ``tracer.py`` (records the primitives a forward runs), ``dynamic.py`` (the probing
second trace: dynamic axes and frozen-value checks), ``builder.py`` (node/initializer helper),
``ops_*.py`` (one converter per primitive), ``export.py`` (builds, checks and writes the model).
"""
from softgrad.onnx.builder import CONVERTERS
from softgrad.onnx.export import export
from softgrad.onnx.tracer import ExportError, trace

__all__ = ["CONVERTERS", "ExportError", "export", "trace"]
