"""``Module``: the base class of layers, with PyTorch's API.

Parameters, buffers and submodules are found by walking the instance's attributes when
asked (no snapshot at assignment), so a parameter added to a child later is still seen.
Dotted attribute paths double as ``state_dict`` keys, in PyTorch's order: a module's own
parameters, then its persistent buffers, then each child in attribute order.
"""
from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from softgrad.autograd import grad_mode
from softgrad.engine.hooks import RemovableHandle
from softgrad.nn.modules import backward_hooks
from softgrad.nn.modules.module_state import StateMixin, _IncompatibleKeys  # noqa: F401
from softgrad.nn.parameter import Buffer, Parameter
from softgrad.tensor import Tensor

_NO_HOOKS: Mapping = MappingProxyType({})
_NO_KWARG_HOOKS: frozenset = frozenset()


class Module(StateMixin):
    """Base class for all layers; subclass it and define ``forward``.

    Assign Parameters, Modules and (via :meth:`register_buffer`) buffers as attributes; they
    are discovered by walking attributes, including lists/tuples of Modules or Parameters.

    Example:
        >>> class MLP(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 2)
        ...     def forward(self, x):
        ...         return self.fc2(F.relu(self.fc1(x)))
    """

    training: bool = True
    _forward_hooks: Mapping = _NO_HOOKS
    _forward_pre_hooks: Mapping = _NO_HOOKS
    _backward_hooks: Mapping = _NO_HOOKS
    _backward_pre_hooks: Mapping = _NO_HOOKS
    _hooks_with_kwargs: frozenset | set = _NO_KWARG_HOOKS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments "
                            f"{args or ''}{sorted(kwargs) or ''}")
        self.training = True
        self._buffer_names: dict[str, bool] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        """As PyTorch: a parameter slot takes a Parameter or None, a child slot a Module or
        None (anything else would silently drop it from ``parameters()``/``state_dict``)."""
        cur = self.__dict__.get(name)
        if cur is not None and value is not None:
            if isinstance(cur, Parameter) and not isinstance(value, Parameter):
                raise TypeError(f"cannot assign '{_type_name(value)}' as parameter '{name}' "
                                "(softgrad.nn.Parameter or None expected)")
            if isinstance(cur, Module) and not isinstance(value, Module):
                raise TypeError(f"cannot assign '{_type_name(value)}' as child module "
                                f"'{name}' (softgrad.nn.Module or None expected)")
        object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        """PyTorch's order: forward pre-hooks, forward, forward hooks; with backward hooks
        the tensor inputs and outputs pass through the hook nodes."""
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in self._hooks_with_kwargs:
                res = hook(self, args, kwargs)
                if res is not None:
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        state = None
        if (self._backward_hooks or self._backward_pre_hooks) and grad_mode.is_grad_enabled():
            state, args = backward_hooks.hook_inputs(self, args)
        out = self.forward(*args, **kwargs)
        for key, hook in list(self._forward_hooks.items()):
            if key in self._hooks_with_kwargs:
                res = hook(self, args, kwargs, out)
            else:
                res = hook(self, args, out)
            if res is not None:
                out = res
        if state is not None:
            out = backward_hooks.hook_outputs(state, out)
        return out

    def _add_hook(self, table: str, hook: Callable, prepend: bool = False,
                  with_kwargs: bool = False) -> RemovableHandle:
        hooks = getattr(self, table)
        if hooks is _NO_HOOKS:
            hooks = {}
            object.__setattr__(self, table, hooks)
        handle = RemovableHandle(hooks, hook, prepend)
        if with_kwargs:
            if self._hooks_with_kwargs is _NO_KWARG_HOOKS:
                object.__setattr__(self, "_hooks_with_kwargs", set())
            cast(set, self._hooks_with_kwargs).add(handle.id)
        return handle

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args)`` runs before forward; a non-None result replaces args.
        With ``with_kwargs=True``: ``hook(module, args, kwargs)`` returning
        ``(args, kwargs)`` or None."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """``hook(module, args, output)`` runs after forward; non-None replaces output.
        With ``with_kwargs=True``: ``hook(module, args, kwargs, output)``."""
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False
                                        ) -> RemovableHandle:
        """``hook(module, grad_output)`` runs when the gradients with respect to the module's
        outputs are known; a non-None result replaces ``grad_output``."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False
                                    ) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to
        the module's tensor inputs are known; a non-None result replaces ``grad_input``."""
        return self._add_hook("_backward_hooks", hook, prepend)

    register_backward_hook = register_full_backward_hook

    # ------------------------------------------------------------------ direct members
    def _local_params(self) -> Iterator[tuple[str, Parameter]]:
        """This module's own parameters (not its children's), in attribute order."""
        for name, v in self.__dict__.items():
            if isinstance(v, Parameter):
                yield name, v
            elif (type(v) is list or type(v) is tuple) and _is_member_seq(name, v, Parameter):
                for i, item in enumerate(v):
                    if isinstance(item, Parameter):
                        yield f"{name}.{i}", item

    def _local_children(self) -> Iterator[tuple[str, Module]]:
        """This module's direct submodules, in attribute order."""
        for name, v in self.__dict__.items():
            if isinstance(v, Module):
                yield name, v
            elif (type(v) is list or type(v) is tuple) and _is_member_seq(name, v, Module):
                for i, item in enumerate(v):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def _local_buffers(self) -> Iterator[tuple[str, Tensor, bool]]:
        """This module's own buffers as (name, tensor, persistent); None buffers skipped."""
        reg = self.__dict__.get("_buffer_names") or _NO_HOOKS
        for name, v in self.__dict__.items():
            if name in reg:
                if isinstance(v, Tensor):
                    yield name, v, reg[name]
            elif isinstance(v, Buffer):
                yield name, v, v.persistent

    @property
    def _parameters(self) -> OrderedDict[str, Parameter]:
        return OrderedDict(self._local_params())

    @property
    def _buffers(self) -> OrderedDict[str, Tensor]:
        return OrderedDict((n, b) for n, b, _ in self._local_buffers())

    @property
    def _modules(self) -> OrderedDict[str, Module]:
        return OrderedDict(self._local_children())

    # ------------------------------------------------------------------ registration
    def _check_name(self, name: Any, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind} name can't be empty or contain \".\", got {name!r}")

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not a parameter (e.g. BatchNorm's running mean).

        Args:
            name: attribute name.
            tensor: the buffer (or None: registered but absent from state_dict).
            persistent: whether it is part of ``state_dict``. Default: True.
        """
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (softgrad Tensor or None required)")
        reg = self.__dict__.get("_buffer_names")
        if reg is None:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        if name in self.__dict__ and name not in reg:
            raise KeyError(f"attribute '{name}' already exists")
        reg[name] = bool(persistent)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, which is skipped by ``parameters()``)."""
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (softgrad.nn.Parameter or None required)")
        object.__setattr__(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module as attribute ``name``."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        object.__setattr__(self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path ``target`` ('' is self)."""
        if target == "":
            return self
        mods = dict(self.named_modules(remove_duplicate=False))
        if target not in mods:
            raise AttributeError(f"{type(self).__name__} has no submodule `{target}`")
        return mods[target]

    def get_parameter(self, target: str) -> Parameter:
        params = dict(self.named_parameters(remove_duplicate=False))
        if target not in params:
            raise AttributeError(f"{type(self).__name__} has no parameter `{target}`")
        return params[target]

    def get_buffer(self, target: str) -> Tensor:
        bufs = dict(self.named_buffers(remove_duplicate=False))
        if target not in bufs:
            raise AttributeError(f"{type(self).__name__} has no buffer `{target}`")
        return bufs[target]

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for self and every submodule, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._local_children():
            yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                       remove_duplicate)

    def modules(self, remove_duplicate: bool = True) -> Iterator[Module]:
        """Self and every submodule (depth first; each once unless ``remove_duplicate=False``)."""
        seen: set[int] = set()
        stack: list[Module] = [self]
        while stack:
            m = stack.pop()
            if remove_duplicate:
                if id(m) in seen:
                    continue
                seen.add(id(m))
            yield m
            kids = [c for _, c in m._local_children()]
            stack.extend(reversed(kids))

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, m in self._local_children():
            if id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, local: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Any]]:
        mods = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                if recurse else [(prefix, self)])
        seen: set[int] = set()
        for mprefix, m in mods:
            for item in getattr(m, local)():
                name, value = item[0], item[1]
                if remove_duplicate:
                    if id(value) in seen:
                        continue
                    seen.add(id(value))
                yield (f"{mprefix}.{name}" if mprefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; shared parameters are listed once."""
        return self._named_members("_local_params", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter once (shared ones deduplicated), in ``named_parameters`` order."""
        seen: set[int] = set()
        for m in self.modules() if recurse else (self,):
            for _, p in m._local_params():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_local_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (only Dropout/BatchNorm-like layers read it); returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> Module:
        """``train(False)``. Does not stop gradient recording: use ``sg.no_grad()``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset parameter gradients to None (default) or to zeros."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad._data[...] = 0

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        """Extra information for ``repr`` (override in subclasses)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): " + _indent(repr(m), 2) for name, m in self._local_children()]
        if not children and len(lines) <= 1:
            return f"{self._get_name()}({''.join(lines)})"
        body = "\n  ".join(lines + children)
        return f"{self._get_name()}(\n  {body}\n)"


def _is_member_seq(name: str, v: Any, kind: type) -> bool:
    """True for a public, non-empty list/tuple attribute whose first item is a ``kind``."""
    return len(v) > 0 and not name.startswith("_") and isinstance(v[0], kind)


def _type_name(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"softgrad.{value.dtype.name} Tensor"
    return type(value).__name__


def _indent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    return "\n".join(lines[:1] + [" " * spaces + line for line in lines[1:]])

