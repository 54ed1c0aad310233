"""``Tensor``: an array plus the autograd bookkeeping. The one place graph nodes are made.

The methods are grouped by concept in mixins whose files mirror ``ops/`` (``arithmetic.py``,
``reduce.py``, ``shape.py``, ...); every differentiable method routes through
:meth:`Tensor._apply`, which runs a primitive, links views, and records the node.
"""
from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any
from weakref import ref as _weakref

from softgrad import backend, devices, dtypes
from softgrad.engine import backward as engine
from softgrad.engine import grad_mode
from softgrad.engine.function import Function
from softgrad.engine.hooks import RemovableHandle
from softgrad.size import Size
from softgrad.tensor.args import norm_dim
from softgrad.tensor.arithmetic import ArithmeticMixin
from softgrad.tensor.arrays import array_from, check_same_device, is_device_array, legacy_array
from softgrad.tensor.compare import CompareMixin
from softgrad.tensor.compat import CompatMixin
from softgrad.tensor.convert import ConvertMixin
from softgrad.tensor.cumulative import CumulativeMixin
from softgrad.tensor.elementwise import ElementwiseMixin
from softgrad.tensor.gather import GatherMixin
from softgrad.tensor.graph_xp import TensorNamespace
from softgrad.tensor.indexing import IndexingMixin
from softgrad.tensor.inplace import InplaceMixin
from softgrad.tensor.linalg import LinalgMixin
from softgrad.tensor.matmul import MatmulMixin
from softgrad.tensor.random import RandomMixin
from softgrad.tensor.reduce import ReduceMixin
from softgrad.tensor.shape import ShapeMixin
from softgrad.tensor.sort import SortMixin
from softgrad.tensor.special import SpecialMixin
from softgrad.tensor.split import SplitMixin

np = backend.np
_ndarray = np.ndarray
_np_scalar = np.generic
_data_of = attrgetter("_data")  # C-level getters, for map() over a primitive's inputs
_requires_grad_of = attrgetter("requires_grad")
_trace_hook: Callable | None = None  # called as hook(fn_cls, inputs, params, out) when set


class Tensor(ArithmeticMixin, CompareMixin, ElementwiseMixin, SpecialMixin, ReduceMixin,
             CumulativeMixin, SortMixin, ShapeMixin, SplitMixin, IndexingMixin, GatherMixin,
             MatmulMixin, LinalgMixin, ConvertMixin, InplaceMixin, RandomMixin, CompatMixin):
    """An n-dimensional array with reverse-mode autograd.

    Attributes:
        data: this tensor's values as a tensor cut from the graph (PyTorch's ``.data``):
            same memory, ``requires_grad=False``, and in-place changes through it are not
            checked by autograd. Assigning ``t.data = other`` makes ``t`` use ``other``'s
            memory. Inside softgrad the raw array is ``_data``.
        grad: accumulated gradient (a Tensor) or None.
        requires_grad: whether operations on this tensor are recorded.
    """

    __slots__ = ()  # the slots are TensorBase's
    __array_priority__ = 1000  # make NumPy defer to Tensor's reflected operators

    def __init__(self, *args: Any, requires_grad: bool = False) -> None:
        """PyTorch's ``torch.Tensor(...)``: ``Tensor(data)`` copies numbers into a tensor of
        the default float dtype; ``Tensor(2, 3)`` or ``Tensor(size)`` makes a zero-filled
        tensor of that shape; ``Tensor()`` an empty one. Use ``sg.tensor`` to keep dtypes."""
        self._init(legacy_array(args), requires_grad)

    def _init(self, data: Any, requires_grad: bool) -> None:
        """Fill the slots of a new leaf holding array ``data`` (for subclasses too)."""
        self._data = data
        self.grad: Tensor | None = None
        self.requires_grad = builtins.bool(requires_grad)
        self._ctx: Function | None = None
        self._vc: list | None = None  # [version, shared with another tensor]
        self._used = False  # an input of a recorded op (in-place must not rebase it)
        self._retains_grad = False
        self._grad_hooks = self._post_acc_hooks = None  # dicts once a hook is added
        if requires_grad and not dtypes.is_differentiable(self._data.dtype):
            raise RuntimeError(
                f"only floating point tensors can require gradients, got dtype {self.dtype}")

    @staticmethod
    def _leaf(data: Any, requires_grad: bool = False) -> Tensor:
        """A leaf over array ``data`` as it is (dtype kept, no copy)."""
        t = Tensor.__new__(Tensor)
        t._init(data, requires_grad)
        return t

    @staticmethod
    def _wrap(data: Any, requires_grad: bool = False) -> Tensor:
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
        t._grad_hooks = None  # set, so that backward reads it fast (an unset slot is slow)
        return t

    @staticmethod
    def _apply(fn_cls: type[Function], *inputs: Tensor, **params: Any) -> Tensor:
        """Run primitive ``fn_cls`` on ``inputs``: run its forward on the arrays, link a view
        to the input it views, and record the node when a gradient is needed."""
        # run
        fn = fn_cls()
        if backend._cupy is not None:
            check_same_device(inputs)
            fn.xp = backend.xp_of(inputs[0]._data)
        needs: tuple[bool, ...]  # per input, whether it requires grad
        n = len(inputs)  # the common arities are spelled out (no argument lists built)
        if n == 1:
            (a,) = inputs
            out = fn.forward(a._data, **params)
            needs = (a.requires_grad,)
        elif n == 2:
            a, b = inputs
            out = fn.forward(a._data, b._data, **params)
            needs = (a.requires_grad, b.requires_grad)
        else:
            out = fn.forward(*map(_data_of, inputs), **params)
            needs = tuple(map(_requires_grad_of, inputs))
        if out.__class__ is not _ndarray and isinstance(out, _np_scalar):
            out = _scalar_output(fn, out)  # NumPy returns scalars from 0-d results
        if not grad_mode.state.enabled:
            needs = ()
        need = True in needs
        res = Tensor._wrap(out, need)
        # link: a view of an input shares its version counter (for the in-place checks)
        base = out.base
        for t in inputs:
            d = t._data
            if out is d or (base is not None and (base is d or base is d.base)):
                res._vc = t._counter()
                break
        # record
        if need:
            fn.parents = inputs
            fn.needs_input_grad = needs
            fn._out = _weakref(res)
            res._ctx = fn
            for t in inputs:
                t._used = True
            if fn._versions is not None:  # forward saved values: backward checks them
                fn.note_versions(inputs, res)
        if _trace_hook is not None:  # export tracing (softgrad.onnx); one check when off
            _trace_hook(fn_cls, inputs, params, res)
        return res

    # ------------------------------------------------------------------ properties
    @property
    def data(self) -> Tensor:
        """The values, detached and unversioned: writes through it bypass autograd's checks."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        if isinstance(value, Tensor):
            value = value._data
        elif not (hasattr(value, "__array_interface__") or is_device_array(value)):
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

    def size(self, dim: int | None = None) -> Size | int:
        """The shape (a ``Size``), or the size of one dim."""
        if dim is None:
            return Size(self._data.shape)
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

    def detach(self) -> Tensor:
        """A tensor sharing data (and the in-place version counter), cut from the graph."""
        t = Tensor._wrap(self._data)
        t._vc = self._counter()
        return t

    def detach_(self) -> Tensor:
        self._ctx = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
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

    @property
    def retains_grad(self) -> bool:
        """Whether this non-leaf tensor keeps ``.grad`` (``retain_grad()`` was called)."""
        return builtins.bool(self._retains_grad)

    # ------------------------------------------------------------------ autograd
    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` whenever the gradient with respect to this tensor is computed;
        a returned Tensor replaces the gradient. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        hooks = getattr(self, "_grad_hooks", None)
        if hooks is None:
            hooks = self._grad_hooks = {}
        return RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]
                                           ) -> RemovableHandle:
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
        return RemovableHandle(hooks, hook)

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Sequence[Tensor] | None = None) -> None:
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
        seed = seed_for(self, gradient, create_graph)
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            for i, t in enumerate(inputs):
                if not t.requires_grad:
                    raise RuntimeError(f"input {i} of autograd.grad does not require grad")
        engine.run_backward([self], [seed], GRAPH_XP, inputs=inputs, create_graph=create_graph,
                            retain_graph=create_graph if retain_graph is None else retain_graph)


# ---------------------------------------------------------------------- helpers
GRAPH_XP = TensorNamespace(Tensor)  # the namespace a recorded backward computes with


def set_trace_hook(hook: Callable | None) -> Callable | None:
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


def seed_for(t: Tensor, gradient: Any, create_graph: bool) -> Any:
    """The gradient that backward starts from at ``t``: ``gradient`` checked against ``t``'s
    shape (ones for a one-element ``t``), an array, or a Tensor when ``create_graph``."""
    if gradient is None:
        if t._data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; backward() was "
                f"called on a tensor of shape {tuple(t.shape)}: pass gradient= of that shape")
        seed = backend.xp_of(t._data).ones(t._data.shape, t._data.dtype)
        return Tensor._wrap(seed) if create_graph else seed
    g = gradient if isinstance(gradient, Tensor) else Tensor(array_from(gradient, None))
    if tuple(g.shape) != tuple(t.shape):
        raise RuntimeError(
            f"gradient has shape {tuple(g.shape)} but the tensor has shape {tuple(t.shape)}")
    if create_graph:
        return g
    return g._data.astype(t._data.dtype, copy=False)
