"""MNIST-1D, generated locally with the ``mnist1d`` package (no download, no pickle cache).

The package's generator (``mnist1d.data.make_dataset``) seeds NumPy's and Python's global
random state; softgrad saves both states before generating and restores them afterwards, so
loading MNIST-1D never disturbs other code's randomness. Results are memoised in memory.
"""
from __future__ import annotations

import functools
import random
from types import SimpleNamespace
from typing import Any

from softgrad import backend
from softgrad.datasets.split import Split

np = backend.np

_ARGS = ("num_samples", "train_split", "template_len", "padding", "scale_coeff",
         "max_translation", "corr_noise_scale", "iid_noise_scale", "shear_scale",
         "shuffle_seq", "final_seq_length", "seed")


def _mnist1d_data() -> Any:
    try:
        from mnist1d import data
    except ImportError as exc:
        raise ImportError(
            "sg.datasets.load_mnist1d needs the mnist1d package, which is not installed; "
            "install softgrad's 'experiments' extra: pip install 'softgrad[experiments]'"
        ) from exc
    return data


@functools.lru_cache(maxsize=8)
def _generate(items: tuple) -> tuple:
    data = _mnist1d_data()
    args = data.get_dataset_args(as_dict=True)
    args.update({k: list(v) if isinstance(v, tuple) else v for k, v in items})
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        out = data.make_dataset(SimpleNamespace(**args))
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    arrays = (out["x"], out["y"], out["x_test"], out["y_test"])
    for a in arrays:
        a.setflags(write=False)
    return arrays


def load_mnist1d(num_samples: int = 5000, train_split: float = 0.8, seed: int = 42,
                 **kwargs: Any) -> Split:
    """MNIST-1D: ten 1-D digit templates, padded, scaled, shifted, sheared and noised.

    Args:
        num_samples: total samples (train + test). Default: 5000 (4000 train / 1000 test).
        train_split: fraction used for training. Default: 0.8.
        seed: generation seed; equal arguments give identical data. Default: 42.
        **kwargs: other ``mnist1d`` generation arguments (``final_seq_length=40``,
            ``shuffle_seq=False``, ``iid_noise_scale``, ``corr_noise_scale``, ``padding``,
            ``max_translation``, ``scale_coeff``, ``shear_scale``, ``template_len``).
    Returns:
        A :class:`Split` with ``x`` of shape (N, final_seq_length) float32, 10 classes.
    Example:
        >>> split = sg.datasets.load_mnist1d()
        >>> split.x_train.shape, split.x_test.shape
        ((4000, 40), (1000, 40))
    """
    args = dict(kwargs, num_samples=num_samples, train_split=train_split, seed=seed)
    unknown = sorted(set(args) - set(_ARGS))
    if unknown:
        raise TypeError(f"load_mnist1d got unknown arguments {unknown}; known: {list(_ARGS)}")
    if not isinstance(num_samples, int) or num_samples < 20:
        raise ValueError(f"num_samples must be an integer >= 20 (two per class), got "
                         f"{num_samples!r}")
    if not 0.0 < train_split < 1.0:
        raise ValueError(f"train_split must lie in (0, 1), got {train_split}")
    key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in args.items()))
    x, y, x_test, y_test = _generate(key)
    return Split(x.copy(), y.copy(), x_test.copy(), y_test.copy(), 10, "mnist1d")
