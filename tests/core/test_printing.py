"""Tensors, shapes and models print as PyTorch prints them; 0-d tensors take format specs."""
from __future__ import annotations

import pytest

import softgrad as sg
import softgrad.nn as nn
from softgrad.tensor import printing as tensor_print

CASES = {
    "mixed": lambda L: L.tensor([[1.5, -2.25, 3.0], [1e-5, 100.0, 0.0]]),
    "fixed": lambda L: L.tensor([[0.1234567, 12.5], [3.0, -4.25]]),
    "whole floats": lambda L: L.tensor([1.0, -20.0, 300.0]),
    "ints": lambda L: L.ones(2, 3, 4, dtype=L.int64),
    "int32": lambda L: L.ones(2, 3, dtype=L.int32),
    "bools": lambda L: L.tensor([True, False]),
    "float64": lambda L: L.zeros(2, 3, dtype=L.float64),
    "float16": lambda L: L.tensor([0.1, 0.2], dtype=L.float16),
    "bfloat16": lambda L: L.tensor([1.0, 0.1, -3.0], dtype=L.bfloat16),
    "summarised 1-d": lambda L: L.arange(2000.0),
    "summarised 2-d": lambda L: L.arange(2000.0).reshape(40, 50),
    "summarised 3-d": lambda L: L.arange(24000).reshape(20, 30, 40),
    "large": lambda L: L.tensor([1540996.125, -293428.9062, -2178789.5]),
    "huge": lambda L: L.tensor([[1e9, 2.0]]),
    "tiny": lambda L: L.tensor([1e-10, 1.0]),
    "non-finite": lambda L: L.tensor([float("nan"), float("inf"), 1.0]),
    "non-finite fraction": lambda L: L.tensor([float("nan"), -float("inf"), 1.5]),
    "empty": lambda L: L.tensor([]),
    "empty 2-d": lambda L: L.zeros(0, 3),
    "empty int": lambda L: L.zeros(0, dtype=L.int64),
    "scalar": lambda L: L.tensor(2.5),
    "negative zero": lambda L: L.tensor(-0.0),
    "zeros": lambda L: L.tensor([0.0, 0.0]),
    "wrapped line": lambda L: L.linspace(0, 1, 37),
    "requires grad": lambda L: L.tensor([[0.1234567, 12345.678]] * 3, requires_grad=True),
    "grad_fn suffix wraps": lambda L: L.arange(12.0).reshape(3, 4).requires_grad_() * 1,
    "parameter": lambda L: L.nn.Parameter(L.ones(2)),
}


pytestmark = pytest.mark.usefixtures("torch_float32")


def _canon(text: str) -> str:
    return text.replace("softgrad.", "torch.").replace("Backward0>", "Backward>")


@pytest.mark.parametrize("name", list(CASES))
def test_repr_matches_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = repr(CASES[name](sg)), repr(CASES[name](torch))
    assert _canon(ours) == _canon(theirs)
    assert str(CASES[name](sg)) == ours


def test_printoptions_match_torch() -> None:
    torch = pytest.importorskip("torch")
    for lib in (sg, torch):
        lib.set_printoptions(precision=2, threshold=5, edgeitems=1)
    try:
        for make in (lambda L: L.tensor([1.23456, 2.5]), lambda L: L.arange(10),
                     lambda L: L.arange(12.0).reshape(3, 4) / 7):
            assert _canon(repr(make(sg))) == _canon(repr(make(torch)))
        with tensor_print.printoptions(precision=6):
            assert repr(sg.tensor([1 / 3])) == "tensor([0.333333])"
        assert tensor_print.get_printoptions()["precision"] == 2
    finally:
        for lib in (sg, torch):
            lib.set_printoptions(profile="default")
    assert tensor_print.get_printoptions()["precision"] == 4
    with pytest.raises(ValueError, match="profile"):
        sg.set_printoptions(profile="tiny")


def test_format_specs_on_zero_dim_tensors() -> None:
    loss = sg.tensor(0.123456)
    assert f"{loss:.4f}" == "0.1235"
    assert f"{sg.tensor(0.5):+.2f}" == "+0.50"
    assert f"{sg.tensor(3):d}" == "3" and f"{sg.tensor(7):>4}" == "   7"
    assert f"{sg.tensor([1.0, 2.0])}" == str(sg.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{sg.tensor([1.0, 2.0]):.2f}"


def test_shape_is_a_size() -> None:
    x = sg.zeros(2, 3, 4)
    assert isinstance(x.shape, sg.Size) and isinstance(x.size(), sg.Size)
    assert repr(x.shape) == "softgrad.Size([2, 3, 4])" and str(x.shape) == repr(x.shape)
    assert x.shape == (2, 3, 4) and hash(x.shape) == hash((2, 3, 4))
    assert isinstance(x.shape[1:], sg.Size) and x.shape[1:] == (3, 4)
    assert isinstance(x.shape + (5,), sg.Size) and isinstance((1,) + x.shape, sg.Size)
    assert x.shape.numel() == 24 and x.size(1) == 3 and x.shape[-1] == 4
    assert repr(sg.tensor(1.0).shape) == "softgrad.Size([])"


def test_print_model_matches_torch() -> None:
    torch = pytest.importorskip("torch")

    def build(n):
        return n.Sequential(n.Conv2d(1, 4, 3, padding=1), n.BatchNorm2d(4), n.ReLU(),
                            n.MaxPool2d(2), n.Flatten(), n.Dropout(0.5),
                            n.Linear(4 * 7 * 7, 10), n.LSTM(10, 20, num_layers=2),
                            n.LayerNorm(20), n.Embedding(5, 3))
    assert repr(build(nn)) == repr(build(torch.nn))
