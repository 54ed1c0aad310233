"""softgrad: a small, fast deep-learning framework on NumPy with PyTorch's API.

Example:
    >>> import softgrad as sg
    >>> x = sg.randn(4, 3, requires_grad=True)
    >>> (x.softmax(dim=1)[:, 0].sum()).backward()
"""
import math as _math

from softgrad import dtypes as _dtypes
from softgrad import graph_namespace as _graph_namespace
from softgrad.autograd import engine as _engine
from softgrad.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from softgrad.autograd.grad_mode import inference_mode
from softgrad.backend import get_num_threads, set_num_threads
from softgrad.creation import (Generator, arange, as_tensor, default_generator, empty, empty_like,
                               eye, from_numpy, full, full_like, linspace, ones, ones_like, rand,
                               rand_like, randint, randint_like, randn, randn_like, randperm,
                               tensor, zeros, zeros_like)
from softgrad.devices import device, get_default_device, set_default_device
from softgrad.dtype_info import finfo, iinfo
from softgrad.dtypes import (DType, bfloat16, bool, can_cast, double, float, float16, float32,
                             float64, get_default_dtype, half, int, int8, int16, int32, int64,
                             is_complex, is_floating_point, long, promote_types,
                             set_default_dtype, short, uint8)
from softgrad import functions as _functions
from softgrad.functions import MinMaxResult, cat, stack, where
from softgrad.size import Size
from softgrad.tensor_print import set_printoptions
# the function forms defined in softgrad/functions.py (not the names it imports)
globals().update({_k: _v for _k, _v in vars(_functions).items()
                  if not _k.startswith("_") and _k not in _functions.INTERNAL
                  and getattr(_v, "__module__", None) == _functions.__name__})
from softgrad.tensor import Tensor
from softgrad.tensor_types import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor,
                                   HalfTensor, IntTensor, LongTensor, ShortTensor)
from softgrad import linalg, random, special  # noqa: E402
from softgrad.random import get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from softgrad.sampling import bernoulli, multinomial, normal, poisson
from softgrad.functions_extra import *  # noqa: E402,F401,F403  (see its __all__)
from softgrad.functions_more import *  # noqa: E402,F401,F403  (see its __all__)
from softgrad.tensor_compat import (channels_last, channels_last_3d,  # noqa: E402
                                    contiguous_format, preserve_format, strided)

from softgrad import autograd  # noqa: E402  (after Tensor so autograd.functional can use it)
from softgrad import distributed  # noqa: E402  (mpi4py is imported only when used)
from softgrad import nn  # noqa: E402
from softgrad import optim  # noqa: E402
from softgrad import datasets, utils  # noqa: E402
from softgrad.serialization import load, save  # noqa: E402
from softgrad.interop import from_dlpack  # noqa: E402
from softgrad import onnx  # noqa: E402  (the onnx package itself is imported lazily)
from softgrad import jit, sparse, testing  # noqa: E402
from softgrad.sparse import sparse_coo_tensor, spmm  # noqa: E402
from softgrad import distributions  # noqa: E402
from softgrad import accelerator, amp, backends, compiler, cuda  # noqa: E402  (device plumbing)
from softgrad.amp import autocast, is_autocast_enabled  # noqa: E402
from softgrad.backends.flags import (  # noqa: E402
    are_deterministic_algorithms_enabled, get_float32_matmul_precision,
    is_deterministic_algorithms_warn_only_enabled, set_float32_matmul_precision,
    use_deterministic_algorithms)
from softgrad.compiler import compile  # noqa: E402

_engine.TENSOR_HOOKS["namespace"] = _graph_namespace
dtype = DType
inf, nan, pi, e, newaxis = _math.inf, _math.nan, _math.pi, _math.e, None
__version__ = "0.1.0"

