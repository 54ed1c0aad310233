"""Without the optional onnx package, softgrad imports and sg.onnx.export says what to install."""
from __future__ import annotations

import sys

import pytest

import softgrad as sg


def test_export_without_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes "import onnx" fail
    with pytest.raises(ImportError, match=r"softgrad\[export\]"):
        sg.onnx.export(sg.nn.Linear(2, 2), sg.randn(1, 2), None)
    assert sys.modules["softgrad.tensor.core"]._trace_hook is None
