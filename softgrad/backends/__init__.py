"""``softgrad.backends``: PyTorch's backend switches (``cudnn``, ``cuda``, ``mps``), so
``torch.backends.cudnn.benchmark = True`` and ``import torch.backends.cudnn as cudnn`` work
after swapping the import. They are recorded, not acted on (see ``flags``)."""
from softgrad.backends import cuda, cudnn, flags, mps

__all__ = ["cuda", "cudnn", "flags", "mps"]
