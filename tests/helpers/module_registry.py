"""The registry of every public module: how to build each one and feed it example inputs.

``REGISTRY`` maps each module class name to a constructor (``make(nn)``, with ``nn`` either
``softgrad.nn`` or ``torch.nn``) and example inputs. ``PUBLIC`` is every public ``Module``
subclass of ``softgrad.nn`` (and of every file in ``softgrad/nn/modules``);
``tests/nn/test_every_module.py`` fails when one of them has no entry here. ``NAMES`` are the
registered layers, the parameter list of the tests that run every module (forward/backward,
state_dict, on the cuda device, through ONNX, against PyTorch's weights).
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np

import softgrad as sg
import softgrad.nn.modules
from tests.helpers.checks import torch


@dataclass
class Entry:
    make: Callable  # make(nn) -> module, with nn = softgrad.nn or torch.nn
    inputs: Callable  # inputs(rng) -> list of arrays (float arrays become float32)
    call: Callable = field(default=lambda mod, *xs: mod(*xs))
    atol: float = 1e-5


def _n(*shape: int) -> Callable:
    return lambda rng: [rng.standard_normal(shape)]


def _two(*shape: int) -> Callable:
    return lambda rng: [rng.standard_normal(shape), rng.standard_normal(shape)]


def _class_target(n: int, c: int, log: bool = False) -> Callable:
    def make(rng):
        x = rng.standard_normal((n, c))
        if log:
            x = x - np.log(np.exp(x).sum(1, keepdims=True))
        return [x, rng.integers(0, c, n)]
    return make


def _probs(rng):
    return [rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))]


def _kl(rng):
    p = rng.dirichlet(np.ones(3), 4)
    return [np.log(rng.dirichlet(np.ones(3), 4)), p]


def _enc_layer(nn):
    return nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)


def _dec_layer(nn):
    return nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)


def _tgt_memory(rng):
    return [rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 4, 8))]


def _ndq_linear(nn):
    """The output projection class of MultiheadAttention (a Linear), where each library keeps it."""
    space = nn.modules.attention if nn is sg.nn else nn.modules.linear
    return space.NonDynamicallyQuantizableLinear(4, 3)


def _seq(nn):
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))


def _mlist(nn):
    return nn.ModuleList([nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)])


def _mdict(nn):
    return nn.ModuleDict({"enc": nn.Linear(4, 3), "act": nn.Sigmoid()})


def _plist(nn):
    lib = _lib(nn)
    return nn.ParameterList([nn.Parameter(lib.randn(4, dtype=lib.float32)),
                             nn.Parameter(lib.randn(4, dtype=lib.float32))])


def _pdict(nn):
    lib = _lib(nn)
    return nn.ParameterDict({"scale": nn.Parameter(lib.randn(4, dtype=lib.float32)),
                             "bias": nn.Parameter(lib.zeros(1, 4, dtype=lib.float32))})


def _lib(nn):
    return sg if nn is sg.nn else torch


def _ints(hi: int, *shape: int) -> Callable:
    return lambda rng: [rng.integers(0, hi, shape)]


def _signs(*shape: int) -> Callable:
    return lambda rng: [rng.standard_normal(shape), rng.standard_normal(shape),
                        np.where(rng.standard_normal(shape[:1]) > 0, 1.0, -1.0)]


def _multilabel(rng):
    target = np.array([[2, 0, -1], [1, -1, 0], [0, 1, 2], [-1, 0, 0]])
    return [rng.standard_normal((4, 3)), target]


def _ctc(rng):
    logits = rng.standard_normal((8, 2, 4))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return [log_probs, np.array([[1, 2, 2], [3, 1, 0]]), np.array([8, 6]), np.array([3, 2])]


def _lazy(make: Callable, shape: tuple) -> Callable:
    """A lazy layer, materialised by one forward on zeros of ``shape``."""
    def build(nn):
        layer = make(nn)
        lib = _lib(nn)
        layer(lib.zeros(*shape, dtype=lib.float32))
        return layer
    return build


REGISTRY: dict[str, Entry] = {
    # containers
    "Sequential": Entry(_seq, _n(3, 4)),
    "ModuleList": Entry(_mlist, _n(3, 4), call=lambda m, x: m[2](m[1](m[0](x)))),
    "ModuleDict": Entry(_mdict, _n(3, 4), call=lambda m, x: m["act"](m["enc"](x))),
    "ParameterList": Entry(_plist, _n(3, 4), call=lambda m, x: x * m[0] + m[1]),
    "ParameterDict": Entry(_pdict, _n(3, 4), call=lambda m, x: x * m["scale"] + m["bias"]),
    # linear and shape
    "Identity": Entry(lambda nn: nn.Identity(), _n(3, 4)),
    "DataParallel": Entry(lambda nn: nn.DataParallel(nn.Linear(4, 3)), _n(2, 4)),
    "Linear": Entry(lambda nn: nn.Linear(4, 3), _n(2, 5, 4)),
    "Bilinear": Entry(lambda nn: nn.Bilinear(4, 3, 2), lambda r: [r.standard_normal((5, 4)),
                                                                 r.standard_normal((5, 3))]),
    "Flatten": Entry(lambda nn: nn.Flatten(), _n(2, 3, 4)),
    "Unflatten": Entry(lambda nn: nn.Unflatten(1, (2, 3)), _n(4, 6)),
    # activations
    "ReLU": Entry(lambda nn: nn.ReLU(), _n(3, 4)),
    "ReLU6": Entry(lambda nn: nn.ReLU6(), _n(3, 4)),
    "Sigmoid": Entry(lambda nn: nn.Sigmoid(), _n(3, 4)),
    "Tanh": Entry(lambda nn: nn.Tanh(), _n(3, 4)),
    "LeakyReLU": Entry(lambda nn: nn.LeakyReLU(0.1), _n(3, 4)),
    "GELU": Entry(lambda nn: nn.GELU(approximate="tanh"), _n(3, 4)),
    "ELU": Entry(lambda nn: nn.ELU(0.7), _n(3, 4)),
    "CELU": Entry(lambda nn: nn.CELU(1.3), _n(3, 4)),
    "SELU": Entry(lambda nn: nn.SELU(), _n(3, 4)),
    "SiLU": Entry(lambda nn: nn.SiLU(), _n(3, 4)),
    "Mish": Entry(lambda nn: nn.Mish(), _n(3, 4)),
    "Softplus": Entry(lambda nn: nn.Softplus(beta=2.0), _n(3, 4)),
    "Softsign": Entry(lambda nn: nn.Softsign(), _n(3, 4)),
    "Hardtanh": Entry(lambda nn: nn.Hardtanh(-0.5, 0.5), _n(3, 4)),
    "Hardsigmoid": Entry(lambda nn: nn.Hardsigmoid(), _n(3, 4)),
    "Hardswish": Entry(lambda nn: nn.Hardswish(), _n(3, 4)),
    "Tanhshrink": Entry(lambda nn: nn.Tanhshrink(), _n(3, 4)),
    "LogSigmoid": Entry(lambda nn: nn.LogSigmoid(), _n(3, 4)),
    "Softmax": Entry(lambda nn: nn.Softmax(dim=1), _n(3, 4)),
    "LogSoftmax": Entry(lambda nn: nn.LogSoftmax(dim=1), _n(3, 4)),
    "Softmin": Entry(lambda nn: nn.Softmin(dim=0), _n(3, 4)),
    "Softmax2d": Entry(lambda nn: nn.Softmax2d(), _n(2, 3, 4, 4)),
    "Threshold": Entry(lambda nn: nn.Threshold(0.1, -1.0), _n(3, 4)),
    "GLU": Entry(lambda nn: nn.GLU(dim=-1), _n(3, 4)),
    "PReLU": Entry(lambda nn: nn.PReLU(3), _n(2, 3, 4)),
    # dropout (compared in eval mode, where it is the identity)
    "Dropout": Entry(lambda nn: nn.Dropout(0.3), _n(3, 4)),
    "Dropout1d": Entry(lambda nn: nn.Dropout1d(0.3), _n(2, 3, 4)),
    "Dropout2d": Entry(lambda nn: nn.Dropout2d(0.3), _n(2, 3, 4, 4)),
    "Dropout3d": Entry(lambda nn: nn.Dropout3d(0.3), _n(2, 3, 2, 2, 2)),
    "AlphaDropout": Entry(lambda nn: nn.AlphaDropout(0.3), _n(3, 4)),
    # normalization and embeddings
    "BatchNorm1d": Entry(lambda nn: nn.BatchNorm1d(4), _n(6, 4)),
    "BatchNorm2d": Entry(lambda nn: nn.BatchNorm2d(3), _n(4, 3, 2, 2)),
    "BatchNorm3d": Entry(lambda nn: nn.BatchNorm3d(3), _n(4, 3, 2, 2, 2)),
    "LayerNorm": Entry(lambda nn: nn.LayerNorm((3, 4)), _n(2, 3, 4)),
    "GroupNorm": Entry(lambda nn: nn.GroupNorm(2, 4), _n(3, 4, 5)),
    "InstanceNorm1d": Entry(lambda nn: nn.InstanceNorm1d(3, affine=True), _n(2, 3, 5)),
    "InstanceNorm2d": Entry(lambda nn: nn.InstanceNorm2d(3, affine=True), _n(2, 3, 4, 4)),
    "RMSNorm": Entry(lambda nn: nn.RMSNorm(4), _n(3, 4)),
    "Embedding": Entry(lambda nn: nn.Embedding(10, 3, padding_idx=0), _ints(10, 2, 5)),
    # losses
    "CrossEntropyLoss": Entry(lambda nn: nn.CrossEntropyLoss(label_smoothing=0.1),
                              _class_target(5, 3)),
    "NLLLoss": Entry(lambda nn: nn.NLLLoss(), _class_target(5, 3, log=True)),
    "MSELoss": Entry(lambda nn: nn.MSELoss(), _two(4, 3)),
    "L1Loss": Entry(lambda nn: nn.L1Loss(reduction="sum"), _two(4, 3)),
    "SmoothL1Loss": Entry(lambda nn: nn.SmoothL1Loss(beta=0.5), _two(4, 3)),
    "HuberLoss": Entry(lambda nn: nn.HuberLoss(delta=0.5), _two(4, 3)),
    "BCELoss": Entry(lambda nn: nn.BCELoss(), _probs),
    "BCEWithLogitsLoss": Entry(lambda nn: nn.BCEWithLogitsLoss(), _two(4, 3)),
    "KLDivLoss": Entry(lambda nn: nn.KLDivLoss(reduction="batchmean"), _kl),
    # layers other files may add (used once the class exists)
    "Conv1d": Entry(lambda nn: nn.Conv1d(3, 4, 3, padding=1), _n(2, 3, 8)),
    "Conv2d": Entry(lambda nn: nn.Conv2d(3, 4, 3, stride=2, padding=1), _n(2, 3, 7, 7)),
    "Conv3d": Entry(lambda nn: nn.Conv3d(2, 3, 2), _n(1, 2, 4, 4, 4)),
    "ConvTranspose1d": Entry(lambda nn: nn.ConvTranspose1d(3, 2, 3, stride=2), _n(2, 3, 5)),
    "ConvTranspose2d": Entry(lambda nn: nn.ConvTranspose2d(3, 2, 3, stride=2), _n(2, 3, 4, 4)),
    "MaxPool1d": Entry(lambda nn: nn.MaxPool1d(2), _n(2, 3, 8)),
    "MaxPool2d": Entry(lambda nn: nn.MaxPool2d(2), _n(2, 3, 6, 6)),
    "MaxPool3d": Entry(lambda nn: nn.MaxPool3d(2, padding=1), _n(2, 3, 4, 5, 4)),
    "AvgPool1d": Entry(lambda nn: nn.AvgPool1d(2), _n(2, 3, 8)),
    "AvgPool2d": Entry(lambda nn: nn.AvgPool2d(2), _n(2, 3, 6, 6)),
    "AvgPool3d": Entry(lambda nn: nn.AvgPool3d((2, 3, 2), stride=1), _n(2, 3, 4, 5, 4)),
    "AdaptiveAvgPool3d": Entry(lambda nn: nn.AdaptiveAvgPool3d((2, 3, 1)), _n(2, 3, 5, 6, 4)),
    "AdaptiveAvgPool1d": Entry(lambda nn: nn.AdaptiveAvgPool1d(3), _n(2, 3, 9)),
    "AdaptiveAvgPool2d": Entry(lambda nn: nn.AdaptiveAvgPool2d((2, 3)), _n(2, 3, 6, 6)),
    "AdaptiveMaxPool1d": Entry(lambda nn: nn.AdaptiveMaxPool1d(3), _n(2, 3, 9)),
    "AdaptiveMaxPool2d": Entry(lambda nn: nn.AdaptiveMaxPool2d(2), _n(2, 3, 6, 6)),
    "ZeroPad2d": Entry(lambda nn: nn.ZeroPad2d(1), _n(2, 3, 4, 4)),
    "Upsample": Entry(lambda nn: nn.Upsample(scale_factor=2), _n(2, 3, 4, 4)),
    "RNN": Entry(lambda nn: nn.RNN(4, 5, batch_first=True), _n(2, 3, 4)),
    "LSTM": Entry(lambda nn: nn.LSTM(4, 5, num_layers=2), _n(3, 2, 4)),
    "GRU": Entry(lambda nn: nn.GRU(4, 5, batch_first=True), _n(2, 3, 4)),
    "RNNCell": Entry(lambda nn: nn.RNNCell(4, 5), _n(2, 4)),
    "LSTMCell": Entry(lambda nn: nn.LSTMCell(4, 5), _n(2, 4)),
    "GRUCell": Entry(lambda nn: nn.GRUCell(4, 5), _n(2, 4)),
    "MultiheadAttention": Entry(lambda nn: nn.MultiheadAttention(8, 2, batch_first=True),
                                lambda r: [r.standard_normal((2, 5, 8))] * 3),
    "TransformerEncoderLayer": Entry(
        lambda nn: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                              batch_first=True), _n(2, 5, 8), atol=1e-4),
    "TransformerEncoder": Entry(
        lambda nn: nn.TransformerEncoder(_enc_layer(nn), 2), _n(2, 5, 8), atol=1e-4),
    "TransformerDecoderLayer": Entry(_dec_layer, _tgt_memory, atol=1e-4),
    "TransformerDecoder": Entry(lambda nn: nn.TransformerDecoder(_dec_layer(nn), 2),
                                _tgt_memory, atol=1e-4),
    "Transformer": Entry(lambda nn: nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True),
                         _tgt_memory, atol=1e-4),
    "NonDynamicallyQuantizableLinear": Entry(_ndq_linear, _n(2, 4)),
    "ZeroPad1d": Entry(lambda nn: nn.ZeroPad1d(2), _n(2, 3, 5)),
    "ConstantPad1d": Entry(lambda nn: nn.ConstantPad1d((2, 1), 0.5), _n(2, 3, 5)),
    "ConstantPad2d": Entry(lambda nn: nn.ConstantPad2d((1, 0, 2, 1), 0.5), _n(2, 3, 4, 4)),
    "ReflectionPad1d": Entry(lambda nn: nn.ReflectionPad1d(2), _n(2, 3, 5)),
    "ReflectionPad2d": Entry(lambda nn: nn.ReflectionPad2d(1), _n(2, 3, 4, 4)),
    "ReplicationPad1d": Entry(lambda nn: nn.ReplicationPad1d(2), _n(2, 3, 5)),
    "ReplicationPad2d": Entry(lambda nn: nn.ReplicationPad2d(1), _n(2, 3, 4, 4)),
    "CircularPad1d": Entry(lambda nn: nn.CircularPad1d(2), _n(2, 3, 5)),
    "CircularPad2d": Entry(lambda nn: nn.CircularPad2d(1), _n(2, 3, 4, 4)),
    "Unfold": Entry(lambda nn: nn.Unfold(kernel_size=2), _n(2, 3, 4, 4)),
    "Fold": Entry(lambda nn: nn.Fold(output_size=(4, 4), kernel_size=2), _n(2, 12, 9)),
    "UpsamplingNearest2d": Entry(lambda nn: nn.UpsamplingNearest2d(scale_factor=2),
                                 _n(2, 3, 4, 4)),
    "UpsamplingBilinear2d": Entry(lambda nn: nn.UpsamplingBilinear2d(scale_factor=2),
                                  _n(2, 3, 4, 4)),
    "MaxUnpool1d": Entry(lambda nn: nn.MaxUnpool1d(2), lambda r: [
        r.standard_normal((2, 3, 4)), np.broadcast_to(np.arange(4) * 2 + r.integers(0, 2, 4),
                                                      (2, 3, 4)).astype(np.int64)]),
    "MaxUnpool2d": Entry(lambda nn: nn.MaxUnpool2d(2), lambda r: [
        r.standard_normal((2, 3, 3, 3)),
        np.broadcast_to((np.arange(3)[:, None] * 12 + np.arange(3) * 2), (2, 3, 3, 3))
        .astype(np.int64)]),
    "PixelShuffle": Entry(lambda nn: nn.PixelShuffle(2), _n(2, 8, 3, 3)),
    "PixelUnshuffle": Entry(lambda nn: nn.PixelUnshuffle(2), _n(2, 2, 4, 6)),
    # distances, more activations and normalisation, bags of embeddings, power pooling
    "CosineSimilarity": Entry(lambda nn: nn.CosineSimilarity(), _two(4, 3)),
    "PairwiseDistance": Entry(lambda nn: nn.PairwiseDistance(p=1.5), _two(4, 3)),
    "Hardshrink": Entry(lambda nn: nn.Hardshrink(0.3), _n(3, 4)),
    "Softshrink": Entry(lambda nn: nn.Softshrink(0.3), _n(3, 4)),
    "RReLU": Entry(lambda nn: nn.RReLU(0.1, 0.3), _n(3, 4)),
    "ChannelShuffle": Entry(lambda nn: nn.ChannelShuffle(2), _n(2, 6, 3, 3)),
    "LocalResponseNorm": Entry(lambda nn: nn.LocalResponseNorm(3), _n(2, 5, 4, 4)),
    "FeatureAlphaDropout": Entry(lambda nn: nn.FeatureAlphaDropout(0.3), _n(2, 3, 4)),
    "EmbeddingBag": Entry(lambda nn: nn.EmbeddingBag(10, 3, mode="sum"), _ints(10, 2, 5)),
    "LPPool1d": Entry(lambda nn: nn.LPPool1d(2, 3, stride=2), _n(2, 3, 9)),
    "LPPool2d": Entry(lambda nn: nn.LPPool2d(2, 2), _n(2, 3, 4, 4)),
    "LPPool3d": Entry(lambda nn: nn.LPPool3d(2, 2), _n(1, 2, 4, 4, 4)),
    "LazyLinear": Entry(_lazy(lambda nn: nn.LazyLinear(3, dtype=_lib(nn).float32), (1, 4)),
                        _n(2, 4)),
    "LazyConv1d": Entry(_lazy(lambda nn: nn.LazyConv1d(4, 3, dtype=_lib(nn).float32),
                              (1, 2, 5)), _n(2, 2, 6)),
    "LazyConv2d": Entry(_lazy(lambda nn: nn.LazyConv2d(4, 3, padding=1,
                                                       dtype=_lib(nn).float32), (1, 2, 4, 4)),
                        _n(2, 2, 5, 5)),
    "LazyConv3d": Entry(_lazy(lambda nn: nn.LazyConv3d(2, 2, dtype=_lib(nn).float32),
                              (1, 2, 3, 3, 3)), _n(1, 2, 3, 3, 3)),
    # more losses
    "PoissonNLLLoss": Entry(lambda nn: nn.PoissonNLLLoss(), _two(4, 3)),
    "GaussianNLLLoss": Entry(lambda nn: nn.GaussianNLLLoss(), lambda r: [
        r.standard_normal((4, 3)), r.standard_normal((4, 3)), r.uniform(0.5, 2, (4, 3))]),
    "MarginRankingLoss": Entry(lambda nn: nn.MarginRankingLoss(0.5), lambda r: [
        r.standard_normal(4), r.standard_normal(4), np.array([1.0, -1.0, 1.0, -1.0])]),
    "HingeEmbeddingLoss": Entry(lambda nn: nn.HingeEmbeddingLoss(), lambda r: [
        r.uniform(0, 2, (4, 3)), np.where(r.standard_normal((4, 3)) > 0, 1.0, -1.0)]),
    "MultiLabelMarginLoss": Entry(lambda nn: nn.MultiLabelMarginLoss(), _multilabel),
    "SoftMarginLoss": Entry(lambda nn: nn.SoftMarginLoss(), lambda r: [
        r.standard_normal((4, 3)), np.where(r.standard_normal((4, 3)) > 0, 1.0, -1.0)]),
    "MultiLabelSoftMarginLoss": Entry(lambda nn: nn.MultiLabelSoftMarginLoss(), lambda r: [
        r.standard_normal((4, 3)), r.integers(0, 2, (4, 3)).astype(float)]),
    "CosineEmbeddingLoss": Entry(lambda nn: nn.CosineEmbeddingLoss(0.1), _signs(4, 3)),
    "MultiMarginLoss": Entry(lambda nn: nn.MultiMarginLoss(), _class_target(4, 3)),
    "TripletMarginLoss": Entry(lambda nn: nn.TripletMarginLoss(), lambda r: [
        r.standard_normal((4, 3)) for _ in range(3)]),
    "TripletMarginWithDistanceLoss": Entry(lambda nn: nn.TripletMarginWithDistanceLoss(
        swap=True), lambda r: [r.standard_normal((4, 3)) for _ in range(3)]),
    "CTCLoss": Entry(lambda nn: nn.CTCLoss(), _ctc),
}

# Public classes that are not layers one can run on their own.
NOT_LAYERS = {"Module": "the base class", "RNNBase": "base of RNN/LSTM/GRU",
              "RNNCellBase": "base of the cells", "Container": "deprecated base"}


def _discover() -> dict[str, type]:
    """Every public Module subclass in softgrad.nn and in the files of nn/modules."""
    found = {}
    spaces = [sg.nn] + [importlib.import_module(f"softgrad.nn.modules.{m.name}")
                        for m in pkgutil.iter_modules(softgrad.nn.modules.__path__)]
    for space in spaces:
        for name, obj in vars(space).items():
            if (inspect.isclass(obj) and issubclass(obj, sg.nn.Module)
                    and not name.startswith("_") and obj.__module__.startswith("softgrad")):
                found[name] = obj
    return found


PUBLIC = _discover()
NAMES = sorted(n for n in PUBLIC if n not in NOT_LAYERS and n in REGISTRY)


def _to(mod, a: np.ndarray, grad: bool = False):
    if a.dtype.kind == "f":
        a = a.astype(np.float32)
        return mod.tensor(a, requires_grad=grad)
    return mod.tensor(a.astype(np.int64))


def flat_outputs(out) -> list:
    """Flatten nested tuples of outputs (RNN states) into a list of tensors."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat_outputs(o)]
    return [] if out is None else [out]


def run_entry(entry: Entry, module, arrays: list, lib=sg, grad: bool = False) -> list:
    xs = [_to(lib, a, grad and i == 0) for i, a in enumerate(arrays)]
    return xs, flat_outputs(entry.call(module, *xs))


def build_module(name: str, seed: int):
    sg.manual_seed(seed)
    return REGISTRY[name].make(sg.nn)


def perturbed_module(name: str, seed: int):
    """A module whose state differs from a fresh one (parameters and running stats)."""
    module = build_module(name, seed)
    rng = np.random.default_rng(seed)
    with sg.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            if t.is_floating_point():
                t.add_(sg.tensor(rng.standard_normal(t.shape).astype(np.float32) * 0.1))
    module.train()
    run_entry(REGISTRY[name], module, REGISTRY[name].inputs(rng))  # BatchNorm stats move
    return module


def eval_outputs(name: str, module, lib=sg) -> list:
    module.eval()
    with (sg.no_grad() if lib is sg else torch.no_grad()):
        _, outs = run_entry(REGISTRY[name], module, REGISTRY[name].inputs(np.random.default_rng(7)),
                       lib)
    return [o.numpy() for o in outs]
