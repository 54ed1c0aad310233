"""``Tensor``: an array plus the autograd bookkeeping. The one place graph nodes are made.

Methods are grouped by concept in mixins (``tensor_math``, ``tensor_shape``); every
differentiable method routes through :meth:`Tensor._apply`.
"""
from __future__ import annotations

import builtins
from typing import Any, Sequence

from softgrad import backend, devices, dtypes
from softgrad.autograd import engine, grad_mode
from softgrad.autograd.function import Function
from softgrad.size import Size
from softgrad.tensor_compat import CompatMixin
from softgrad.tensor_convert import ConvertMixin
from softgrad.tensor_elementwise import ElementwiseMixin
from softgrad.tensor_indexing import IndexingMixin
from softgrad.tensor_inplace import InplaceMixin
from softgrad.tensor_linalg import LinalgMixin
from softgrad.tensor_matrix import MatrixMixin
from softgrad.tensor_math import MathMixin
from softgrad.tensor_random import RandomMixin
from softgrad.tensor_reduce import ReduceMixin
from softgrad.tensor_select import SelectMixin
from softgrad.tensor_shape import ShapeMixin
from softgrad.tensor_stats import StatsMixin

np = backend.np
_ndarray = np.ndarray
_np_scalar = np.generic
_NUMBER = (builtins.int, builtins.float, builtins.bool)


class Tensor(MathMixin, InplaceMixin, ReduceMixin, ShapeMixin, ConvertMixin, SelectMixin,
             LinalgMixin, ElementwiseMixin, MatrixMixin, StatsMixin, IndexingMixin, CompatMixin,
             RandomMixin):
    """An n-dimensional array with reverse-mode autograd.

    Attributes:
        data: this tensor's values as a tensor cut from the graph (PyTorch's ``.data``):
            same memory, ``requires_grad=False``, and in-place changes through it are not
            checked by autograd. Assigning ``t.data = other`` makes ``t`` use ``other``'s
            memory. Inside softgrad the raw array is ``_data``.
        grad: accumulated gradient (a Tensor) or None.
        requires_grad: whether operations on this tensor are recorded.
    """

    __slots__ = ("_data", "grad", "requires_grad", "_ctx", "_vc", "_used", "_retains_grad",
                 "_post_acc_hooks", "_grad_hooks", "__weakref__")  # hooks: unset until added
    __array_priority__ = 1000  # make NumPy defer to Tensor's reflected operators

    def __init__(self, *args: Any, requires_grad: bool = False) -> None:
        """PyTorch's ``torch.Tensor(...)``: ``Tensor(data)`` copies numbers into a tensor of
        the default float dtype; ``Tensor(2, 3)`` or ``Tensor(size)`` makes a zero-filled
        tensor of that shape; ``Tensor()`` an empty one. Use ``sg.tensor`` to keep dtypes."""
        self._init(_legacy_array(args), requires_grad)

    def _init(self, data: Any, requires_grad: bool) -> None:
        """Fill the slots of a new leaf holding array ``data`` (for subclasses too)."""
        self._data = data
        self.grad: Tensor | None = None
        self.requires_grad = builtins.bool(requires_grad)
        self._ctx: Function | None = None
        self._vc: list | None = None  # [version, shared with another tensor]
        self._used = False  # an input of a recorded op (in-place must not rebase it)
        self._retains_grad = False
        if requires_grad and not dtypes.is_differentiable(self._data.dtype):
            raise RuntimeError(
                f"only floating point tensors can require gradients, got dtype {self.dtype}")

    @staticmethod
    def _leaf(data: Any, requires_grad: bool = False) -> "Tensor":
        """A leaf over array ``data`` as it is (dtype kept, no copy)."""
        t = Tensor.__new__(Tensor)
        t._init(data, requires_grad)
        return t

    @staticmethod
    def _wrap(data: Any, requires_grad: bool = False) -> "Tensor":
        """Wrap an array without copies (a NumPy scalar becomes a 0-d array)."""
        if data.__class__ is not _ndarray and isinstance(data, _np_scalar):
            data = np.asarray(data)  # ufuncs on 0-d arrays return scalars, which are immutable
        t = Tensor.__new__(Tensor)
        t._data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = None
        t._vc = None
        t._used = False
        t._retains_grad = False
        return t

    @staticmethod
    def _apply(fn_cls: type, *inputs: "Tensor", **params: Any) -> "Tensor":
        """Run primitive ``fn_cls`` on ``inputs``; record it when a gradient is needed."""
        fn = fn_cls()
        fn.parents = inputs
        first = inputs[0]._data
        if type(first) is not np.ndarray and backend._cupy is not None:
            fn.xp = backend.xp_of(first)
            _check_same_device(inputs)
        elif backend._cupy is not None:
            _check_same_device(inputs)
        out = fn.forward(*[t._data for t in inputs], **params)
        if out.__class__ is not _ndarray and isinstance(out, _np_scalar):
            out = _scalar_output(fn, out)  # NumPy returns scalars from 0-d results
        need = grad_mode.state.enabled and any(t.requires_grad for t in inputs)
        res = Tensor._wrap(out, need)
        base = out.base
        for t in inputs:  # a view of an input shares its version counter (in-place checks)
            d = t._data
            if out is d or (base is not None and (base is d or base is d.base)):
                res._vc = t._counter()
                break
        if need:
            for t in inputs:
                t._used = True
            fn.needs_input_grad = tuple(t.requires_grad for t in inputs)
            fn._out = _weakref(res)
            res._ctx = fn
            if fn._saved and any(s is out for s in fn._saved):
                fn._out_version = res._version  # backward reads the output: watch it too
        if _trace_hook is not None:  # export tracing (softgrad.onnx); one check when off
            _trace_hook(fn_cls, inputs, params, res)
        return res

    # ------------------------------------------------------------------ version counter
    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has seen (shared by views)."""
        vc = self._vc
        return 0 if vc is None else vc[0]

    @_version.setter
    def _version(self, value: int) -> None:
        if self._vc is None:
            self._vc = [value, False]
        else:
            self._vc[0] = value

    def _counter(self) -> list:
        """The version counter cell, to share with a view (marks the memory as shared)."""
        if self._vc is None:
            self._vc = [0, True]
        self._vc[1] = True
        return self._vc

    # ------------------------------------------------------------------ properties
    @property
    def data(self) -> "Tensor":
        """The values, detached and unversioned: writes through it bypass autograd's checks."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        if isinstance(value, Tensor):
            value = value._data
        elif not (hasattr(value, "__array_interface__") or _is_device_array(value)):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> dtypes.DType:
        return dtypes.from_np(self._data.dtype)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self) -> devices.device:
        """Where the data lives: ``device(type='cpu')`` or ``device(type='cuda', index=k)``;
        compares equal to 'cpu' / 'cuda'."""
        return devices.of_array(self._data)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        return self._ctx

    @property
    def is_cuda(self) -> bool:
        return backend.device_of(self._data) == "cuda"

    @property
    def is_cpu(self) -> bool:
        return backend.device_of(self._data) == "cpu"

    is_xpu = is_mps = is_meta = property(lambda self: False, doc="False: softgrad has no "
                                         "such devices")

    def get_device(self) -> int:
        """The GPU index of a CUDA tensor; -1 on the CPU."""
        dev = self.device
        return -1 if dev.index is None else dev.index

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None) -> Any:
        """The shape (a ``Size``), or the size of one dim."""
        if dim is None:
            return Size(self._data.shape)
        from softgrad.tensor_math import norm_dim

        return self._data.shape[norm_dim(dim, self._data.ndim)]

    def numel(self) -> int:
        return int(self._data.size)

    def nelement(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return dtypes.is_float(self._data.dtype)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __hash__(self) -> int:
        return id(self)

    def detach(self) -> "Tensor":
        """A tensor sharing data (and the in-place version counter), cut from the graph."""
        t = Tensor._wrap(self._data)
        t._vc = self._counter()
        return t

    def detach_(self) -> "Tensor":
        self._ctx = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self._ctx is not None and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf variables")
        if requires_grad and not dtypes.is_differentiable(self._data.dtype):
            raise RuntimeError(
                f"only floating point tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = builtins.bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        self._retains_grad = self._ctx is not None

    # ------------------------------------------------------------------ autograd
    def register_hook(self, hook: Any) -> Any:
        """Call ``hook(grad)`` whenever the gradient with respect to this tensor is computed;
        a returned Tensor replaces the gradient. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        hooks = getattr(self, "_grad_hooks", None)
        if hooks is None:
            hooks = self._grad_hooks = {}
        return engine.HookHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """Call ``hook(self)`` each time backward has accumulated a gradient into ``self.grad``.

        Only for leaf tensors; the hook sees the updated ``.grad`` and returns None.
        Returns a handle whose ``remove()`` unregisters the hook.
        """
        if self._ctx is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        hooks = getattr(self, "_post_acc_hooks", None)
        if hooks is None:
            hooks = self._post_acc_hooks = {}
        return engine.HookHandle(hooks, hook)

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Sequence["Tensor"] | None = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Args:
            gradient: the vector in the vector-Jacobian product; required unless self has
                one element.
            retain_graph: keep the graph for another backward (default: ``create_graph``).
            create_graph: record the backward pass so gradients can be differentiated again.
            inputs: accumulate only into these tensors.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn")
        seed = _seed_for(self, gradient, create_graph)
        if retain_graph is None:
            retain_graph = create_graph
        if inputs is not None:
            from softgrad.autograd.api import grad as _grad

            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            gs = _grad([self], inputs, [seed], retain_graph=retain_graph,
                       create_graph=create_graph, allow_unused=True)
            for t, g in zip(inputs, gs):
                if g is not None:
                    t.grad = g if t.grad is None else t.grad + g
                    if t._ctx is None:
                        engine.run_post_accumulate_hooks(t)
            engine.run_final_callbacks()
            return
        engine.run_backward([self], [seed], retain_graph, create_graph)

# ---------------------------------------------------------------------- helpers
from weakref import ref as _weakref  # noqa: E402

_trace_hook: Any = None  # called as hook(fn_cls, inputs, params, out) by _apply when set


def set_trace_hook(hook: Any) -> Any:
    """Install ``hook(fn_cls, inputs, params, out)`` to see every primitive run by
    ``Tensor._apply`` (None removes it); returns the previous hook."""
    global _trace_hook
    previous, _trace_hook = _trace_hook, hook
    Tensor._tracing = hook is not None  # comparisons then run as primitives, to be recorded
    return previous


def _scalar_output(fn: Function, out: Any) -> Any:
    """A NumPy scalar result as a 0-d array, also where ``fn`` saved it for backward."""
    arr = np.asarray(out)
    if fn._saved:
        fn._saved = tuple(arr if s is out else s for s in fn._saved)
    return arr


def _is_device_array(data: Any) -> bool:
    return backend._cupy is not None and isinstance(data, backend._cupy.ndarray)


def _check_same_device(inputs: Sequence[Tensor]) -> None:
    dev = backend.device_of(inputs[0]._data)
    for t in inputs[1:]:
        if backend.device_of(t._data) != dev:
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two "
                f"devices, {inputs[0].device} and {t.device}!")


def _array_from(data: Any, dtype: Any, device: str = "cpu") -> Any:
    """Array from Python data with softgrad's dtype rules (floats -> float32)."""
    xp = backend.xp_for_device(device) if device != "cpu" else np
    if _is_device_array(data):  # a GPU array stays on the GPU (callers move it if asked)
        xp = backend.xp_of(data)
    np_dtype = dtypes.to_np(dtype)
    if isinstance(data, Tensor):
        arr = data._data
    elif np_dtype is not None:
        arr = xp.asarray(_unwrap_nested(data), dtype=np_dtype)
    else:
        is_array = hasattr(data, "__array_interface__") or _is_device_array(data)
        try:
            arr = xp.asarray(_unwrap_nested(data))
        except ValueError as exc:
            raise ValueError(_ragged_message(data) or str(exc)) from None
        if not is_array and arr.dtype == np.float64:
            arr = arr.astype(backend.DEFAULT_DTYPE)
        elif arr.dtype.kind == "i" and arr.dtype != np.int64 and not is_array:
            arr = arr.astype(np.int64)
    if arr.dtype.kind not in "fiub" and not dtypes.is_float(arr.dtype):
        raise TypeError(f"cannot make a tensor from data of dtype {arr.dtype}")
    if np_dtype is not None and arr.dtype != np_dtype:
        arr = arr.astype(np_dtype)
    dtypes.from_np(arr.dtype)  # raises a clear error for unsupported dtypes
    return arr


def _legacy_array(args: tuple) -> Any:
    """The array behind ``Tensor(*args)``: data in the default dtype, or zeros of a shape."""
    dtype = backend.DEFAULT_DTYPE
    if not args:
        return np.zeros((0,), dtype=dtype)
    if all(isinstance(a, builtins.int) and not isinstance(a, builtins.bool) for a in args):
        if any(a < 0 for a in args):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(args)}: "
                               f"{list(args)}")
        return np.zeros(args, dtype=dtype)
    if len(args) > 1:
        raise TypeError(f"Tensor() takes data or sizes, got {len(args)} arguments of types "
                        f"{[type(a).__name__ for a in args]}")
    data = args[0]
    if isinstance(data, Size):
        return np.zeros(tuple(data), dtype=dtype)
    if isinstance(data, Tensor):
        arr = data._data
        return arr if arr.dtype == dtype else arr.astype(dtype)
    return _array_from(data, dtype)


def _ragged_message(data: Any) -> str | None:
    """PyTorch's message for nested lists whose rows differ in length, if that is the case."""
    level, dim = [data], 0
    while level and all(isinstance(x, (list, tuple)) for x in level):
        lengths = [len(x) for x in level]
        if len(set(lengths)) > 1:
            return (f"expected sequence of length {lengths[0]} at dim {dim} "
                    f"(got {next(n for n in lengths if n != lengths[0])})")
        level, dim = [y for x in level for y in x], dim + 1
    if level and any(isinstance(x, (list, tuple)) for x in level):
        return f"expected a number at dim {dim} but found a sequence"
    return None


def _unwrap_nested(data: Any) -> Any:
    if isinstance(data, (list, tuple)) and data and any(isinstance(d, Tensor) for d in data):
        return [_unwrap_nested(d._data if isinstance(d, Tensor) else d) for d in data]
    return data


def _seed_for(t: Tensor, gradient: Any, create_graph: bool) -> Any:
    if gradient is None:
        if t._data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; backward() was "
                f"called on a tensor of shape {tuple(t.shape)}: pass gradient= of that shape")
        seed = backend.xp_of(t._data).ones_like(t._data)
        return Tensor._wrap(seed) if create_graph else seed
    g = gradient if isinstance(gradient, Tensor) else Tensor(_array_from(gradient, None))
    if tuple(g.shape) != tuple(t.shape):
        raise RuntimeError(
            f"gradient has shape {tuple(g.shape)} but the tensor has shape {tuple(t.shape)}")
    if create_graph:
        return g
    return g._data.astype(t._data.dtype, copy=False)


engine.TENSOR_HOOKS["wrap"] = Tensor._wrap
engine.TENSOR_HOOKS["xp_of"] = backend.xp_of
