"""Hostile and damaged pickles: loading never runs code from a file and never sizes an
allocation from a number in the file alone. Every payload below is live (real pickle runs it)
and must give CheckpointError / WeightsUnpicklingError with a message, while a canary that
any executed code would touch stays untouched. Fuzzing budget (hypothesis, derandomized so
runs are repeatable): 150 random files, 300 mutated checkpoint pickles and 400 random
instruction sequences, each tried with weights_only True and False, and 200 bit flips or
truncations of a saved checkpoint."""
from __future__ import annotations

import copyreg
import io
import os
import pickle
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import softgrad as sg
from softgrad import nn
from softgrad.serialization import CheckpointError, WeightsUnpicklingError
from softgrad.serialization.torch_legacy import LEGACY_MAGIC
from softgrad.serialization.torch_zip import write_torch_zip
from softgrad.serialization.unpickler import unpickle

CANARY: list = []
MARKER = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"softgrad_canary_{os.getpid()}")


def canary(*args, **kwargs):
    CANARY.append(("called", args))
    return 0


class CanaryModule(nn.Module):
    """A module whose every special method touches the canary."""

    def __new__(cls, *args, **kwargs):
        CANARY.append("__new__")
        return super().__new__(cls)

    def __init__(self) -> None:
        CANARY.append("__init__")
        super().__init__()

    def __setstate__(self, state) -> None:
        CANARY.append("__setstate__")

    def __reduce__(self):
        return (CanaryModule, ())


class _Reduce:
    def __init__(self, fn, *args) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


@pytest.fixture(autouse=True)
def _clean_canary():
    CANARY.clear()
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    yield
    assert CANARY == [], CANARY
    assert not os.path.exists(MARKER)


# ---------------------------------------------------------------------- pickle assembly
def G(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def S(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def I(n: int) -> bytes:
    if -2 ** 31 <= n < 2 ** 31:
        return b"J" + struct.pack("<i", n)
    raw = pickle.encode_long(n)
    return b"\x8a" + bytes([len(raw)]) + raw


def T(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def P(body: bytes) -> bytes:
    return b"\x80\x02" + body + b"."


def tensor_v2(numel: int, size: tuple, stride: tuple, offset: int = 0, key: str = "0",
              storage: str = "FloatStorage") -> bytes:
    pid = T(S("storage"), G("torch", storage), S(key), S("cpu"), I(numel))
    return (G("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + b"Q" + I(offset)
            + T(*map(I, size)) + T(*map(I, stride)) + b"\x89"
            + G("collections", "OrderedDict") + b")R" + b"tR")


def zip_file(data_pkl: bytes, records: dict | None = None) -> bytes:
    """A torch.save zip around ``data_pkl`` with ``records`` {key: raw bytes} as storages."""
    buf = io.BytesIO()
    storages = [(k, np.frombuffer(v, np.uint8)) for k, v in (records or {}).items()]
    write_torch_zip(data_pkl, storages, buf, "archive")
    return buf.getvalue()


def legacy_file(data_pkl: bytes) -> bytes:
    info = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                         "type_sizes": {"short": 2, "int": 4, "long": 4}}, 2)
    return (LEGACY_MAGIC + pickle.dumps(1001, 2) + info + data_pkl + pickle.dumps([], 2))


def _load_all_ways(data_pkl: bytes) -> list:
    """Errors from loading ``data_pkl`` inside a zip, a legacy file and directly, with
    weights_only True and False (loads that succeed give None)."""
    errors = []
    for weights_only in (True, False):
        for blob in (zip_file(data_pkl), legacy_file(data_pkl)):
            try:
                sg.load(io.BytesIO(blob), weights_only=weights_only)
                errors.append(None)
            except CheckpointError as exc:
                errors.append(exc)
        try:
            unpickle(data_pkl, weights_only)
            errors.append(None)
        except CheckpointError as exc:
            errors.append(exc)
    return errors


# ---------------------------------------------------------------------- hostile payloads
def _live_payloads() -> dict:
    touch = f"touch {MARKER}"
    marker_code = f"open({MARKER!r}, 'w').close()"
    out = {}
    for proto in range(6):
        out[f"os.system p{proto}"] = pickle.dumps(_Reduce(os.system, touch), proto)
    out["posix.system"] = P(G("posix", "system") + T(S(touch)) + b"R")
    out["eval"] = pickle.dumps(_Reduce(eval, marker_code), 2)
    out["exec"] = pickle.dumps(_Reduce(exec, marker_code), 4)
    out["getattr chain"] = P(G("builtins", "getattr") + T(G("os", "path"), S("exists")) + b"R")
    out["__import__"] = P(G("builtins", "__import__") + T(S("os")) + b"R")
    out["subprocess"] = P(G("subprocess", "check_call") + T(T(S("touch"), S(MARKER))) + b"R")
    out["importlib"] = P(G("importlib", "import_module") + T(S("antigravity")) + b"R")
    out["partial"] = P(G("functools", "partial") + T(G("os", "system"), S(touch)) + b"R")
    out["INST"] = b"(S'" + touch.encode() + b"'\nios\nsystem\n."
    out["OBJ"] = b"(cos\nsystem\nS'" + touch.encode() + b"'\no."
    out["canary function"] = P(G(__name__, "canary") + T(I(1)) + b"R")
    out["canary class called"] = P(G(__name__, "CanaryModule") + b")R")
    out["softgrad writer"] = P(G("softgrad.serialization.atomic", "atomic_write")
                               + T(S(MARKER), G(__name__, "canary")) + b"R")
    out["softgrad class called"] = P(G("softgrad.nn.modules.linear", "Linear")
                                     + T(I(2), I(2)) + b"R")
    out["NEWOBJ plain class"] = P(G("collections", "UserDict") + b")\x81")
    out["BUILD on tensor"] = P(tensor_v2(1, (1,), (1,)) + b"}" + S("x") + I(1) + b"sb")
    out["SETITEMS on module"] = P(G(__name__, "CanaryModule") + b")\x81" + b"(" + S("a")
                                  + I(1) + b"u")
    out["APPENDS on OrderedDict"] = P(G("collections", "OrderedDict") + b")R(" + I(1) + b"e")
    out["bytearray size"] = P(G("builtins", "bytearray") + T(I(10 ** 12)) + b"R")
    out["numpy object array"] = pickle.dumps(np.array([_Reduce(os.system, touch)],
                                                      dtype=object), 2)
    return out


_PAYLOADS = _live_payloads()


def test_the_os_system_payload_is_live():
    pickle.loads(_PAYLOADS["os.system p2"])
    assert os.path.exists(MARKER)  # real pickle runs it
    os.unlink(MARKER)


@pytest.mark.parametrize("name", sorted(_PAYLOADS))
def test_hostile_payloads_are_refused_in_every_container(name):
    errors = _load_all_ways(_PAYLOADS[name])
    assert all(isinstance(e, CheckpointError) and str(e) for e in errors), (name, errors)


@pytest.mark.parametrize("name,global_", [("os.system p0", "(os|posix).system"),
                                          ("os.system p4", "(os|posix).system"),
                                          ("INST", "os.system"), ("eval", "eval"),
                                          ("canary function", "canary"),
                                          ("partial", "functools.partial")])
def test_refusals_name_the_global(name, global_):
    for weights_only in (True, False):
        with pytest.raises(WeightsUnpicklingError, match=global_):
            sg.load(io.BytesIO(zip_file(_PAYLOADS[name])), weights_only=weights_only)


def test_module_classes_rebuild_without_running_their_methods():
    body = P(G(__name__, "CanaryModule") + b")\x81" + b"}" + S("training") + b"\x89sb")
    with pytest.raises(WeightsUnpicklingError, match="CanaryModule"):
        unpickle(body, True)
    for blob in (body, P(G("copyreg", "_reconstructor") + T(G(__name__, "CanaryModule"),
                                                            G("builtins", "object"), b"N")
                         + b"R")):
        obj, _ = unpickle(blob, False)
        assert type(obj) is CanaryModule
    assert CANARY == []


def test_blocked_globals_stay_blocked_when_allowed_under_another_name():
    blob = P(G("harmless", "name") + T(S(f"touch {MARKER}")) + b"R")
    with sg.serialization.safe_globals([(os.system, "harmless.name")]):
        for weights_only in (True, False):
            with pytest.raises(WeightsUnpicklingError, match="never loads"):
                unpickle(blob, weights_only)


def test_extension_codes_and_persistent_ids_are_refused():
    copyreg.add_extension("posix", "system", 0xF0)
    try:
        blob = pickle.dumps(_Reduce(os.system, "true"), 2)
    finally:
        copyreg.remove_extension("posix", "system", 0xF0)
    assert b"\x82\xf0" in blob  # EXT1 240
    assert all(isinstance(e, WeightsUnpicklingError) for e in _load_all_ways(blob))
    nested = P(T(S("storage"), T(G("os", "system"), S("true")), S("0"), S("cpu"), I(1)) + b"Q")
    assert all(isinstance(e, CheckpointError) for e in _load_all_ways(nested))
    with pytest.raises(CheckpointError, match="persistent id"):
        sg.load(io.BytesIO(zip_file(P(T(S("module"), I(1)) + b"Q"))))


def test_deeply_nested_tuples_are_refused_before_hashing():
    """Hashing a tuple nested ~10**5 deep overflows the C stack (a crash, not an error)."""
    deep = P(b"}" + b")" + b"\x85" * 200_000 + I(1) + b"s")
    with pytest.raises(WeightsUnpicklingError, match="nest more than"):
        unpickle(deep, False)
    ok, _ = unpickle(P(b"}" + b")" + b"\x85" * 50 + I(1) + b"s"), True)
    assert len(ok) == 1


def test_malformed_streams_give_clear_errors():
    for blob in (b"\x80\x02", P(b"h\x07"), P(b"\xff"), P(b"0"), P(b"(" * 3 + b"u"),
                 P(S("a") + S("b") + b"\x93"), P(I(1) + I(2) + b"\x93"), b"\x80\x09N.",
                 P(b"}" + I(1) + b"s"), P(b"]" + b"(" + I(1) + I(2) + b"u")):
        with pytest.raises(WeightsUnpicklingError):
            unpickle(blob, False)


# ---------------------------------------------------------------------- huge claims
def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("name,blob,match", [
    ("numel beyond record", zip_file(P(tensor_v2(2 ** 60, (4,), (1,))), {"0": bytes(16)}),
     "needs .* bytes but its record holds 16"),
    ("size beyond storage", zip_file(P(tensor_v2(4, (2 ** 40, 2 ** 40), (1, 1))),
                                     {"0": bytes(16)}), "reach element"),
    ("offset beyond storage", zip_file(P(tensor_v2(4, (2,), (1,), offset=3)), {"0": bytes(16)}),
     "reach element"),
    ("negative stride", zip_file(P(tensor_v2(4, (2,), (-1,), offset=3)), {"0": bytes(16)}),
     "stride"),
    ("too many dims", zip_file(P(tensor_v2(4, (1,) * 65, (1,) * 65)), {"0": bytes(16)}), "size"),
    ("missing record", zip_file(P(tensor_v2(4, (4,), (1,), key="7")), {"0": bytes(16)}),
     "no record"),
    ("two dtypes for a storage", zip_file(P(b"(" + tensor_v2(4, (4,), (1,)) + tensor_v2(
        2, (2,), (1,), storage="DoubleStorage") + b"t"), {"0": bytes(16)}), "two dtypes"),
    ("BYTEARRAY8 claim", zip_file(b"\x80\x05\x96" + struct.pack("<Q", 2 ** 62) + b"."),
     "truncated"),
    ("BINBYTES8 claim", zip_file(b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 62) + b"."),
     "truncated"),
    ("BINUNICODE8 claim", zip_file(b"\x80\x04\x8d" + struct.pack("<Q", 2 ** 62) + b"."),
     "truncated"),
    ("LONG4 claim", zip_file(b"\x80\x02\x8b" + struct.pack("<i", 2 ** 30) + b"."), "truncated"),
    ("FRAME claim", zip_file(b"\x80\x04\x95" + struct.pack("<Q", 2 ** 62) + b"N."), "truncated"),
    ("numpy shape claim", zip_file(pickle.dumps(np.zeros(2, np.float32), 2).replace(
        b"K\x02\x85", b"J\x00\x00\x00\x40\x85")), "does not match"),
])
def test_huge_claims_fail_without_allocating(name, blob, match):
    def load():
        with pytest.raises(CheckpointError, match=match):
            sg.load(io.BytesIO(blob), weights_only=False)
    assert _peak(load) < 20 * 2 ** 20, name


def test_zip_directory_claims_are_checked_against_the_file():
    blob = bytearray(zip_file(P(tensor_v2(4, (4,), (1,))), {"0": bytes(16)}))
    entry = blob.find(b"PK\x01\x02")  # central directory entry of data.pkl: inflate its sizes
    blob[entry + 20:entry + 28] = struct.pack("<II", 2 ** 31, 2 ** 31)
    def load_blob() -> None:
        with pytest.raises(CheckpointError):
            sg.load(io.BytesIO(bytes(blob)))

    assert _peak(load_blob) < 20 * 2 ** 20
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", P(b"N"))
    raw = bytearray(bomb.getvalue())
    entry = raw.find(b"PK\x01\x02")
    raw[entry + 24:entry + 28] = struct.pack("<I", 2 ** 31)  # uncompressed size claim
    with pytest.raises(CheckpointError, match="claims"):
        sg.load(io.BytesIO(bytes(raw)))


def test_legacy_storage_claims_are_checked_against_the_file():
    body = P(tensor_v2(2 ** 50, (4,), (1,)).replace(I(2 ** 50) + b"t", I(2 ** 50) + b"Nt"))
    blob = legacy_file(body)[:-len(pickle.dumps([], 2))] + pickle.dumps(["0"], 2) \
        + struct.pack("<q", 2 ** 50) + bytes(16)
    def load():
        with pytest.raises(CheckpointError, match="truncated or corrupt at storage 0"):
            sg.load(io.BytesIO(blob))
    assert _peak(load) < 20 * 2 ** 20


# ---------------------------------------------------------------------- fuzzing
def _checkpoint():
    sg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    opt = sg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3,
            "tags": ("a", None, 1.5), "whole": model}


def _seed_pickles() -> list[tuple[bytes, list]]:
    from softgrad.serialization.torch_zip import pickle_for_torch

    out = [pickle_for_torch(_checkpoint())]
    out.append(pickle_for_torch({"t": sg.arange(6.0)[1::2], "n": [1, {2: 3}]}))
    return out


_SEEDS = _seed_pickles()
_VOCAB = [b"N", b"\x88", b"\x89", I(1), I(-5), I(2 ** 40), b"G" + struct.pack(">d", 1.5),
          S("storage"), S("cpu"), S("0"), b"(", b"t", b"\x85", b"\x86", b"\x87", b")", b"]",
          b"}", b"a", b"e", b"s", b"u", b"R", b"b", b"\x81", b"\x92", b"Q", b"2", b"0", b"1",
          b"q\x00", b"h\x00", b"q\x01", b"h\x01", b"\x94", b"\x8f", b"\x90", b"\x91",
          G("os", "system"), G("builtins", "eval"), G(__name__, "canary"),
          G(__name__, "CanaryModule"), G("collections", "OrderedDict"),
          G("torch._utils", "_rebuild_tensor_v2"), G("torch", "FloatStorage"),
          G("torch._utils", "_rebuild_parameter"), G("copyreg", "_reconstructor"),
          G("builtins", "object"), G("builtins", "set"), G("_codecs", "encode"),
          G("numpy.core.multiarray", "_reconstruct"), G("numpy", "ndarray"),
          G("numpy", "dtype"), G("torch", "Size"), G("softgrad.nn.modules.linear", "Linear"),
          b"cos\nsystem\n", b"i__main__\ncanary\n", b"\x82\x01", b"\x96" + bytes(8)]


def _try(fn):
    try:
        fn()
    except CheckpointError as exc:
        assert str(exc)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from([b"", b"PK\x03\x04", LEGACY_MAGIC, b"\x80\x02", b"\x80\x04"]),
       body=st.binary(max_size=600))
def test_fuzz_random_files(prefix, body):
    _try(lambda: sg.load(io.BytesIO(prefix + body), weights_only=False))
    assert CANARY == []


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, len(_SEEDS) - 1), data=st.data())
def test_fuzz_mutated_checkpoint_pickles(seed, data):
    """Mutations of real data.pkl streams, zipped again with valid CRCs so that the
    unpickler itself sees them."""
    pickled, storages = _SEEDS[seed]
    blob = bytearray(pickled)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = data.draw(st.integers(0, len(blob)))
        if kind == "flip" and at < len(blob):
            blob[at] ^= data.draw(st.integers(1, 255))
        elif kind == "insert":
            blob[at:at] = data.draw(st.sampled_from(_VOCAB))
        elif kind == "delete":
            del blob[at:at + data.draw(st.integers(1, 8))]
        else:
            del blob[at:]
    buf = io.BytesIO()
    write_torch_zip(bytes(blob), storages, buf, "archive")
    for weights_only in (True, False):
        _try(lambda w=weights_only: sg.load(io.BytesIO(buf.getvalue()), weights_only=w))
    assert CANARY == []


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(st.sampled_from(_VOCAB), max_size=30),
       proto=st.sampled_from([b"", b"\x80\x02", b"\x80\x04"]))
def test_fuzz_instruction_sequences(ops, proto):
    blob = proto + b"".join(ops) + b"."
    for weights_only in (True, False):
        _try(lambda w=weights_only: unpickle(blob, w))
    assert CANARY == []


def _saved_checkpoint() -> bytes:
    buf = io.BytesIO()
    sg.save(_checkpoint(), buf)
    return buf.getvalue()


_SAVED = _saved_checkpoint()


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_bit_flips_and_truncations_of_a_saved_checkpoint(data):
    blob = bytearray(_SAVED)
    if data.draw(st.booleans()):
        del blob[data.draw(st.integers(0, len(blob) - 1)):]
    else:
        for _ in range(data.draw(st.integers(1, 3))):
            blob[data.draw(st.integers(0, len(blob) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    try:
        back = sg.load(io.BytesIO(bytes(blob)), weights_only=False)
    except CheckpointError as exc:
        assert str(exc)
        return
    want = sg.load(io.BytesIO(_SAVED), weights_only=False)
    assert back["epoch"] == want["epoch"] and back["tags"] == want["tags"]
    for key, t in want["model"].items():  # zip CRCs: a flip that loads changed no data
        assert np.array_equal(back["model"][key].numpy(), t.numpy())


def test_every_truncation_of_a_saved_checkpoint_is_refused():
    for cut in range(0, len(_SAVED), max(1, len(_SAVED) // 300)):
        with pytest.raises(CheckpointError):
            sg.load(io.BytesIO(_SAVED[:cut]), weights_only=False)
