"""PyTorch's keyword names work: ``torch.matmul(input=a, other=b)``, ``x.permute(dims=...)``.

Programs written for PyTorch pass arguments by PyTorch's documented names; each call here is
run on softgrad and on PyTorch and must give the same values.
"""
import numpy as np
import pytest

import softgrad as sg

torch = pytest.importorskip("torch")

A = np.arange(6, dtype=np.float32).reshape(2, 3) / 7 + 0.5
IDX = np.zeros((2, 1), dtype=np.int64)

CALLS = {
    "matmul": lambda m, x: m.matmul(input=x, other=x.t()),
    "add": lambda m, x: m.add(x, other=x, alpha=2),
    "Tensor.add": lambda m, x: x.add(other=1),
    "Tensor.add_": lambda m, x: x.clone().add_(other=x, alpha=2),
    "sub": lambda m, x: m.sub(x, other=x, alpha=0.5),
    "mul": lambda m, x: m.mul(x, other=3),
    "Tensor.mul_": lambda m, x: x.clone().mul_(other=2),
    "div": lambda m, x: m.div(x, other=2, rounding_mode="floor"),
    "pow": lambda m, x: m.pow(x, exponent=2),
    "Tensor.pow": lambda m, x: x.pow(exponent=3),
    "remainder": lambda m, x: m.remainder(x, other=0.3),
    "floor_divide": lambda m, x: m.floor_divide(x, other=0.3),
    "maximum": lambda m, x: m.maximum(x, other=x * 0 + 0.8),
    "minimum": lambda m, x: m.minimum(x, other=x * 0 + 0.8),
    "eq": lambda m, x: m.eq(x, other=x),
    "Tensor.gt": lambda m, x: x.gt(other=0.8),
    "Tensor.le": lambda m, x: x.le(other=0.8),
    "Tensor.equal": lambda m, x: m.tensor(x.equal(other=x)),
    "Tensor.allclose": lambda m, x: m.tensor(x.allclose(other=x, equal_nan=True)),
    "flip": lambda m, x: m.flip(x, dims=[0]),
    "Tensor.flip": lambda m, x: x.flip(dims=(0, 1)),
    "permute": lambda m, x: m.permute(x, dims=(1, 0)),
    "Tensor.permute": lambda m, x: x.permute(dims=(1, 0)),
    "reshape": lambda m, x: m.reshape(x, shape=(3, 2)),
    "Tensor.reshape": lambda m, x: x.reshape(shape=(3, 2)),
    "Tensor.view": lambda m, x: x.view(size=(3, 2)),
    "tile": lambda m, x: m.tile(x, dims=(2,)),
    "Tensor.repeat": lambda m, x: x.repeat(repeats=(2, 1)),
    "Tensor.expand": lambda m, x: x[:1].expand(size=(2, 3)),
    "gather": lambda m, x: m.gather(x, 1, m.tensor(IDX), sparse_grad=False),
    "swapaxes": lambda m, x: m.swapaxes(x, axis0=0, axis1=1),
    "split": lambda m, x: m.split(x, split_size_or_sections=1)[1],
    "Tensor.split": lambda m, x: x.split(split_size=2, dim=1)[0],
    "Tensor.type_as": lambda m, x: x.type_as(other=x.double()),
    "Tensor.new_zeros": lambda m, x: x.new_zeros(size=(2,)),
    "Tensor.new_ones": lambda m, x: x.new_ones(size=(2, 2)),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_pytorch_keyword_names_are_accepted(name):
    call = CALLS[name]
    got = call(sg, sg.tensor(A))
    want = call(torch, torch.tensor(A))
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_a_shape_given_twice_is_a_clear_error():
    x = sg.ones(2, 3)
    with pytest.raises(TypeError, match="permute.*'dims' both"):
        x.permute(1, 0, dims=(1, 0))
    with pytest.raises(TypeError, match="reshape.*unexpected keyword argument 'size'"):
        x.reshape(size=(3, 2))
