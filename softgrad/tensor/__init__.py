"""The Tensor layer: ``Tensor`` (``core.py``) and its methods, one file per concept."""
from softgrad.tensor.core import Tensor

__all__ = ["Tensor"]
