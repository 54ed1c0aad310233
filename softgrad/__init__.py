"""softgrad: a small, fast deep-learning framework on NumPy with PyTorch's API.

Example:
    >>> import softgrad as sg
    >>> x = sg.randn(4, 3, requires_grad=True)
    >>> (x.softmax(dim=1)[:, 0].sum()).backward()
"""
from softgrad import dtypes as _dtypes
from softgrad import graph_namespace as _graph_namespace
from softgrad.autograd import engine as _engine
from softgrad.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from softgrad.autograd.grad_mode import inference_mode
from softgrad.backend import device
from softgrad.backend import cuda_available as _cuda_available
from softgrad.backend import (get_num_threads, get_rng_state, manual_seed, set_num_threads,
                              set_rng_state)
from softgrad.creation import (Generator, arange, as_tensor, empty, empty_like, eye, from_numpy,
                               full, full_like, linspace, ones, ones_like, rand, rand_like, randint,
                               randn, randn_like, randperm, tensor, zeros, zeros_like)
from softgrad.dtypes import (DType, bool, double, float, float16, float32, float64, half, int,
                             int8, int16, int32, int64, long, short, uint8)
from softgrad import functions as _functions
from softgrad.functions import MinMaxResult, cat, stack, where
# the function forms defined in softgrad/functions.py (not the names it imports)
globals().update({_k: _v for _k, _v in vars(_functions).items()
                  if not _k.startswith("_") and _k not in _functions.INTERNAL
                  and getattr(_v, "__module__", None) == _functions.__name__})
from softgrad.tensor import Tensor
from softgrad.functions_extra import *  # noqa: E402,F401,F403  (see its __all__)
from softgrad.functions_more import *  # noqa: E402,F401,F403  (see its __all__)
from softgrad.dtype_info import finfo, get_default_dtype, iinfo, set_default_dtype  # noqa: E402
from softgrad.tensor_compat import (channels_last, channels_last_3d,  # noqa: E402
                                    contiguous_format, preserve_format, strided)

from softgrad import autograd  # noqa: E402  (after Tensor so autograd.functional can use it)
from softgrad import distributed  # noqa: E402  (mpi4py is imported only when used)
from softgrad import nn  # noqa: E402
from softgrad import optim  # noqa: E402
from softgrad import linalg, special  # noqa: E402
from softgrad import datasets, utils  # noqa: E402
from softgrad.serialization import load, save  # noqa: E402
from softgrad.interop import from_dlpack  # noqa: E402
from softgrad import onnx  # noqa: E402  (the onnx package itself is imported lazily)

_engine.TENSOR_HOOKS["namespace"] = _graph_namespace
dtype = DType
__version__ = "0.1.0"


class _Cuda:
    """``sg.cuda.is_available()``, ``device_count()`` and ``synchronize()``, as in PyTorch."""

    @staticmethod
    def is_available() -> bool:
        return _cuda_available()

    @staticmethod
    def device_count() -> int:
        from softgrad import backend

        return backend._cupy.cuda.runtime.getDeviceCount() if _cuda_available() else 0

    @staticmethod
    def synchronize() -> None:
        """Wait until the GPU has finished the queued work (for timing)."""
        from softgrad import backend

        if _cuda_available():
            backend._cupy.cuda.Device().synchronize()


cuda = _Cuda()
