"""``save`` and ``load`` as PyTorch users write them, without pickle's risk.

Formats (``load`` tells them apart by their first bytes):

* **PyTorch's** (``torch.save``'s zip since 1.6, and the older pickle-run format): read, and
  written by ``sg.save`` for any path not ending in ``.safetensors`` and for file objects.
  Files softgrad writes load in PyTorch with ``torch.load(path, weights_only=True)`` when they
  hold tensors, numbers, strings and containers (state dicts, optimizer and scheduler
  states, checkpoint dicts); PyTorch-written files load in softgrad without PyTorch.
* **safetensors** (``*.safetensors``): tensors and plain containers, no pickle at all.
* **.npz** archives (read only).

Loading never runs code from a file. Pickles are read by a restricted unpickler
(:mod:`softgrad.serialization.unpickler`) that builds tensors, storages and containers, and
refuses every other global with a :class:`WeightsUnpicklingError` that names it. As in
PyTorch 2.6+, ``weights_only=True`` is the default and allows what PyTorch's weights-only
loader allows, plus what :func:`add_safe_globals` / :class:`safe_globals` allow.
``weights_only=False`` is where softgrad differs from PyTorch, which then runs the full
pickle: softgrad also rebuilds

* its own classes (``nn.Linear``, ``nn.Sequential``, ``optim.Adam``, ...) and the
  ``nn.Module``, ``Optimizer`` and ``LRScheduler`` subclasses and namedtuples of modules
  that are **already imported** (no module named in a file is ever imported), by creating
  the object without ``__init__`` and filling its ``__dict__`` (a ``__setstate__`` written
  outside softgrad is not called);
* NumPy arrays and scalars of numbers and bools, ``frozenset``, ``bytes``, ``slice``,
  ``range``, ``defaultdict``, ``deque``, and softgrad's ``nn.functional`` functions as values;

and still refuses everything else (``os.system``, ``eval``, ``functools.partial``, classes of
other libraries, ...) unless allowed by name. Tensors are rebuilt as views of their
storages, so tensors that shared memory when saved share it after loading.
"""
from __future__ import annotations

import io
import os
import pickle
from typing import Any

from softgrad.serialization.atomic import atomic_write
from softgrad.serialization.errors import CheckpointError, WeightsUnpicklingError
from softgrad.serialization.npz import load_npz
from softgrad.serialization.safe_globals import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)
from softgrad.serialization.safetensors_format import load_safetensors, save_safetensors
from softgrad.serialization.scan import unsafe_globals
from softgrad.serialization.torch_legacy import load_torch_legacy, looks_legacy
from softgrad.serialization.torch_zip import (
    archive_name,
    is_torch_zip,
    load_torch_zip,
    pickle_for_torch,
    write_torch_zip,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "CheckpointError",
    "WeightsUnpicklingError",
    "add_safe_globals",
    "atomic_write",
    "clear_safe_globals",
    "get_safe_globals",
    "get_unsafe_globals_in_checkpoint",
    "load",
    "safe_globals",
    "save",
]

DEFAULT_PROTOCOL = 2
_FORMATS = ("torch", "safetensors")


def _is_path(f: Any) -> bool:
    return isinstance(f, (str, os.PathLike))


def save(obj: Any, f: Any, pickle_module: Any = pickle, pickle_protocol: int = DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization: bool = True, _disable_byteorder_record: bool = False,
         *, format: str | None = None) -> None:
    """Save ``obj`` to ``f``, as ``torch.save`` does.

    Args:
        obj: anything ``torch.save`` saves: tensors, state dicts, optimizer and scheduler
            states, whole modules, nested dicts/lists/tuples/namedtuples of them, numbers,
            strings, NumPy arrays. A ``.safetensors`` file holds only tensors, NumPy arrays,
            numbers, strings, bools, None and dicts (str/int keys), lists and tuples.
        f: a path (str or PathLike; written atomically: a crash leaves the old file or the
            new one) or a binary file object (``io.BytesIO``, an open file).
        pickle_module: :mod:`pickle` (or None); softgrad writes the pickle itself.
        pickle_protocol: accepted for compatibility; the pickle is always protocol 2, the
            one ``torch.load``'s weights-only loader reads.
        format: ``"torch"`` (PyTorch's zip format) or ``"safetensors"``. Default: safetensors
            for paths ending in ``.safetensors``, else torch.
    Example:
        >>> sg.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, "ckpt.pt")
        >>> sg.save(model, "model.pt")   # load with sg.load("model.pt", weights_only=False)
    """
    if format is None:
        format = "safetensors" if _is_path(f) and os.fspath(f).endswith(".safetensors") \
            else "torch"
    if format not in _FORMATS:
        raise ValueError(f"format must be one of {_FORMATS}, got {format!r}")
    if pickle_module is not None and pickle_module is not pickle:
        raise TypeError("sg.save writes its pickle itself; pickle_module must be None or the "
                        "pickle module")
    if type(pickle_protocol) is not int or not 2 <= pickle_protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError(f"pickle_protocol must be an int from 2 to "
                         f"{pickle.HIGHEST_PROTOCOL}, got {pickle_protocol!r}")
    if not _is_path(f) and not hasattr(f, "write"):
        raise TypeError(f"f must be a path or a binary file object, got {type(f).__name__}")
    if format == "safetensors":
        save_safetensors(obj, f)
        return
    if not _use_new_zipfile_serialization:
        raise NotImplementedError("softgrad writes PyTorch's zip format only (the default of "
                                  "torch.save since PyTorch 1.6); it reads the older format")
    pickled, storages = pickle_for_torch(obj)
    name = archive_name(f)
    if _is_path(f):
        atomic_write(f, lambda fh: write_torch_zip(pickled, storages, fh, name))
    elif _seekable(f):
        write_torch_zip(pickled, storages, f, name)
    else:
        buf = io.BytesIO()
        write_torch_zip(pickled, storages, buf, name)
        f.write(buf.getvalue())


def _seekable(f: Any) -> bool:
    try:
        return bool(f.seekable()) and f.tell() >= 0
    except (AttributeError, OSError, ValueError):
        return False


def load(f: Any, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None,
         **pickle_load_args: Any) -> Any:
    """Load an object saved by :func:`save` or ``torch.save``, a safetensors file or an
    ``.npz`` archive, as ``torch.load`` does, without running code from the file.

    Args:
        f: a path or a binary file object.
        map_location: where tensors go: None (the device they were saved from), a device
            ('cpu', ``sg.device('cpu')``, 'cuda:0'), a dict remapping location tags
            (``{'cuda:0': 'cpu'}``) or a callable ``(storage, location) -> storage or None``.
        pickle_module: None or :mod:`pickle` (softgrad always uses its restricted unpickler).
        weights_only: True (default, as in PyTorch 2.6+): only tensors, containers, numbers,
            strings and the globals allowed by :func:`add_safe_globals`. False: also
            softgrad's classes, nn.Module subclasses and namedtuples of imported modules and
            NumPy arrays (see the module docstring for how this differs from PyTorch).
        mmap: map ``torch.save`` zip files copy-on-write instead of reading them (paths only);
            other formats are read into memory.
        pickle_load_args: ``encoding`` for Python 2 byte strings (default 'utf-8').
    Returns:
        The saved object; ``{name: Tensor}`` for safetensors files written by other tools
        and for ``.npz`` archives.
    Raises:
        WeightsUnpicklingError: the pickle names a global that is not allowed (the message
            names it and says how to allow it), or is malformed.
        CheckpointError: the file is not a checkpoint, or is truncated or corrupt.
        RuntimeError: a tensor's device is not available (use ``map_location='cpu'``).
    Example:
        >>> model.load_state_dict(sg.load("model.pt"))
        >>> ckpt = sg.load("ckpt.pt", map_location="cpu")
    """
    if weights_only is None:
        weights_only = True
    if pickle_module is not None:
        if weights_only:
            raise RuntimeError("Can not safely load weights when explicit pickle_module is "
                               "specified")
        if pickle_module is not pickle:
            raise TypeError("sg.load reads pickles with its restricted unpickler only; "
                            "pickle_module must be None or the pickle module")
    encoding = pickle_load_args.pop("encoding", "utf-8")
    pickle_load_args.pop("errors", None)
    if pickle_load_args:
        raise TypeError(f"load() got unexpected keyword arguments {sorted(pickle_load_args)}")
    if mmap and not _is_path(f):
        raise ValueError("f must be a file path in order to use the mmap argument")
    if _is_path(f):
        with open(os.fspath(f), "rb") as fh:
            return _load_from(fh, map_location, weights_only, bool(mmap), encoding)
    if not hasattr(f, "read"):
        raise TypeError(f"f must be a path or a binary file object, got {type(f).__name__}")
    if not _seekable(f) or f.tell() != 0:
        f = io.BytesIO(f.read())
    return _load_from(f, map_location, weights_only, False, encoding)


def _load_from(fh: Any, map_location: Any, weights_only: bool, use_mmap: bool,
               encoding: str) -> Any:
    head = fh.read(64)
    fh.seek(0)
    if head.startswith(b"PK\x03\x04"):
        if is_torch_zip(fh):
            return load_torch_zip(fh, map_location, weights_only, use_mmap, encoding)
        return load_npz(fh, _device_name(map_location, "an .npz archive"))
    if looks_legacy(head):
        return load_torch_legacy(fh.read(), map_location, weights_only, encoding)
    fh.seek(257)
    if fh.read(5) == b"ustar":
        raise CheckpointError("this is a tar archive (the torch.save format of PyTorch < 0.4), "
                              "which softgrad does not read")
    fh.seek(0)
    return load_safetensors(fh, _device_name(map_location, "a safetensors file"))


def _device_name(map_location: Any, what: str) -> str | None:
    if map_location is None or isinstance(map_location, str):
        return map_location
    if hasattr(map_location, "type") and hasattr(map_location, "index"):
        return str(map_location)
    raise RuntimeError(f"Loading {what} with a {type(map_location).__name__} map_location is "
                       "not supported. Use a device string or sg.device instead.")


def get_unsafe_globals_in_checkpoint(f: Any) -> list[str]:
    """The globals in a ``torch.save`` file that ``weights_only=True`` would refuse (those
    neither allowed by default nor by :func:`add_safe_globals`), found by reading the
    pickle's instructions without building anything.

    Example:
        >>> sg.serialization.get_unsafe_globals_in_checkpoint("model.pt")
        ['__main__.Net', 'softgrad.nn.modules.linear.Linear']
    """
    if _is_path(f):
        with open(os.fspath(f), "rb") as fh:
            return unsafe_globals(io.BytesIO(fh.read()))
    return unsafe_globals(io.BytesIO(f.read()))
