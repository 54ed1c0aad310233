"""``RemovableHandle``: what every ``register_*_hook`` returns (tensors and modules alike)."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self

_ids = itertools.count()


class RemovableHandle:
    """A registered hook: ``remove()`` unregisters it; as a context manager, it is removed on
    exit. ``id`` is its key in the hook table, in registration order.

    Example:
        >>> with x.register_hook(lambda g: g * 2):
        ...     y.backward()
    """

    def __init__(self, hooks: dict, hook: Callable, prepend: bool = False) -> None:
        self.hooks, self.id = hooks, next(_ids)
        if prepend:
            items = list(hooks.items())
            hooks.clear()
            hooks[self.id] = hook
            hooks.update(items)
        else:
            hooks[self.id] = hook

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
