"""sg.save(model, path) / sg.load(path, weights_only=False) of whole modules, optimizers and
nested containers, and what weights_only and the safe-globals allow-list mean (PyTorch's
meaning, with softgrad's secure rebuild under weights_only=False)."""
from __future__ import annotations

import collections
import io
import os
import sys
import types
from typing import NamedTuple

import numpy as np
import pytest

import softgrad as sg
import softgrad.nn.functional as F
from softgrad import nn
from softgrad.serialization import CheckpointError, WeightsUnpicklingError
from tests.helpers.checks import edit_pickle

Point = collections.namedtuple("Point", "x y")


class Stats(NamedTuple):
    loss: float
    weights: list


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.bn = nn.BatchNorm2d(3)
        self.blocks = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 4))
        self.heads = nn.ModuleList([nn.Linear(4, 2), nn.Linear(4, 2)])
        self.heads[1].weight = self.heads[0].weight  # tied weights
        self.register_buffer("steps", sg.tensor(0))
        self.register_buffer("scratch", sg.zeros(2), persistent=False)
        self.marker = nn.Buffer(sg.ones(3))
        self.activation = F.gelu
        self.config = {"name": "net", "sizes": (12, 8, 4), "point": Point(1, 2)}

    def forward(self, x: sg.Tensor) -> sg.Tensor:
        h = self.bn(self.conv(x)).relu().flatten(1)[:, :12]
        h = self.activation(self.blocks(h))
        return self.heads[0](h) + self.heads[1](h)


def _bytes(obj) -> bytes:
    buf = io.BytesIO()
    sg.save(obj, buf)
    return buf.getvalue()


def _trained_net() -> tuple[Net, sg.optim.Optimizer, sg.Tensor]:
    sg.manual_seed(0)
    net = Net()
    opt = sg.optim.AdamW(net.parameters(), lr=1e-2)
    x = sg.randn(4, 1, 4, 4)
    for _ in range(2):
        opt.zero_grad()
        (net(x) ** 2).mean().backward()
        opt.step()
    return net, opt, x


def test_whole_module_round_trip(tmp_path):
    net, _, x = _trained_net()
    net.eval()
    sg.save(net, tmp_path / "net.pt")
    back = sg.load(tmp_path / "net.pt", weights_only=False)
    assert type(back) is Net and back.training is False and back.activation is F.gelu
    assert back.config == net.config and type(back.config["point"]) is Point
    with sg.no_grad():
        np.testing.assert_array_equal(back(x).numpy(), net(x).numpy())
    assert back.heads[1].weight is back.heads[0].weight
    assert list(back.state_dict()) == list(net.state_dict())
    assert "scratch" not in back.state_dict() and back.scratch.tolist() == [0.0, 0.0]
    assert isinstance(back.marker, nn.Buffer) and "marker" in dict(back.named_buffers())
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in back.parameters())
    assert len(list(back.parameters())) == len(list(net.parameters()))


def test_model_and_optimizer_saved_together_resume_bit_for_bit():
    net, opt, x = _trained_net()
    blob = _bytes({"model": net, "optimizer": opt, "epoch": 2})
    back = sg.load(io.BytesIO(blob), weights_only=False)
    net2, opt2 = back["model"], back["optimizer"]
    assert type(opt2) is sg.optim.AdamW and back["epoch"] == 2
    params2 = list(net2.parameters())
    assert all(any(p is q for q in params2) for p in opt2.param_groups[0]["params"])
    for model, o in ((net, opt), (net2, opt2)):
        sg.manual_seed(5)  # the same dropout masks for both
        o.zero_grad()
        (model(x) ** 2).mean().backward()
        o.step()
    for a, b in zip(net.parameters(), net2.parameters()):
        assert a.detach().numpy().tobytes() == b.detach().numpy().tobytes()


def test_nested_containers_round_trip():
    shared = sg.arange(6.0)
    obj = {
        "list": [1, 2.5, "s", None, True, False, -7, 2 ** 70, float("inf")],
        "tuple": (1, (2, (3,))), "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
        "namedtuple": Point(sg.ones(2), "y"), "typed": Stats(0.5, [1, 2]),
        "int_keys": {0: "zero", -1: "minus", (1, 2): "tuple key"},
        "tensors": {"f": sg.randn(2, 3), "i": sg.tensor([1, 2]), "b": sg.tensor([True]),
                    "zero_d": sg.tensor(3.0), "i0": sg.tensor(4), "empty": sg.zeros(0, 2),
                    "shared": shared, "again": shared, "view": shared[1:4]},
        "numpy": np.arange(4, dtype=np.int16), "np_scalar": np.float32(1.5),
        "big_endian": np.arange(3, dtype=">f8"), "np_again": None,
        "bytes": b"\x00\xff", "set": {1, 2}, "frozen": frozenset({"a"}), "complex": 1 - 2j,
        "dtype": sg.float64, "device": sg.device("cpu"), "size": sg.Size([2, 3]),
        "slice": slice(1, None, 2), "range": range(3),
        "defaultdict": collections.defaultdict(list, {"k": [1]}),
        "deque": collections.deque([1, 2], maxlen=5), "counter": collections.Counter("aab"),
    }
    obj["np_again"] = obj["numpy"]
    back = sg.load(io.BytesIO(_bytes(obj)), weights_only=False)
    assert list(back) == list(obj)
    assert back["np_again"] is back["numpy"]
    assert back["big_endian"].dtype == np.dtype(">f8") and back["big_endian"].tolist() == [0, 1, 2]
    assert back["list"] == obj["list"] and back["tuple"] == obj["tuple"]
    assert type(back["ordered"]) is collections.OrderedDict and list(back["ordered"]) == ["b", "a"]
    assert type(back["namedtuple"]) is Point and back["namedtuple"].x.tolist() == [1.0, 1.0]
    assert back["typed"] == Stats(0.5, [1, 2]) and type(back["typed"]) is Stats
    assert back["int_keys"] == obj["int_keys"]
    for key, t in obj["tensors"].items():
        got = back["tensors"][key]
        assert got.dtype == t.dtype and got.shape == t.shape, key
        np.testing.assert_array_equal(got.numpy(), t.numpy())
    tensors = back["tensors"]
    assert tensors["again"] is tensors["shared"]
    tensors["shared"][2] = -1.0
    assert tensors["view"][1].item() == -1.0  # a view still views its base
    assert back["numpy"].dtype == np.int16 and back["numpy"].tolist() == [0, 1, 2, 3]
    assert type(back["np_scalar"]) is np.float32
    for key in ("bytes", "set", "frozen", "complex", "slice", "range", "counter"):
        assert back[key] == obj[key] and type(back[key]) is type(obj[key]), key
    assert back["dtype"] is sg.float64 and back["device"] == "cpu"
    assert back["size"] == (2, 3) and type(back["size"]) is sg.Size
    assert back["defaultdict"]["missing"] == [] and back["deque"].maxlen == 5


def test_missing_classes_are_named():
    blob = _bytes({"p": Point(1, 2)}).replace(b"\nPoint\n", b"\nPoinT\n")  # same length
    with pytest.raises(CheckpointError):  # the zip CRC notices the edit
        sg.load(io.BytesIO(blob), weights_only=False)
    blob = edit_pickle(_bytes({"p": Point(1, 2)}), b"\nPoint\n", b"\nGone\n")
    with pytest.raises(WeightsUnpicklingError, match="has no 'Gone': define or import it"):
        sg.load(io.BytesIO(blob), weights_only=False)


def test_tutorial_checkpoint_with_a_loss_tensor(tmp_path):
    """PyTorch's tutorial saves the last loss, a 0-d tensor that is not a leaf."""
    model = nn.Linear(3, 1)
    opt = sg.optim.SGD(model.parameters(), lr=0.1)
    loss = model(sg.randn(4, 3)).pow(2).mean()
    sg.save({"epoch": 5, "model_state_dict": model.state_dict(),
             "optimizer_state_dict": opt.state_dict(), "loss": loss}, tmp_path / "c.tar")
    ck = sg.load(tmp_path / "c.tar")
    assert ck["epoch"] == 5 and ck["loss"].shape == () and ck["loss"].requires_grad
    assert ck["loss"].item() == pytest.approx(loss.item())
    model.load_state_dict(ck["model_state_dict"])
    opt.load_state_dict(ck["optimizer_state_dict"])


def test_shared_tensors_are_stored_once():
    w = sg.randn(1000)
    once = len(_bytes({"a": w}))
    assert len(_bytes({"a": w, "b": w, "c": [w, w]})) < once + 200
    assert len(_bytes({"a": w, "v": w[10:20]})) < once + 400


def test_scheduler_state_and_whole_scheduler():
    _, opt, _ = _trained_net()
    sched = sg.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    sched.step()
    back = sg.load(io.BytesIO(_bytes({"s": sched.state_dict(), "whole": sched, "o": opt})),
                   weights_only=False)
    assert back["s"] == sched.state_dict()
    assert type(back["whole"]) is type(sched) and back["whole"].last_epoch == sched.last_epoch
    assert back["whole"].optimizer is back["o"]
    plain = sg.load(io.BytesIO(_bytes({"s": sched.state_dict(), "o": opt.state_dict()})))
    assert plain["s"] == sched.state_dict()


# ---------------------------------------------------------------------- weights_only
def test_weights_only_true_refuses_modules_with_pytorchs_advice():
    blob = _bytes(nn.Linear(2, 2))
    with pytest.raises(WeightsUnpicklingError) as info:
        sg.load(io.BytesIO(blob))
    msg = str(info.value)
    assert "GLOBAL softgrad.nn.modules.linear.Linear was not an allowed global" in msg
    assert "add_safe_globals([softgrad.nn.modules.linear.Linear])" in msg
    assert "weights_only=False" in msg


def test_safe_globals_allow_classes_and_are_scoped():
    net, _, x = _trained_net()
    net.eval()
    blob = _bytes(net)
    needed = sg.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(blob))
    classes = [Net, nn.Conv2d, nn.BatchNorm2d, nn.Sequential, nn.Linear, nn.ReLU, nn.Dropout,
               nn.ModuleList, Point, F.gelu]  # nn.Buffer, like nn.Parameter, is always allowed
    names = {f"{c.__module__}.{c.__qualname__}" for c in classes}
    assert set(needed) == names
    with sg.serialization.safe_globals(classes):
        assert sg.serialization.get_safe_globals() == classes
        back = sg.load(io.BytesIO(blob))
    assert sg.serialization.get_safe_globals() == []
    with sg.no_grad():
        np.testing.assert_array_equal(back(x).numpy(), net(x).numpy())
    sg.serialization.add_safe_globals(classes[:3])
    try:
        assert sg.serialization.get_safe_globals() == classes[:3]
        with pytest.raises(WeightsUnpicklingError, match="torch.nn.modules.container.Sequential"
                           "|softgrad.nn.modules.container.Sequential"):
            sg.load(io.BytesIO(blob))
    finally:
        sg.serialization.clear_safe_globals()
    assert sg.serialization.get_safe_globals() == []


def test_safe_globals_by_explicit_name_and_bad_entries():
    blob = _bytes({"p": Point(1, 2)})
    renamed = edit_pickle(blob, f"{Point.__module__}\nPoint".encode(), b"old.place\nPoint")
    with sg.serialization.safe_globals([(Point, "old.place.Point")]):
        assert sg.load(io.BytesIO(renamed))["p"] == Point(1, 2)
    with pytest.raises(TypeError, match="classes or functions"):
        sg.serialization.add_safe_globals([42])
    with pytest.raises(ValueError, match="length 2"):
        sg.serialization.add_safe_globals([(Point, "a", "b")])
    with pytest.raises(TypeError, match="list"):
        sg.serialization.add_safe_globals(Point)


class _Plain:
    def __init__(self) -> None:
        self.value = 3


def test_plain_classes_need_allowing_even_with_weights_only_false():
    blob = _bytes({"obj": _Plain()})
    with pytest.raises(WeightsUnpicklingError, match=r"_Plain is not allowed.*add_safe_globals"):
        sg.load(io.BytesIO(blob), weights_only=False)
    with sg.serialization.safe_globals([_Plain]):
        assert sg.load(io.BytesIO(blob))["obj"].value == 3


def test_classes_of_modules_not_imported_are_refused_not_imported():
    mod = types.ModuleType("softgrad_test_tmp_models")
    exec("import softgrad.nn as nn\nclass Tiny(nn.Module):\n"
         "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(1, 1)\n",
         mod.__dict__)
    sys.modules[mod.__name__] = mod
    try:
        blob = _bytes(mod.Tiny())
        assert type(sg.load(io.BytesIO(blob), weights_only=False)).__name__ == "Tiny"
    finally:
        del sys.modules[mod.__name__]
    with pytest.raises(WeightsUnpicklingError, match="is not imported.*never imports"):
        sg.load(io.BytesIO(blob), weights_only=False)
    assert mod.__name__ not in sys.modules


_CALLS: list = []


class Hooked(nn.Module):
    """A module whose special methods record that they ran."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def __setstate__(self, state) -> None:
        _CALLS.append("__setstate__")
        self.__dict__.update(state)

    def __setattr__(self, name, value) -> None:
        _CALLS.append("__setattr__")
        super().__setattr__(name, value)

    def forward(self, x: sg.Tensor) -> sg.Tensor:
        return self.fc(x)


def test_weights_only_false_never_calls_methods_of_user_classes():
    """softgrad's secure equivalent of a full unpickle: the object is created without
    __init__/__new__ of the class and its __dict__ is filled directly."""
    blob = _bytes(Hooked())
    _CALLS.clear()
    back = sg.load(io.BytesIO(blob), weights_only=False)
    assert type(back) is Hooked and _CALLS == []
    assert back(sg.ones(1, 2)).shape == (1, 2)
    _CALLS.clear()
    with sg.serialization.safe_globals([Hooked, nn.Linear]):  # allowed = trusted, as PyTorch
        sg.load(io.BytesIO(blob))
    assert _CALLS == ["__setstate__"]


def test_pickle_module_and_protocol_arguments():
    blob = _bytes({"w": sg.ones(1)})
    import pickle

    assert sg.load(io.BytesIO(blob), pickle_module=pickle, weights_only=False)["w"].item() == 1
    with pytest.raises(RuntimeError, match="pickle_module"):
        sg.load(io.BytesIO(blob), pickle_module=pickle)
    buf = io.BytesIO()
    sg.save({"w": sg.ones(1)}, buf, pickle_protocol=4)
    assert sg.load(io.BytesIO(buf.getvalue()))["w"].item() == 1
    with pytest.raises(TypeError, match="unexpected keyword"):
        sg.load(io.BytesIO(blob), fix_imports=False)


def test_save_errors_name_the_object_and_keep_the_old_file(tmp_path):
    path = tmp_path / "m.pt"
    sg.save({"v": sg.ones(2)}, path)
    with pytest.raises(TypeError, match=r"function .*<lambda> at obj\['f'\]"):
        sg.save({"f": lambda x: x}, path)
    with pytest.raises(TypeError, match="safetensors.*.pt file for whole modules"):
        sg.save(nn.Linear(1, 1), tmp_path / "m.safetensors")
    loop: list = []
    loop.append((loop,))
    sg.save(loop, tmp_path / "loop.pt")  # lists may contain themselves, as with pickle
    back = sg.load(tmp_path / "loop.pt")
    assert back[0][0] is back
    assert sg.load(path)["v"].tolist() == [1.0, 1.0]
    assert sorted(os.listdir(tmp_path)) == ["loop.pt", "m.pt"]


def test_files_written_to_file_objects_and_paths_are_the_same_format(tmp_path):
    sg.save({"w": sg.arange(3)}, tmp_path / "a.pth")
    with open(tmp_path / "b.pth", "wb") as fh:
        sg.save({"w": sg.arange(3)}, fh)
    with open(tmp_path / "b.pth", "rb") as fh:
        assert sg.load(fh)["w"].tolist() == [0, 1, 2]
    assert sg.load(str(tmp_path / "a.pth"))["w"].tolist() == [0, 1, 2]
    assert (tmp_path / "a.pth").read_bytes()[:4] == b"PK\x03\x04"
