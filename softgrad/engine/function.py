"""``Function``: one primitive = forward and its vector-Jacobian product, side by side.

A Function works on raw arrays. ``forward(*arrays, **params)`` returns one array;
``backward(g)`` returns one gradient per input, by position (``None`` where an input gets
none). Both run on arrays alone: ``fn = Mul(); fn.forward(a, b)``, then, with
``fn.needs_input_grad = (True, True)`` (which the engine sets when it records a node),
``fn.backward(g)``. On Tensors, ``Mul.apply(a, b)`` (that is, ``Tensor._apply``) runs forward
and records the node.

The same ``backward`` code also serves higher-order gradients: with ``create_graph=True``
the engine calls ``_backward_graph(g)`` on Tensors, with ``self.xp`` switched to a Tensor
namespace (``softgrad/tensor/graph_xp.py``) and ``self.saved`` mapped to the saved
inputs/output as Tensors; by default ``_backward_graph`` is ``backward`` itself, so what it
computes is recorded and can be differentiated again. A backward is therefore written once,
against what arrays and Tensors share: arithmetic operators, ``@``,
``.sum(axis=, keepdims=)``, ``.reshape``, ``.swapaxes``, ``.mT``, ``self.xp.<name>`` (the
Tensor namespace spells NumPy's names: ``xp.cosh``, ``xp.tril``, ``xp.linalg.inv``, ...) and
``self.call(OtherPrimitive, *inputs, **params)``, which reuses another primitive: on arrays
it runs that primitive's forward, on Tensors it records it.

Whether to record is decided in these two places only (``call`` and ``saved``, switched by
the engine). A primitive whose array backward is a fused kernel, updates buffers in place or
reads intermediates kept by forward overrides ``_backward_graph`` with the recorded
composition (e.g. ``Softmax``, ``Attention``), sharing the math through a helper where it
can; one that cannot be differentiated twice says why in its ``double_backward_error``.

Users subclass ``sg.autograd.Function`` (``softgrad/autograd/function.py``), which adds
PyTorch's static-method style on Tensors to this protocol.
"""
from __future__ import annotations

from operator import attrgetter
from typing import Any

from softgrad import backend
from softgrad.engine.node_names import node_name

# How many in-place changes tensors have seen in this process (each bump of a
# ``Tensor._version`` adds one). A node that saved values and is checked at the count it was
# recorded at cannot have seen one of its inputs change: ``check_versions`` has nothing to do.
inplace_changes = 0
_version_of = attrgetter("_version")


def count_inplace_change() -> None:
    """Note that some tensor's version went up (called by ``Tensor._version``'s setter)."""
    global inplace_changes
    inplace_changes += 1


class Function:
    """Base class of every differentiable primitive.

    Attributes set when the node is recorded: ``parents`` (input Tensors),
    ``needs_input_grad`` (bool per input); ``xp`` is the array module of the inputs' device.

    The other fields start as class defaults, so that making a node writes nothing: a
    primitive's instance holds only what its forward and the recording set (in its
    ``__dict__``, which ``release`` clears, or in the slots below).
    """

    __slots__ = ("__dict__", "_changes", "_next", "needs_input_grad", "parents")
    parents: tuple  # the input Tensors (set when recorded)
    needs_input_grad: tuple  # per input, whether it needs a gradient (set when recorded)
    _changes: int  # ``inplace_changes`` when the versions were noted
    _next: tuple  # ``_links()``, kept by ``release`` for ``next_functions``
    xp: Any = backend.np  # the array module of the inputs (the Tensor namespace in a
    #                       recorded backward)
    _saved: tuple = ()  # what forward saved (``save_for_backward``)
    _versions: tuple | None = None  # the inputs' versions, when forward saved values
    _out: Any = None  # a weak reference to the output Tensor, once recorded
    _out_version: int | None = None  # the output's version, when forward saved it
    _graph: bool = False  # running on Tensors, recorded (``create_graph``)
    _freed: bool = False  # ``release`` has run: the saved values are gone
    # why this primitive has no second derivative (``{name}``: its class name), or None
    double_backward_error: str | None = None

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run the primitive on Tensors and record it for backward: ``Mul.apply(a, b)``.

        The inputs' own class runs it (``Tensor._apply``: run forward, link, record).
        """
        run = getattr(inputs[0], "_apply", None) if inputs else None
        if run is None:
            raise TypeError(f"{cls.__name__}.apply expects Tensors as its inputs, got "
                            f"{[type(x).__name__ for x in inputs]}")
        return run(cls, *inputs, **params)

    # ------------------------------------------------------------------ interface
    def forward(self, *args: Any, **params: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, g: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def _backward_graph(self, g: Any) -> Any:
        """The backward on Tensors, recorded (``create_graph=True``): ``backward`` itself,
        unless a primitive's array backward cannot run on Tensors (see the module doc)."""
        if self.double_backward_error is not None:
            raise RuntimeError(self.double_backward_error.format(name=type(self).__name__))
        return self.backward(g)

    def call(self, fn_cls: type[Function], *inputs: Any, **params: Any) -> Any:
        """Another primitive inside this one's backward: ``self.call(Inv, a)``. On arrays it
        runs ``fn_cls``'s forward; in a recorded backward (Tensors) it records ``fn_cls``."""
        if self._graph:
            return self.xp.apply(fn_cls, *inputs, **params)
        # a forward on arrays reads only ``xp``: skip ``__init__``'s bookkeeping (the node is
        # never recorded), unless the primitive has an ``__init__`` of its own
        fn = _new(fn_cls) if fn_cls.__init__ is _plain_init else fn_cls()
        fn.xp = self.xp
        return fn.forward(*inputs, **params)

    # ------------------------------------------------------------------ saving
    def save_for_backward(self, *arrays: Any) -> None:
        """Keep inputs and/or the output for backward. When the node is recorded, the inputs'
        versions are noted, so that changing one in place before backward is an error."""
        self._saved = arrays
        self._versions, self._changes = (), -1  # noted when the node is recorded

    @property
    def saved(self) -> tuple:
        """What ``save_for_backward`` kept: arrays, or Tensors when building a graph."""
        if self._freed:
            raise RuntimeError(
                f"Trying to backward through {type(self).__name__} a second time: its saved "
                "values were freed by the first backward. Pass retain_graph=True to the first "
                "backward() if you need to backward twice."
            )
        if not self._graph:
            return self._saved
        return tuple(self._as_tensor(a) for a in self._saved)

    def _as_tensor(self, array: Any) -> Any:
        for p in self.parents:
            if p._data is array:
                return p
        out = self._out() if self._out is not None else None
        if out is not None and out._data is array:
            return out
        if array is None or not hasattr(array, "shape"):
            return array
        raise RuntimeError(
            f"double backward through {type(self).__name__} is not supported: it saves an "
            "intermediate value rather than an input or its output"
        )

    def note_versions(self, inputs: tuple, out: Any) -> None:
        """Remember the versions of ``inputs`` (and of the output Tensor ``out`` when forward
        saved it), for ``check_versions``."""
        self._changes = inplace_changes
        self._versions = tuple(map(_version_of, inputs))
        data = out._data
        for s in self._saved:
            if s is data:
                self._out_version = out._version
                break

    def check_versions(self) -> None:
        """Raise if an input that backward needs was modified in place after forward."""
        if self._versions is None or self._changes == inplace_changes:
            return  # nothing saved, or no tensor at all changed in place since
        for i, (p, v) in enumerate(zip(self.parents, self._versions)):
            if p._version != v:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an in-place operation: input {i} of {type(self).__name__} (shape "
                    f"{tuple(p.shape)}) is at version {p._version}; expected version {v}"
                )
        if self._out_version is not None:
            out = self._out() if self._out is not None else None
            if out is not None and out._version != self._out_version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an in-place operation: output 0 of {type(self).__name__} (shape "
                    f"{tuple(out.shape)}) is at version {out._version}; expected version "
                    f"{self._out_version}"
                )

    def release(self) -> None:
        """Free what forward saved, and the links to the inputs, so the intermediate
        tensors of a graph die with the backward that consumed it (unless retain_graph)."""
        if not self._freed:  # the graph's shape outlives its values (``next_functions``)
            self._next = self._links()
        self.__dict__.clear()  # forward's saved values and fields: back to the defaults
        self.parents = ()
        self._freed = True

    # ------------------------------------------------------------------ graph walking
    def name(self) -> str:
        """PyTorch's name for this node, e.g. ``"MulBackward0"`` (see ``node_names``)."""
        return node_name(self)

    @property
    def next_functions(self) -> tuple:
        """One ``(node, 0)`` per input, as PyTorch's ``grad_fn.next_functions``: the input's
        ``grad_fn``, an :class:`AccumulateGrad` for a leaf that requires grad, or ``None``.
        Still walkable after backward has freed the saved values."""
        links = self._next if self._freed else self._links()
        return tuple((n if n is None or isinstance(n, Function) else AccumulateGrad(n), 0)
                     for n in links or ())

    def _links(self) -> tuple:
        """Per input: its node, the tensor itself for a leaf that requires grad, or None."""
        links = []  # (a plain loop: a list comprehension's frame costs more on two inputs)
        for p in self.parents:
            links.append(p._ctx if p._ctx is not None else p if p.requires_grad else None)
        return tuple(links)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


_plain_init = Function.__init__
_new = object.__new__


class AccumulateGrad:
    """The node of a leaf tensor that requires grad: backward adds into ``variable.grad``.

    Two of them are equal when they stand for the same tensor.
    """

    __slots__ = ("variable",)
    next_functions: tuple = ()

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

    def __repr__(self) -> str:
        return "<AccumulateGrad>"
