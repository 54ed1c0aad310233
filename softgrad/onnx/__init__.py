"""ONNX export: ``softgrad.onnx.export(model, example_input, path, ...)`` traces one forward
pass and writes it with the ``onnx`` package (imported only when exporting).

Files: ``tracer.py`` (records the primitives a forward runs), ``ops_*.py`` (one converter per
primitive), ``export.py`` (builds, checks and writes the model).
"""
from softgrad.onnx.builder import CONVERTERS
from softgrad.onnx.export import export
from softgrad.onnx.tracer import ExportError, trace

__all__ = ["export", "ExportError", "trace", "CONVERTERS"]
