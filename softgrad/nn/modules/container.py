"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``,
``ParameterDict``. Children are keyed like PyTorch's ('0', '1', ... or the given names)."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast

from softgrad.nn.modules.module import Module
from softgrad.nn.parameter import Parameter
from softgrad.tensor import Tensor


def _check_module(m: Any) -> Module:
    if not isinstance(m, Module):
        raise TypeError(f"{type(m).__name__} is not a Module subclass")
    return m


def _norm_index(idx: int, n: int, kind: str) -> int:
    if not isinstance(idx, int):
        raise TypeError(f"{kind} indices must be integers or slices, not {type(idx).__name__}")
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for {kind} of length {n}")
    return idx % n


class _KeyedModules(Module):
    """Base of containers that hold named children in ``self._items`` (insertion order)."""

    def __init__(self) -> None:
        super().__init__()
        self._items: dict[str, Module] = {}

    def _local_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._items.items()
        yield from super()._local_children()

    def add_module(self, name: str, module: Module | None) -> None:
        self._check_name(name, "module")
        if module is not None:
            _check_module(module)
        self._items[name] = module  # type: ignore[assignment]  # None: a placeholder, as in PyTorch

    register_module = add_module

    def __getattr__(self, name: str) -> Any:
        items = self.__dict__.get("_items")
        if items is not None and name in items:
            return items[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __len__(self) -> int:
        return len(self._items)

    def __dir__(self) -> list:
        return list(super().__dir__()) + list(self._items)


class Sequential(_KeyedModules):
    """Chain of modules applied in order; children are named '0', '1', ... unless an
    ``OrderedDict`` of names is given.

    Example:
        >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> net[0], net[-1], len(net), net[1:]
    """

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], (OrderedDict, dict)):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), _check_module(m))

    def forward(self, input: Any) -> Any:
        for m in self._items.values():
            input = m(input)
        return input

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._items.items())[idx]))
        keys = list(self._items)
        return self._items[keys[_norm_index(idx, len(keys), "Sequential")]]

    def __setitem__(self, idx: int, module: Module) -> None:
        keys = list(self._items)
        self._items[keys[_norm_index(idx, len(keys), "Sequential")]] = _check_module(module)

    def __delitem__(self, idx: int | slice) -> None:
        keys = list(self._items)
        for k in (keys[idx] if isinstance(idx, slice)
                  else [keys[_norm_index(idx, len(keys), "Sequential")]]):
            del self._items[k]
        # keep PyTorch's numbering after a deletion
        self._items = {str(i): m for i, m in enumerate(self._items.values())}

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._items)), _check_module(module))
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        mods = list(self._items.values())
        n = len(mods)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        mods.insert(index % (n + 1) if index < 0 else index, _check_module(module))
        self._items = {str(i): m for i, m in enumerate(mods)}
        return self

    def pop(self, idx: int = -1) -> Module:
        m = self[idx]
        del self[idx]
        return m


class ModuleList(Module):
    """A list of modules, registered as children '0', '1', ...

    Example:
        >>> self.layers = nn.ModuleList(nn.Linear(8, 8) for _ in range(3))
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        self._list: list[Module] = []
        if modules is not None:
            self.extend(modules)

    def __repr__(self) -> str:
        """Runs of identical children print once, as ``(0-2): 3 x Linear(...)``."""
        reprs = [repr(m) for m in self._list]
        if not reprs:
            return "ModuleList()"
        lines, start = [], 0
        for i in range(1, len(reprs) + 1):
            if i < len(reprs) and reprs[i] == reprs[start]:
                continue
            text = reprs[start].replace("\n", "\n  ")
            head = f"({start})" if i - start == 1 else f"({start}-{i - 1}): {i - start} x"
            lines.append(f"{head}: {text}" if i - start == 1 else f"{head} {text}")
            start = i
        return "ModuleList(\n  " + "\n  ".join(lines) + "\n)"

    def _local_children(self) -> Iterator[tuple[str, Module]]:
        for i, m in enumerate(self._list):
            yield str(i), m
        yield from super()._local_children()

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return type(self)(self._list[idx])
        return self._list[_norm_index(idx, len(self._list), "ModuleList")]

    def __setitem__(self, idx: int, module: Module) -> None:
        self._list[_norm_index(idx, len(self._list), "ModuleList")] = _check_module(module)

    def __delitem__(self, idx: int | slice) -> None:
        if not isinstance(idx, slice):
            idx = _norm_index(idx, len(self._list), "ModuleList")
        del self._list[idx]

    def __len__(self) -> int:
        return len(self._list)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._list)

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return type(self)(list(self._list) + list(other))

    def append(self, module: Module) -> ModuleList:
        self._list.append(_check_module(module))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError("ModuleList.extend should be called with an iterable, but got "
                            + type(modules).__name__)
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        self._list.insert(index, _check_module(module))

    def pop(self, idx: int = -1) -> Module:
        return self._list.pop(idx)

    def add_module(self, name: str, module: Module | None) -> None:
        if name.isdigit() and int(name) == len(self._list):
            self.append(cast(Module, module))  # append refuses None
        else:
            super().add_module(name, module)


class ModuleDict(_KeyedModules):
    """A dict of named child modules (insertion ordered).

    Example:
        >>> heads = nn.ModuleDict({"cls": nn.Linear(8, 3), "reg": nn.Linear(8, 1)})
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._items[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module(module))

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def keys(self) -> Iterable[str]:
        return self._items.keys()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._items.items()

    def values(self) -> Iterable[Module]:
        return self._items.values()

    def pop(self, key: str) -> Module:
        return self._items.pop(key)

    def clear(self) -> None:
        self._items.clear()

    def update(self, modules: Mapping[str, Module] | Iterable) -> None:
        pairs: Iterable[Any] = modules.items() if isinstance(modules, (Mapping, ModuleDict)) \
            else modules
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError("ModuleDict update sequence elements should be (key, module) "
                                 f"pairs, got one of length {len(pair)}")
            self[pair[0]] = pair[1]


def _as_parameter(value: Any) -> Any:
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


class ParameterList(Module):
    """A list of parameters, registered as '0', '1', ... (plain tensors are wrapped)."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._plist: list[Any] = []
        for v in values or ():
            self.append(v)

    def _local_params(self) -> Iterator[tuple[str, Parameter]]:
        for i, p in enumerate(self._plist):
            if isinstance(p, Parameter):
                yield str(i), p
        yield from super()._local_params()

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return type(self)(self._plist[idx])
        return self._plist[_norm_index(idx, len(self._plist), "ParameterList")]

    def __setitem__(self, idx: int, value: Any) -> None:
        self._plist[_norm_index(idx, len(self._plist), "ParameterList")] = _as_parameter(value)

    def __len__(self) -> int:
        return len(self._plist)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._plist)

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        self._plist.append(_as_parameter(value))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"  ({i}): {_param_line(p, p.dtype)}" for i, p in enumerate(self._plist))


class ParameterDict(Module):
    """A dict of named parameters (plain tensors are wrapped)."""

    def __init__(self, parameters: Mapping[str, Any] | Iterable | None = None) -> None:
        super().__init__()
        self._pdict: dict[str, Any] = {}
        if parameters is not None:
            self.update(parameters)

    def _local_params(self) -> Iterator[tuple[str, Parameter]]:
        for k, p in self._pdict.items():
            if isinstance(p, Parameter):
                yield k, p
        yield from super()._local_params()

    def __getitem__(self, key: str) -> Any:
        return self._pdict[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._check_name(key, "parameter")
        self._pdict[key] = _as_parameter(value)

    def __delitem__(self, key: str) -> None:
        del self._pdict[key]

    def __len__(self) -> int:
        return len(self._pdict)

    def __iter__(self) -> Iterator[str]:
        return iter(self._pdict)

    def __contains__(self, key: str) -> bool:
        return key in self._pdict

    def keys(self) -> Iterable[str]:
        return self._pdict.keys()

    def items(self) -> Iterable[tuple[str, Any]]:
        return self._pdict.items()

    def values(self) -> Iterable[Any]:
        return self._pdict.values()

    def pop(self, key: str) -> Any:
        return self._pdict.pop(key)

    def update(self, parameters: Mapping[str, Any] | Iterable) -> None:
        pairs: Iterable[tuple[str, Any]]
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = parameters.items()
        elif isinstance(parameters, Mapping):  # a plain dict: sorted by key, as PyTorch does
            pairs = sorted(parameters.items())
        else:  # (key, value) pairs
            pairs = cast(Iterable[tuple[str, Any]], parameters)
        for k, v in pairs:
            self[k] = v

    def extra_repr(self) -> str:
        return "\n".join(f"  ({k}): {_param_line(p, p.type())}" for k, p in self._pdict.items())


def _param_line(p: Any, kind: Any) -> str:
    """PyTorch's one-line summary of a container entry: ``[dtype of size 2x3]``."""
    what = "Parameter" if isinstance(p, Parameter) else "Tensor"
    size = "x".join(str(s) for s in p.shape)
    device = "" if p.device == "cpu" else f" ({p.device})"
    return f"{what} containing: [{kind} of size {size}{device}]"
