"""Tensor factories: ``tensor``, ``zeros``, ``randn``, ... (float32 unless told otherwise)."""
from __future__ import annotations

from typing import Any

from softgrad import backend, devices, dtypes
from softgrad.tensor.args import size_arg as _shape_arg
from softgrad.tensor.arrays import array_from
from softgrad.tensor.arrays import place, tensor_array
from softgrad.tensor.core import Tensor

np = backend.np


def _finish(arr: Any, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    return Tensor._leaf(place(arr, dtype, device), requires_grad)


def tensor(data: Any, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``.

    Python floats become float32, ints int64, bools bool; NumPy arrays keep their dtype.
    Example:
        >>> sg.tensor([[1.0, 2.0]], requires_grad=True)
    """
    return Tensor._leaf(tensor_array(data, dtype, device), requires_grad)


as_tensor = tensor


def from_numpy(array: Any) -> Tensor:
    """A tensor sharing memory with a NumPy array (dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor._wrap(array_from(array, array.dtype))


def _float_dtype(dtype: Any) -> Any:
    return backend.DEFAULT_DTYPE if dtype is None else dtypes.to_np(dtype)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(_shape_arg(size), _float_dtype(dtype)), None, device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(_shape_arg(size), _float_dtype(dtype)), None, device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(np.empty(_shape_arg(size), _float_dtype(dtype)), None, device, requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = (dtypes.bool if isinstance(fill_value, bool) else dtypes.int64
                 if isinstance(fill_value, int) else backend.DEFAULT_DTYPE)
    return _finish(np.full(_shape_arg((size,)), fill_value, dtypes.to_np(dtype)), None, device,
                   requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype)), None, device, requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values in [start, end) with ``step``; int64 for integer arguments, else float32."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        is_int = all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end, step))
        dtype = np.int64 if is_int else backend.DEFAULT_DTYPE
    return _finish(np.arange(start, end, step).astype(dtypes.to_np(dtype)), None, device,
                   requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    return _finish(np.linspace(start, end, steps, dtype=_float_dtype(dtype)), None, device,
                   requires_grad)


def rand(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) from the global generator (see ``manual_seed``)."""
    g = _gen(generator)
    return _finish(g.random(_shape_arg(size), dtype=np.float64).astype(_float_dtype(dtype)), None,
                   device, requires_grad)


def randn(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal from the global generator (see ``manual_seed``)."""
    g = _gen(generator)
    return _finish(g.standard_normal(_shape_arg(size)).astype(_float_dtype(dtype)), None,
                   device, requires_grad)


def randint(low: int, high: Any = None, size: Any = None, generator: Any = None,
            dtype: Any = None, device: Any = None) -> Tensor:
    """Integers in [low, high) (int64)."""
    if size is None:
        low, high, size = 0, low, high
    if high <= low:
        raise RuntimeError(f"randint: expects low < high, but got low={low} >= high={high}")
    g = _gen(generator)
    arr = g.integers(low, high, size=_shape_arg((size,)))
    arr = arr.astype(dtypes.to_np(dtype or dtypes.int64))
    return _finish(arr, None, device, False)


def randperm(n: int, generator: Any = None, dtype: Any = None, device: Any = None) -> Tensor:
    return _finish(_gen(generator).permutation(n).astype(dtypes.to_np(dtype or dtypes.int64)),
                   None, device, False)


def _like(fn: Any, t: Tensor, dtype: Any, requires_grad: bool, device: Any, **kw: Any) -> Tensor:
    return fn(t.shape, dtype=dtype if dtype is not None else t.dtype,
              device=device if device is not None else t.device,
              requires_grad=requires_grad, **kw)


def zeros_like(input: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return _like(zeros, input, dtype, requires_grad, device)


def ones_like(input: Tensor, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return _like(ones, input, dtype, requires_grad, device)


def empty_like(input: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return _like(empty, input, dtype, requires_grad, device)


def full_like(input: Tensor, fill_value: Any, dtype: Any = None,
              device: Any = None, requires_grad: bool = False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype if dtype is not None else input.dtype,
                device=device if device is not None else input.device,
                requires_grad=requires_grad)


def rand_like(input: Tensor, *, generator: Any = None, dtype: Any = None,
              device: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(rand, input, dtype, requires_grad, device, generator=generator)


def randn_like(input: Tensor, *, generator: Any = None, dtype: Any = None,
               device: Any = None, requires_grad: bool = False) -> Tensor:
    return _like(randn, input, dtype, requires_grad, device, generator=generator)


def randint_like(input: Tensor, low: int = 0, high: Any = None, *,
                 generator: Any = None, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
    """Integers in [low, high) shaped like ``input`` (its dtype unless told otherwise);
    ``randint_like(x, high)`` draws from [0, high)."""
    if high is None:
        low, high = 0, low
    out = randint(low, high, input.shape, generator=generator,
                  dtype=dtype if dtype is not None else input.dtype,
                  device=device if device is not None else input.device)
    return out.requires_grad_(requires_grad) if requires_grad else out


class Generator:
    """A random-number stream for ``generator=`` arguments, seeded like PyTorch's.

    A fresh ``Generator()`` starts from a fixed seed (``initial_seed()`` is
    67280421310721), so two fresh generators give the same draws.
    Example:
        >>> g = sg.Generator().manual_seed(0)
        >>> sg.rand(3, generator=g)
    """

    def __init__(self, device: Any = "cpu") -> None:
        self.device = devices.device(device)
        self._state = backend.RandomState(backend.DEFAULT_SEED)

    @classmethod
    def _around(cls, state: backend.RandomState) -> Generator:
        """A Generator sharing an existing state (the global one)."""
        g = cls.__new__(cls)
        g.device, g._state = devices.device("cpu"), state
        return g

    @property
    def rng(self) -> Any:
        """The NumPy Generator drawing the numbers."""
        return self._state.rng

    def manual_seed(self, seed: int) -> Generator:
        """Seed this generator; returns it (so ``Generator().manual_seed(0)`` chains)."""
        self._state.manual_seed(seed)
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the seed used."""
        value = backend.fresh_seed()
        self._state.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._state.initial_seed

    def get_state(self) -> Tensor:
        """The generator's state as a uint8 tensor."""
        return Tensor._wrap(self._state.get_state())

    def set_state(self, new_state: Any) -> Generator:
        """Restore a state returned by :meth:`get_state`."""
        self._state.set_state(new_state._data if isinstance(new_state, Tensor) else new_state)
        return self

    def __repr__(self) -> str:
        return f"<softgrad.Generator device={self.device!r} initial_seed={self.initial_seed()}>"


default_generator = Generator._around(backend.default_state())


def _gen(generator: Any) -> Any:
    """The NumPy Generator behind ``generator=`` (None: the global one)."""
    if generator is None:
        return backend.generator()
    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be a softgrad.Generator, got {type(generator).__name__}")
