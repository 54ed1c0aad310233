"""Every primitive of softgrad.ops has an ONNX converter or is listed, with its reason, in
softgrad/onnx/unsupported.py; exporting a listed one raises ExportError with that reason."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import softgrad as sg
import softgrad.ops
from softgrad.engine.function import Function
from softgrad.onnx import CONVERTERS, ExportError
from softgrad.onnx.unsupported import REASONS


def _primitives() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(softgrad.ops.__path__):
        mod = importlib.import_module(f"softgrad.ops.{info.name}")
        for name, obj in vars(mod).items():
            if inspect.isclass(obj) and issubclass(obj, Function) and obj is not Function \
                    and obj.__module__ == mod.__name__:
                names.append(name)
    return sorted(names)


def test_every_primitive_is_converted_or_listed_with_a_reason() -> None:
    missing = [n for n in _primitives() if n not in CONVERTERS and n not in REASONS]
    assert not missing, f"add a converter or an entry in onnx/unsupported.py for: {missing}"
    stale = sorted(n for n in REASONS if n in CONVERTERS or n not in _primitives())
    assert not stale, f"remove these entries from onnx/unsupported.py: {stale}"


class _Special(sg.nn.Module):
    def forward(self, x):
        return x.lgamma() + 1


def test_an_unsupported_primitive_names_itself_and_the_reason() -> None:
    pytest.importorskip("onnx")
    with pytest.raises(ExportError, match="Lgamma.*log-gamma"):
        sg.onnx.export(_Special(), sg.rand(2, 3) + 0.5, None)


def test_new_converters_match_onnxruntime(tmp_path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from tests.helpers.onnx_checks import export_and_run

    class Model(sg.nn.Module):
        def forward(self, x):
            sq = x[:, :9].reshape(-1, 3, 3)
            nan = sg.where(x > 1.0, float("nan"), x)
            return (x.sinc() + nan.fmax(x * 0.5).nan_to_num() + nan.fmin(-x).nan_to_num()
                    + sg.linalg.det(sq).unsqueeze(1) * 0.1
                    + sg.linalg.slogdet(sq).logabsdet.unsqueeze(1) * 0.1
                    + x.t().contiguous().t())

    export_and_run(Model(), sg.randn(4, 12), tmp_path, dynamic={"in0": [0], "out": [0]},
                   sizes=(6,))
