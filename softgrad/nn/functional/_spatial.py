"""Input checks shared by the spatial functionals (convolution and pooling)."""
from __future__ import annotations

from softgrad.tensor import Tensor


def batched(name: str, input: Tensor, nd: int,
            floating: bool = False) -> tuple[Tensor, bool]:
    """(input with a batch axis, whether one was added) for an ``nd``-D spatial op.

    Accepts (C, *spatial) or (N, C, *spatial); raises TypeError for a non-Tensor and
    RuntimeError for a wrong rank (or, with ``floating``, a non-floating dtype).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): input must be a Tensor, got {type(input).__name__}")
    if floating and input._data.dtype.kind != "f":
        raise RuntimeError(f"{name}(): expected a floating point input, got {input.dtype}")
    if input.dim() == nd + 1:
        return input.unsqueeze(0), True
    if input.dim() != nd + 2:
        lay = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
        raise RuntimeError(f"{name}(): expected {nd + 1}D (unbatched) or {nd + 2}D (batched) "
                           f"input {lay}, but got input of size: {list(input.shape)}")
    return input, False
