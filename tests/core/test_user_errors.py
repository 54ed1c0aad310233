"""Bad input gets a clear error that names what is wrong, raised by softgrad itself.

Each case gives the call, the exception type, and a pattern the message must contain (the
shapes, dtype, key or value at fault). The error must be raised from softgrad's own code,
not from deep inside NumPy.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn as nn
import softgrad.nn.functional as F
from softgrad.utils.data import DataLoader, TensorDataset, random_split


def _a():
    return sg.randn(2, 3)


def _lin_sd():
    return nn.Linear(3, 2).state_dict()


def _load(sd: dict):
    return nn.Linear(3, 2).load_state_dict(sd)


def _with_child():
    m = nn.Module()
    m.fc = nn.Linear(2, 2)
    return m


def _inplace_used():
    h = sg.randn(3, requires_grad=True) * 2
    _ = h.exp()
    h += 1


def _backward_twice():
    x = sg.randn(3, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def _inplace_saved():
    x = sg.randn(3, requires_grad=True)
    w = sg.randn(3)
    y = (x * w).sum()
    w.mul_(2)
    y.backward()


CASES: list[tuple[str, Callable, type, str]] = [
    # shapes
    ("matmul", lambda: _a() @ sg.randn(4, 5), RuntimeError, r"2x3 and 4x5"),
    ("matmul_vectors", lambda: sg.randn(3) @ sg.randn(4), RuntimeError, r"3.*4"),
    ("matmul_0d", lambda: sg.ones(()) @ sg.ones(3), RuntimeError, r"at least 1D"),
    ("bmm", lambda: sg.bmm(sg.randn(2, 2, 3), sg.randn(3, 3, 2)), RuntimeError,
     r"\(2, 2, 3\) and \(3, 3, 2\)"),
    ("linear", lambda: F.linear(_a(), sg.randn(4, 5)), RuntimeError, r"in_features"),
    ("Linear_module", lambda: nn.Linear(5, 2)(_a()), RuntimeError, r"2x3 and 5x2"),
    ("Bilinear", lambda: nn.Bilinear(3, 4, 2)(_a(), sg.randn(2, 3)), RuntimeError, r"4|3"),
    ("broadcast", lambda: _a() + sg.randn(4, 5), RuntimeError, r"\(2, 3\) and \(4, 5\)"),
    ("cat", lambda: sg.cat([_a(), sg.randn(4, 5)]), RuntimeError, r"\(4, 5\)"),
    ("cat_empty", lambda: sg.cat([]), RuntimeError, r"non-empty"),
    ("cat_dim", lambda: sg.cat([_a(), _a()], dim=5), IndexError, r"got 5"),
    ("stack", lambda: sg.stack([_a(), sg.randn(3, 2)]), RuntimeError, r"\(3, 2\)"),
    ("where", lambda: sg.where(sg.ones(2, dtype=sg.bool), _a(), sg.randn(4, 5)), RuntimeError,
     r"\(4, 5\)"),
    ("einsum", lambda: sg.einsum("ij,jk->ik", _a(), _a()), RuntimeError, r"subscript j"),
    ("reshape", lambda: _a().reshape(4, 2), RuntimeError, r"\[4, 2\].*size 6"),
    ("view", lambda: _a().view(5), RuntimeError, r"size 6"),
    ("reshape_two_inferred", lambda: _a().reshape(-1, -1), RuntimeError, r"one dimension"),
    ("expand", lambda: _a().expand(4, 4), RuntimeError, r"expanded size"),
    ("expand_fewer", lambda: _a().expand(3), RuntimeError, r"number of sizes"),
    ("permute", lambda: _a().permute(0, 0), RuntimeError, r"permutation"),
    ("transpose_dim", lambda: _a().transpose(0, 3), IndexError, r"range of \[-2, 1\].*got 3"),
    ("sum_dim", lambda: _a().sum(3), IndexError, r"got 3"),
    ("squeeze_dim", lambda: _a().squeeze(4), IndexError, r"got 4"),
    ("softmax_dim", lambda: F.softmax(_a(), dim=3), IndexError, r"got 3"),
    ("narrow", lambda: _a().narrow(1, 2, 5), RuntimeError, r"exceeds dimension size \(3\)"),
    ("split_sizes", lambda: _a().split([1, 1], dim=1), RuntimeError, r"sum exactly to 3"),
    ("chunk_zero", lambda: _a().chunk(0), RuntimeError, r"greater than 0"),
    ("unflatten", lambda: _a().unflatten(1, (2, 2)), RuntimeError, r"size of dim 1 \(3\)"),
    ("repeat_fewer", lambda: _a().repeat(2), RuntimeError, r"repeat dims"),
    ("roll_mismatch", lambda: _a().roll((1, 2), (0,)), RuntimeError, r"shifts: 2, dims: 1"),
    # indexing
    ("index_row", lambda: _a()[5], IndexError, r"index 5 .*size 2"),
    ("index_col", lambda: _a()[0, 7], IndexError, r"index 7 .*size 3"),
    ("index_array", lambda: _a()[[0, 9]], IndexError, r"index 9"),
    ("too_many_indices", lambda: _a()[0, 0, 0], IndexError, r"too many indices"),
    ("bool_mask_shape", lambda: _a()[sg.tensor([True, False, True])], IndexError, r"boolean"),
    ("gather", lambda: _a().gather(1, sg.tensor([[0, 5]])), IndexError, r"index 5"),
    ("index_select", lambda: _a().index_select(1, sg.tensor([7])), IndexError, r"index 7"),
    ("scatter_add", lambda: _a().scatter_add(1, sg.tensor([[0, 9]]), sg.ones(1, 2)),
     IndexError, r"index 9"),
    ("masked_fill_float_mask", lambda: _a().masked_fill(sg.ones(2, 3), 0.0), RuntimeError,
     r"boolean"),
    ("embedding_range", lambda: nn.Embedding(5, 2)(sg.tensor([7])), IndexError, r"7.*5 rows"),
    ("embedding_float", lambda: nn.Embedding(5, 2)(sg.tensor([1.0])), TypeError, r"float32"),
    # losses
    ("ce_label_high", lambda: F.cross_entropy(_a(), sg.tensor([0, 3])), IndexError,
     r"Target 3 is out of bounds"),
    ("ce_label_negative", lambda: F.cross_entropy(_a(), sg.tensor([0, -2])), IndexError,
     r"Target -2"),
    ("ce_float_labels", lambda: F.cross_entropy(_a(), sg.tensor([0.0, 1.0])), RuntimeError,
     r"integer.*float32"),
    ("ce_batch_size", lambda: F.cross_entropy(_a(), sg.tensor([0, 1, 1])), ValueError,
     r"batch_size \(2\).*batch_size \(3\)"),
    ("ce_prob_shape", lambda: F.cross_entropy(_a(), sg.rand(2, 4)), RuntimeError,
     r"\(2, 3\).*\(2, 4\)"),
    ("ce_spatial_shape", lambda: F.cross_entropy(sg.randn(2, 3, 4),
                                                 sg.zeros(2, 5, dtype=sg.int64)),
     RuntimeError, r"\(2, 4\).*\(2, 5\)"),
    ("nll_label", lambda: F.nll_loss(_a(), sg.tensor([0, 3])), IndexError, r"Target 3"),
    ("mse_shapes", lambda: F.mse_loss(_a(), sg.randn(4, 5)), RuntimeError,
     r"\(2, 3\).*\(4, 5\)"),
    ("bce_range", lambda: F.binary_cross_entropy(_a() * 10, sg.rand(2, 3)), RuntimeError,
     r"between 0 and 1"),
    ("bad_reduction", lambda: nn.MSELoss(reduction="avg")(_a(), _a()), ValueError, r"avg"),
    # autograd
    ("backward_non_scalar", lambda: (sg.randn(3, requires_grad=True) * 2).backward(),
     RuntimeError, r"scalar outputs.*\(3,\)"),
    ("backward_gradient_shape",
     lambda: (sg.randn(3, requires_grad=True) * 2).backward(sg.ones(4)), RuntimeError,
     r"\(4,\).*\(3,\)"),
    ("backward_no_grad", lambda: sg.randn(3).sum().backward(), RuntimeError,
     r"does not require grad"),
    ("backward_twice", _backward_twice, RuntimeError, r"second time"),
    ("inplace_saved", _inplace_saved, RuntimeError, r"modified by an in-place operation"),
    ("inplace_leaf", lambda: sg.randn(3, requires_grad=True).add_(1), RuntimeError,
     r"leaf Variable"),
    ("inplace_graph_shape", lambda: (sg.randn(3, requires_grad=True) * 2).add_(sg.ones(2, 3)),
     RuntimeError, r"\(3,\).*\(2, 3\)"),
    ("inplace_int_from_float_graph",
     lambda: sg.tensor([1, 2]).add_(sg.randn(2, requires_grad=True)), RuntimeError,
     r"float32 can't be cast to .*int64"),
    ("inplace_used_graph_tensor", _inplace_used, RuntimeError, r"already used it"),
    ("int_requires_grad", lambda: sg.tensor([1, 2], requires_grad=True), RuntimeError,
     r"floating point.*int64"),
    ("grad_unused", lambda: sg.autograd.grad((sg.randn(2, requires_grad=True) * 2).sum(),
                                             [sg.randn(2, requires_grad=True)]),
     RuntimeError, r"allow_unused"),
    # tensors
    ("item_many", lambda: _a().item(), ValueError, r"6 elements"),
    ("ragged", lambda: sg.tensor([[1, 2], [3]]), ValueError, r"length 2 at dim 1 \(got 1\)"),
    ("string_data", lambda: sg.tensor("abc"), TypeError, r"<U3"),
    ("bad_dtype", lambda: sg.zeros(2, dtype="float32x"), ValueError, r"float32x"),
    ("negative_size", lambda: sg.zeros(2, -1), RuntimeError, r"negative dimension -1"),
    ("float_size", lambda: sg.ones(2, 2.5), TypeError, r"2\.5"),
    ("randn_negative", lambda: sg.randn(-3), RuntimeError, r"negative dimension -3"),
    ("Linear_negative", lambda: nn.Linear(-1, 2), RuntimeError, r"negative dimension -1"),
    ("arange_zero_step", lambda: sg.arange(0, 5, 0), RuntimeError, r"step must be nonzero"),
    ("randint_empty_range", lambda: sg.randint(5, 5, (2,)), RuntimeError, r"low=5 >= high=5"),
    # modules
    ("lsd_missing", lambda: _load({"weight": _lin_sd()["weight"]}), RuntimeError,
     r'Missing key\(s\).*"bias"'),
    ("lsd_unexpected", lambda: _load({**_lin_sd(), "foo": sg.ones(1)}), RuntimeError,
     r'Unexpected key\(s\).*"foo"'),
    ("lsd_shape", lambda: _load({"weight": sg.ones(3, 3), "bias": _lin_sd()["bias"]}),
     RuntimeError, r"size mismatch for weight.*\(3, 3\).*\(2, 3\)"),
    ("lsd_type", lambda: _load({"weight": "hello", "bias": _lin_sd()["bias"]}), TypeError,
     r"'weight'.*str"),
    ("assign_tensor_to_parameter", lambda: setattr(nn.Linear(2, 2), "weight", sg.ones(2)),
     TypeError, r"parameter 'weight'"),
    ("assign_int_to_child", lambda: setattr(_with_child(), "fc", 3), TypeError,
     r"child module 'fc'"),
    ("sequential_non_module", lambda: nn.Sequential(3), TypeError, r"int"),
    ("batchnorm_channels", lambda: nn.BatchNorm1d(4)(_a()), ValueError, r"3 channels"),
    ("layernorm_shape", lambda: nn.LayerNorm(4)(_a()), ValueError, r"\(4,\)"),
    ("module_no_forward", lambda: nn.Module()(sg.ones(1)), NotImplementedError, r"forward"),
    # optim
    ("optim_floats", lambda: sg.optim.SGD([1.0, 2.0], lr=0.1), TypeError, r"float"),
    ("optim_single_tensor", lambda: sg.optim.SGD(sg.randn(3, requires_grad=True), lr=0.1),
     TypeError, r"iterable"),
    ("optim_empty", lambda: sg.optim.Adam([], lr=0.1), ValueError, r"empty parameter list"),
    ("optim_lr", lambda: sg.optim.Adam([nn.Parameter(sg.ones(1))], lr=-1), ValueError,
     r"learning rate.*-1"),
    ("optim_betas", lambda: sg.optim.Adam([nn.Parameter(sg.ones(1))], betas=(1.5, 0.9)),
     ValueError, r"1.5"),
    ("optim_duplicate", lambda: sg.optim.SGD([nn.Parameter(sg.ones(1))] * 2, lr=0.1),
     ValueError, r"duplicate"),
    ("nesterov", lambda: sg.optim.SGD([nn.Parameter(sg.ones(1))], lr=0.1, nesterov=True),
     ValueError, r"momentum"),
    ("scheduler_not_optimizer", lambda: sg.optim.lr_scheduler.StepLR(None, 1), TypeError,
     r"Optimizer"),
    # data
    ("loader_batch_zero", lambda: DataLoader(TensorDataset(sg.randn(4, 2)), batch_size=0),
     ValueError, r"batch_size=0"),
    ("loader_batch_float", lambda: DataLoader(TensorDataset(sg.randn(4, 2)), batch_size=2.5),
     ValueError, r"batch_size=2.5"),
    ("loader_batch_negative",
     lambda: DataLoader(TensorDataset(sg.randn(4, 2)), batch_size=-1), ValueError,
     r"batch_size=-1"),
    ("loader_sampler_shuffle",
     lambda: DataLoader(TensorDataset(sg.randn(4, 2)), shuffle=True, sampler=[0, 1]),
     ValueError, r"mutually exclusive"),
    ("tensordataset_lengths", lambda: TensorDataset(sg.randn(10, 3), sg.randn(9)), ValueError,
     r"\(10, 3\).*\(9,\)"),
    ("random_split_lengths", lambda: random_split(TensorDataset(sg.randn(10, 1)), [3, 3]),
     ValueError, r"\(6\).*\(10\)"),
    ("load_missing_file", lambda: sg.load("/nonexistent/softgrad/ckpt.sg"), FileNotFoundError,
     r"ckpt.sg"),
]


@pytest.mark.parametrize("name, fn, exc, pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(name: str, fn: Callable, exc: type, pattern: str) -> None:
    with np.errstate(all="ignore"), pytest.raises(exc, match=pattern) as info:
        fn()
    frames = traceback.extract_tb(info.value.__traceback__)
    origin = frames[-1].filename.replace("\\", "/")
    assert "/numpy/" not in origin, f"raised inside NumPy ({origin}): {info.value}"
