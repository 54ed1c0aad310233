"""``softgrad.autograd.grad``: gradients of outputs with respect to chosen inputs."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from softgrad.engine import backward as engine
from softgrad.tensor.core import GRAPH_XP, Tensor, seed_for


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False) -> tuple[Tensor | None, ...]:
    """Return d(outputs)/d(inputs) as a tuple, without touching ``.grad``.

    Args:
        outputs: a Tensor or a sequence of Tensors.
        inputs: a Tensor or a sequence of Tensors that require grad.
        grad_outputs: the vectors of the vector-Jacobian product (default: ones for
            one-element outputs).
        retain_graph: keep the graph (default: ``create_graph``).
        create_graph: record the computation so the result can be differentiated again.
        allow_unused: return None for inputs the outputs do not depend on, instead of raising.
        materialize_grads: return zeros instead of None for unused inputs.
    Example:
        >>> (gx,) = sg.autograd.grad((x ** 3).sum(), x, create_graph=True)
        >>> (gxx,) = sg.autograd.grad(gx.sum(), x)     # 6 x
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        gos: Sequence[Any] = [None] * len(outs)
    elif isinstance(grad_outputs, Tensor):
        gos = [grad_outputs]
    else:
        gos = list(grad_outputs)
    if len(gos) != len(outs):
        raise RuntimeError(f"grad_outputs has {len(gos)} entries but there are {len(outs)} "
                           "outputs")
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"input {i} of autograd.grad does not require grad")
    for i, o in enumerate(outs):
        if not o.requires_grad:
            raise RuntimeError(f"output {i} of autograd.grad does not require grad and does not "
                               "have a grad_fn")
    seeds = [seed_for(o, g, create_graph) for o, g in zip(outs, gos)]
    if retain_graph is None:
        retain_graph = create_graph
    captured = engine.run_backward(outs, seeds, GRAPH_XP, retain_graph=retain_graph,
                                   create_graph=create_graph, capture=ins)
    result: list[Tensor | None] = []
    for i, t in enumerate(ins):
        g = captured.get(id(t))
        if g is None:
            if materialize_grads:
                result.append(Tensor._wrap(t._data * 0))
                continue
            if not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}, shape {tuple(t.shape)}) "
                    "appears to not have been used in the graph. Set allow_unused=True if "
                    "this is the desired behavior.")
            result.append(None)
        else:
            result.append(g if isinstance(g, Tensor) else Tensor._wrap(
                g.copy() if g.base is not None else g))
    return tuple(result)


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables: Any = None,
             inputs: Any = None) -> None:
    """Accumulate the gradients of ``tensors`` (weighted by ``grad_tensors``) into the
    ``.grad`` of the leaves, as ``sum(t * g).backward()`` would, in one pass.

    Args:
        tensors: a Tensor or a sequence of Tensors.
        grad_tensors: one gradient per tensor (None for one-element tensors).
        retain_graph: keep the graph (default: ``create_graph``).
        create_graph: record the backward pass for higher-order gradients.
        grad_variables: the old name of ``grad_tensors``.
        inputs: accumulate only into these tensors.
    """
    if grad_variables is not None:
        grad_tensors = grad_variables
    outs = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None:
        gs: Sequence[Any] = [None] * len(outs)
    elif isinstance(grad_tensors, Tensor):
        gs = [grad_tensors]
    else:
        gs = list(grad_tensors)
    if len(gs) != len(outs):
        raise RuntimeError(f"grad_tensors has {len(gs)} entries but there are {len(outs)} "
                           "tensors")
    if inputs is not None:
        total: Tensor | None = None
        for o, g in zip(outs, gs):
            term = (o * g).sum() if g is not None else o.sum()
            total = term if total is None else total + term
        cast(Tensor, total).backward(retain_graph=retain_graph, create_graph=create_graph,
                                     inputs=inputs)
        return
    for i, o in enumerate(outs):
        if not o.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
    seeds = [seed_for(o, g, create_graph) for o, g in zip(outs, gs)]
    if retain_graph is None:
        retain_graph = create_graph
    engine.run_backward(outs, seeds, GRAPH_XP, retain_graph=retain_graph,
                        create_graph=create_graph)
