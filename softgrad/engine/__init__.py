"""The autograd engine, below the ops: the primitive protocol (``function.py``), the
backward pass (``backward.py``), grad modes (``grad_mode.py``), node names and hook handles.
It works on arrays and never imports ``Tensor``. PyTorch's ``torch.autograd`` API, built on
it above the Tensor layer, is ``softgrad.autograd``."""
