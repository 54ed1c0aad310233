"""``Size``: a tensor's shape, a tuple of ints that prints and combines like ``torch.Size``."""
from __future__ import annotations

from typing import Any, SupportsIndex


class Size(tuple):
    """A shape: ``x.shape``. Equal to the plain tuple of the same ints; slicing, ``+`` and
    ``*`` give a Size again.

    Example:
        >>> sg.zeros(2, 3).shape
        softgrad.Size([2, 3])
    """

    __slots__ = ()

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds."""
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, index: Any) -> Any:
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    def __add__(self, other: Any) -> Size:
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other: Any) -> Size:
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n: SupportsIndex) -> Size:
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"softgrad.Size({list(self)})"

    __str__ = __repr__

    def __reduce__(self) -> tuple:
        return (Size, (tuple(self),))
