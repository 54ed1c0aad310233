"""``Optimizer``: parameter groups, per-parameter state and PyTorch's state_dict layout.

Subclasses update the raw array ``p._data`` in place with ufuncs writing into preallocated
scratch buffers (:meth:`Optimizer._scratch`), so a step allocates nothing per parameter beyond
its state.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from softgrad import backend
from softgrad.autograd import grad_mode
from softgrad.optim._parallel import run_kernel
from softgrad.tensor import Tensor

np = backend.np


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class: holds ``param_groups`` (list of dicts) and ``state`` (param -> dict).

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts with a
            ``'params'`` entry and per-group hyperparameters.
        defaults: hyperparameters used by groups that do not set them.
    """

    #: per-parameter state entries that are scalars (kept as Python floats; PyTorch's 0-d
    #: tensors are converted on load)
    _scalar_state: tuple[str, ...] = ("step",)

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {params.dtype!r} Tensor")
        if defaults.get("differentiable"):
            raise NotImplementedError(
                f"{type(self).__name__}(differentiable=True) is not supported: softgrad's "
                "optimizer steps update parameters in place and record no graph (foreach, "
                "fused and capturable are accepted and ignored; they only choose kernels)")
        self.defaults = dict(defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._scratch_bufs: dict = {}
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets changes between runs; use a list")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets changes between runs; use a list")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        self.param_groups.append(group)
        self._init_group_state(group)

    def _init_group_state(self, group: dict[str, Any]) -> None:
        """Hook for optimizers that create state eagerly (Adagrad)."""

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset gradients of all optimized tensors to None (default) or zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        with grad_mode.no_grad():
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _params_to_step(self, group: dict[str, Any], *tensors: str,
                        **scalars: float) -> Iterator[tuple[Tensor, Any, dict[str, Any]]]:
        """``(param, grad array, state)`` for each parameter of ``group`` that has a gradient,
        ``step`` advanced by one and the parameter's version bumped (its data is about to
        change in place).

        State is created on first use: ``step`` 0.0, then the ``scalars``, then a zero tensor
        like the parameter for each name in ``tensors``.
        """
        for p in group["params"]:
            if p.grad is None:
                continue
            st = self.state[p]
            if not st:
                st["step"] = 0.0
                st.update(scalars)
                for name in tensors:
                    st[name] = self._new_state(p)
            st["step"] += 1
            p._version += 1
            yield p, p.grad._data, st

    def _run_kernel(self, kernel: Callable[..., None], items: list[tuple[tuple, tuple]],
                    n_scratch: int) -> None:
        """``kernel(*arrays, *scratch, *args)`` for each ``(arrays, args)`` of ``items``,
        threaded, with this optimizer's scratch buffers (``_parallel.run_kernel``)."""
        if items:
            run_kernel(kernel, items, self._scratch, n_scratch)

    def _scratch(self, like: Any, slot: int = 0, thread: int = 0) -> Any:
        """A reusable array shaped like ``like`` (grown on demand, shared across params;
        one set per worker thread of the multi-threaded update)."""
        key = (type(like), like.dtype, slot, thread)
        flat = self._scratch_bufs.get(key)
        if flat is None or flat.size < like.size:
            flat = backend.xp_of(like).empty(like.size, dtype=like.dtype)
            self._scratch_bufs[key] = flat
        return flat[: like.size].reshape(like.shape)

    @staticmethod
    def _grad_with_decay(g: Any, p: Any, weight_decay: float, maximize: bool, out: Any) -> Any:
        """``(-g if maximize else g) + weight_decay * p``, into ``out`` unless it is just g."""
        if weight_decay:
            np.multiply(p, weight_decay, out=out)
            (np.subtract if maximize else np.add)(out, g, out=out)
            return out
        if maximize:
            return np.negative(g, out=out)
        return g

    @staticmethod
    def _lerp_(a: Any, b: Any, weight: float, out: Any) -> None:
        """``a += weight * (b - a)`` in place, rounded like PyTorch's ``lerp_`` (which uses
        ``b - (b - a) * (1 - weight)`` for weights from 0.5 on); ``out`` is scratch."""
        np.subtract(b, a, out=out)
        if abs(weight) < 0.5:
            out *= weight
            a += out
        else:
            out *= 1 - weight
            np.subtract(b, out, out=a)

    @staticmethod
    def _adam_moments_(pd: Any, g: Any, m: Any, v: Any, lr: float, beta1: float, beta2: float,
                       wd: float, maximize: bool, decoupled: bool, s0: Any, s1: Any) -> Any:
        """The first half of an NAdam/RAdam update, in place: weight decay (decoupled:
        ``p *= 1 - lr*wd``, else ``g += wd*p``), ``m`` lerped towards ``g`` by ``1 - beta1``
        and ``v = beta2*v + (1 - beta2)*g*g``. Returns ``g`` (in ``s0`` where changed)."""
        if decoupled and wd:
            pd *= 1 - lr * wd
        g = Optimizer._grad_with_decay(g, pd, 0 if decoupled else wd, maximize, s0)
        Optimizer._lerp_(m, g, 1 - beta1, s1)
        v *= beta2
        np.multiply(g, g, out=s1)
        s1 *= 1 - beta2
        v += s1
        return g

    def _new_state(self, p: Tensor, fill: float = 0.0) -> Tensor:
        """A state tensor shaped like ``p`` (same dtype and device)."""
        arr = backend.xp_of(p._data).full(p._data.shape, fill, dtype=p._data.dtype)
        return Tensor._wrap(arr)

    # ------------------------------------------------------------------ state dict
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}``.

        Parameters are numbered in group order, as in PyTorch. Tensors share memory with the
        optimizer's state.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = dict(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a dict from :meth:`state_dict` (state is copied and cast to each param)."""
        state_dict = copy.deepcopy(_shallow_tensors(state_dict))
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)} vs {len(self.param_groups)})")
        for i, (g, sg_) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(sg_["params"]):
                raise ValueError(f"loaded state dict contains a parameter group {i} that doesn't "
                                 f"match the size of optimizer's group ({len(sg_['params'])} vs "
                                 f"{len(g['params'])} parameters)")
        id_map: dict[int, Any] = {}
        for g, sg_ in zip(self.param_groups, saved_groups):
            id_map.update(zip(sg_["params"], g["params"]))
        self.state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            key = int(key) if isinstance(key, str) and key.isdigit() else key
            if key not in id_map:
                continue
            p = id_map[key]
            self.state[p] = {k: _cast_state(k, v, p, self._scalar_state)
                             for k, v in value.items()}
        new_groups = []
        for g, sg_ in zip(self.param_groups, saved_groups):
            ng = dict(sg_)
            ng["params"] = g["params"]
            if "param_names" in g and "param_names" not in ng:
                ng["param_names"] = g["param_names"]
            new_groups.append(ng)
        self.param_groups = new_groups

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._scratch_bufs = {}

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k not in ("params", "param_names")):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _shallow_tensors(obj: Any) -> Any:
    """Replace foreign tensors (PyTorch) by NumPy arrays so the dict can be deep-copied."""
    if isinstance(obj, dict):
        return {k: _shallow_tensors(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_shallow_tensors(v) for v in obj]
    if not isinstance(obj, Tensor) and hasattr(obj, "detach") and hasattr(obj, "numpy"):
        return obj.detach().cpu().numpy()
    return obj


def _cast_state(key: str, value: Any, p: Tensor, scalars: tuple[str, ...] = ("step",)) -> Any:
    """State value as stored by the optimizer: scalars (``step``...) floats, arrays like ``p``."""
    if key in scalars:
        if value is None:
            return None
        return float(value.item() if hasattr(value, "item") else value)
    arr = value._data if isinstance(value, Tensor) else value
    if not hasattr(arr, "dtype") or not hasattr(arr, "shape"):
        return value
    if arr.dtype.kind == "f" and p._data.dtype.kind == "f":
        arr = arr.astype(p._data.dtype, copy=False)
    arr = backend.to_device(arr, p.device)
    return Tensor._wrap(arr)


def _check_nonneg(name: str, value: Any) -> None:
    """PyTorch's check and message: ``Invalid learning rate: -1``, ``Invalid eps value: ...``."""
    if not 0.0 <= value:
        if name == "learning rate":
            raise ValueError(f"Invalid learning rate: {value}")
        raise ValueError(f"Invalid {name} value: {value}")


def _check_betas(betas: Any) -> tuple[float, float]:
    """``0 <= beta < 1`` for both coefficients, with PyTorch's message."""
    betas = tuple(betas)
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas}")
    for i, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b}")
    return betas
