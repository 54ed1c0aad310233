"""TensorBoard logging, as ``torch.utils.tensorboard``: ``SummaryWriter`` writes event files
that TensorBoard reads (scalars, groups of scalars, histograms, text).

It needs the optional ``tensorboard`` package (``pip install tensorboard``, or softgrad's
``tensorboard`` extra): its event-file writer and protocol buffers do the writing. Without
it, importing this module raises an ImportError that says so.
"""
from __future__ import annotations

try:
    import tensorboard
except ImportError as exc:  # pragma: no cover - depends on the machine
    raise ImportError("softgrad.utils.tensorboard needs the tensorboard package: install it "
                      "with `pip install tensorboard` or `pip install softgrad[tensorboard]`"
                      ) from exc

from softgrad.utils.tensorboard.writer import SummaryWriter

__all__ = ["SummaryWriter"]
