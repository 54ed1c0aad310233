"""``summary(model, input_size)``: a table of layers, output shapes and parameter counts."""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable, Sequence
from typing import Any

from softgrad import backend, dtypes
from softgrad.autograd.grad_mode import no_grad
from softgrad.tensor import Tensor

np = backend.np

__all__ = ["summary", "ModelSummary", "LayerInfo"]


@dataclass
class LayerInfo:
    """One row: a layer's dotted name, type, depth, output shape(s) and parameter counts
    (``num_params`` counts the layer's own and its sub-layers' parameters)."""

    name: str
    type: str
    depth: int
    output_shape: Any
    num_params: int
    trainable_params: int


@dataclass
class ModelSummary:
    """What :func:`summary` returns; ``str()`` gives the printed table."""

    layers: list[LayerInfo]
    input_shapes: list[tuple]
    total_params: int
    trainable_params: int
    param_bytes: int
    depth: int = 3
    text: str = field(default="", repr=False)

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        return self.text


def _count(params: Any) -> tuple[int, int, int]:
    total = trainable = nbytes = 0
    seen: set[int] = set()
    for p in params:
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        nbytes += p.numel() * p.element_size()
        if p.requires_grad:
            trainable += p.numel()
    return total, trainable, nbytes


def _shapes(out: Any) -> Any:
    if isinstance(out, Tensor):
        return list(out.shape)
    if isinstance(out, (tuple, list)):
        return [_shapes(o) for o in out]
    return "--"


def _inputs(input_size: Any, input_data: Any, dtype: Any) -> tuple:
    if input_data is not None:
        items = input_data if isinstance(input_data, (tuple, list)) else (input_data,)
        return tuple(x if isinstance(x, Tensor) else Tensor(x) for x in items)
    if input_size is None:
        raise ValueError("summary needs input_size (e.g. (1, 3, 32, 32)) or input_data")
    sizes = [input_size] if all(isinstance(s, int) for s in input_size) else list(input_size)
    npd = dtypes.to_np(dtype) or backend.DEFAULT_DTYPE
    rng = np.random.default_rng(0)  # a local generator: the global RNG state is untouched
    out = []
    for s in sizes:
        if not isinstance(s, (tuple, list)) or not all(isinstance(n, int) and n >= 0
                                                       for n in s):
            raise ValueError(f"input_size must be a shape (tuple of ints) or a list of shapes, "
                             f"got {input_size!r}")
        arr = rng.standard_normal(tuple(s)) if np.dtype(npd).kind == "f" else \
            np.zeros(tuple(s))
        out.append(Tensor._wrap(arr.astype(npd)))
    return tuple(out)


def summary(model: Any, input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
            input_data: Any = None, depth: int = 3, dtype: Any = None,
            verbose: bool = True, print_fn: Callable[[str], Any] = print) -> ModelSummary:
    """Run one forward pass and tabulate every layer called, with its output shape and
    parameter count.

    The forward runs in eval mode under ``no_grad`` (BatchNorm statistics and the global
    random generator are left untouched) on random input of ``input_size`` (batch dim
    included) or on ``input_data``.

    Args:
        model: the Module.
        input_size: one shape such as ``(1, 3, 32, 32)``, or a list of shapes for several inputs.
        input_data: Tensor(s) to run instead of random input (e.g. integer token ids).
        depth: deepest nesting level listed (the root's children are depth 1).
        dtype: dtype of the random input (default float32).
        verbose: print the table with ``print_fn``.
    Returns:
        A ModelSummary (``.layers``, ``.total_params``, ``.trainable_params``; ``str()`` is
        the table).
    Example:
        >>> sg.utils.summary(model, (1, 784))
    """
    args = _inputs(input_size, input_data, dtype)
    first = next(iter(model.parameters()), None)
    if input_data is None and first is not None and first.device != "cpu":
        args = tuple(a.to(first.device) for a in args)  # random input on the model's device
    rows: list[LayerInfo] = []
    handles = []
    for name, mod in model.named_modules():
        d = 0 if not name else name.count(".") + 1

        def pre(m: Any, a: Any, name: str = name, d: int = d) -> None:
            total, trainable, _ = _count(m.parameters())
            rows.append(LayerInfo(name or type(m).__name__, type(m).__name__, d, "--", total,
                                  trainable))
            stack.append(len(rows) - 1)

        def post(m: Any, a: Any, out: Any) -> None:
            rows[stack.pop()].output_shape = _shapes(out)

        handles.append(mod.register_forward_pre_hook(pre))
        handles.append(mod.register_forward_hook(post))
    stack: list[int] = []
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            model(*args)
    finally:
        for m, mode in modes:  # each layer's own mode
            m.training = mode
        for h in handles:
            h.remove()
    total, trainable, nbytes = _count(model.parameters())
    shown = [r for r in rows if 1 <= r.depth <= depth] or rows
    res = ModelSummary(shown, [tuple(a.shape) for a in args], total, trainable, nbytes, depth)
    res.text = _table(res, type(model).__name__)
    if verbose:
        print_fn(res.text)
    return res


def _table(s: ModelSummary, root: str) -> str:
    cells = [("Layer (type)", "Output Shape", "Param #")]
    for r in s.layers:
        label = "  " * max(r.depth - 1, 0) + f"{r.name.rsplit('.', 1)[-1]} ({r.type})"
        cells.append((label, str(r.output_shape), f"{r.num_params:,}"))
    widths = [max(len(c[i]) for c in cells) for i in range(3)]
    line = "=" * (sum(widths) + 4)
    fmt = lambda c: f"{c[0]:<{widths[0]}}  {c[1]:<{widths[1]}}  {c[2]:>{widths[2]}}"
    body = [fmt(c) for c in cells[1:]]
    mb = s.param_bytes / 1e6
    return "\n".join([f"{root} summary (input {', '.join(str(list(x)) for x in s.input_shapes)})",
                      line, fmt(cells[0]), line, *body, line,
                      f"Total params: {s.total_params:,}",
                      f"Trainable params: {s.trainable_params:,}",
                      f"Non-trainable params: {s.non_trainable_params:,}",
                      f"Params size (MB): {mb:.2f}", line])
