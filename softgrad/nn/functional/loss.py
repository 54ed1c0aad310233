"""Losses with PyTorch's names, defaults and reduction semantics.

``cross_entropy`` is one fused node (log-sum-exp forward, ``(softmax - target)`` backward)
for class-index and class-probability targets of any ``(N, C, d1, ...)`` shape. Weights,
``pos_weight`` and probability targets' smoothing act as constants (no gradient to them).
"""
from __future__ import annotations

import warnings
from typing import Any

from softgrad import backend
from softgrad.ops import loss as L
from softgrad.ops.softmax import CrossEntropy, CrossEntropyProb
from softgrad.tensor import Tensor

np = backend.np
__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]


# ---------------------------------------------------------------------- argument checks
def _reduction(reduction: str, size_average: Any = None, reduce: Any = None,
               extra: tuple = ()) -> str:
    """Resolve the legacy size_average/reduce pair and validate ``reduction``."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduction = ("mean" if size_average else "sum") if reduce is None or reduce else "none"
    allowed = ("none", "mean", "sum") + extra
    if reduction not in allowed:
        raise ValueError(f"{reduction!r} is not a valid value for reduction: expected one of "
                         + ", ".join(repr(a) for a in allowed))
    return reduction


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _const(w: Any, like: Tensor, name: str) -> Any:
    """A weight-like argument as a raw array of ``like``'s dtype and device (no gradient)."""
    if w is None:
        return None
    arr = w._data if isinstance(w, Tensor) else np.asarray(w)
    arr = backend.to_device(arr, like.device)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a numeric tensor, got dtype {arr.dtype}")
    return arr.astype(like._data.dtype, copy=False)


def _class_weight(weight: Any, x: Tensor, c: int) -> Any:
    w = _const(weight, x, "weight")
    if w is not None and w.shape != (c,):
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {tuple(w.shape)}")
    return w


def _class_logits(name: str, input: Tensor) -> Tensor:
    x = _tensor(input)
    if x.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension ((C,) or (N, C, ...)), "
                         "got a 0-d tensor")
    return x._float_input()


def _index_target(name: str, x: Tensor, target: Tensor, ignore_index: int) -> Any:
    """Validated class-index target array: integer, shape (N, d1, ...), labels in [0, C)."""
    t = target._data
    if backend._cupy is not None and backend.device_of(t) != x.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {x.device} and {target.device}! ({name}: input and "
                           f"target)")
    if t.dtype.kind not in "iu":
        raise RuntimeError(
            f"{name}: expected class indices as an integer tensor, got dtype {target.dtype} "
            f"with shape {tuple(t.shape)} (use target.long() for labels; probability targets "
            f"must be floats of the input's shape {tuple(x.shape)})")
    want = () if x.ndim == 1 else (x.shape[0],) + tuple(x.shape[2:])
    if tuple(t.shape) != want:
        if x.ndim >= 2 and t.ndim >= 1 and t.shape[0] != x.shape[0]:
            raise ValueError(
                f"{name}: Expected input batch_size ({x.shape[0]}) to match target batch_size "
                f"({t.shape[0]}): input shape {tuple(x.shape)}, target shape {tuple(t.shape)}")
        raise RuntimeError(f"{name}: expected target of shape {want} for input of shape "
                           f"{tuple(x.shape)}, got target of shape {tuple(t.shape)}")
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    bad = ((t < 0) | (t >= c)) & (t != ignore_index)
    if bad.any():
        label = int(t[bad].reshape(-1)[0])
        raise IndexError(f"{name}: Target {label} is out of bounds: class labels must be in "
                         f"[0, {c - 1}] for {c} classes (or equal ignore_index={ignore_index})")
    return t


def _batched(x: Tensor, t: Any) -> tuple:
    """(C,) input and () target -> (1, C) and (1,)."""
    if x.ndim != 1:
        return x, t
    return x.reshape(1, -1), (t.reshape(1, -1) if isinstance(t, Tensor) else t.reshape(1))


def _unbatch(out: Tensor, was_1d: bool, reduction: str) -> Tensor:
    return out.reshape(()) if was_1d and reduction == "none" else out


# ---------------------------------------------------------------------- class losses
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits and class indices or class probabilities.

    One fused node: loss = logsumexp(x) - x_y computed with the per-row max shift; the
    gradient at the logits is ``(softmax(x) - onehot(y))`` scaled as PyTorch scales it.

    Args:
        input: logits ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``.
        target: int class indices ``()``, ``(N,)``, ``(N, d1, ...)``; or float
            probabilities of the input's shape.
        weight: ``(C,)`` class weights.
        ignore_index: index targets equal to it contribute nothing (not to 'mean' either).
        reduction: 'none' | 'mean' | 'sum'. 'mean' divides by the summed weight of the
            valid targets (index targets) or by N * d1 * ... (probability targets).
        label_smoothing: eps in [0, 1]: target = (1 - eps) * target + eps / C.
    Shape: scalar, or the target's shape without C for 'none'. See ``nn.CrossEntropyLoss``.
    Example:
        >>> F.cross_entropy(sg.randn(4, 3), sg.tensor([0, 2, 1, 2]))
    """
    reduction = _reduction(reduction, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    x, target = _class_logits("cross_entropy", input), _tensor(target)
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    w = _class_weight(weight, x, c)
    was_1d = x.ndim == 1
    if target._data.dtype.kind == "f" and tuple(target.shape) == tuple(x.shape):
        if ignore_index >= 0:
            raise RuntimeError("cross_entropy: ignore_index is not supported for floating "
                               "point (probability) targets")
        xb, tb = _batched(x, target._cast(x._data.dtype))
        out = Tensor._apply(CrossEntropyProb, xb, tb, weight=w, reduction=reduction,
                            label_smoothing=float(label_smoothing))
        return _unbatch(out, was_1d, reduction)
    if target._data.dtype.kind == "f":
        want = () if x.ndim == 1 else (x.shape[0],) + tuple(x.shape[2:])
        if tuple(target.shape) != want:
            raise RuntimeError(
                f"cross_entropy: probability targets must have the input's shape "
                f"{tuple(x.shape)}, got a float target of shape {tuple(target.shape)}")
    t = _index_target("cross_entropy", x, target, ignore_index)
    xb, tb = _batched(x, t)
    out = Tensor._apply(CrossEntropy, xb, target=tb, weight=w, ignore_index=int(ignore_index),
                        reduction=reduction, label_smoothing=float(label_smoothing))
    return _unbatch(out, was_1d, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities.

    loss_n = -weight[y_n] * input[n, y_n]; 'mean' divides by the summed weight of the valid
    targets. Shapes as ``cross_entropy`` with index targets. See ``nn.NLLLoss``.
    Example:
        >>> F.nll_loss(F.log_softmax(sg.randn(4, 3), dim=1), sg.tensor([0, 2, 1, 2]))
    """
    reduction = _reduction(reduction, size_average, reduce)
    x, target = _class_logits("nll_loss", input), _tensor(target)
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    w = _class_weight(weight, x, c)
    t = _index_target("nll_loss", x, target, ignore_index)
    xb, tb = _batched(x, t)
    out = Tensor._apply(L.NLLLoss, xb, target=tb, weight=w, ignore_index=int(ignore_index),
                        reduction=reduction)
    return _unbatch(out, x.ndim == 1, reduction)


# ---------------------------------------------------------------------- point-wise losses
def _pair(name: str, input: Any, target: Any, strict: bool = False) -> tuple:
    """Float input and target of one dtype; warn (or raise if ``strict``) on shape mismatch."""
    x, t = _tensor(input), _tensor(target)
    if tuple(t.shape) != tuple(x.shape):
        msg = (f"{name}: Using a target size ({tuple(t.shape)}) that is different to the input "
               f"size ({tuple(x.shape)})")
        if strict:
            raise ValueError(msg + " is not supported. Please ensure they have the same size.")
        warnings.warn(msg + ". This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", UserWarning, stacklevel=3)
        try:
            np.broadcast_shapes(tuple(x.shape), tuple(t.shape))
        except ValueError:
            raise RuntimeError(f"{name}: input of shape {tuple(x.shape)} and target of shape "
                               f"{tuple(t.shape)} cannot be broadcast together") from None
    x = x._float_input()
    dt = x._data.dtype
    if t._data.dtype.kind == "f" and t._data.dtype != dt:
        dt = np.promote_types(dt, t._data.dtype)
        x = x._cast(dt)
    return x, t._cast(dt)


def _same_size_weight(weight: Any, x: Tensor) -> Any:
    w = _const(weight, x, "weight")
    if w is not None and tuple(w.shape) != tuple(x.shape):
        raise ValueError(f"Weights and input must have the same size: weight "
                         f"{tuple(w.shape)}, input {tuple(x.shape)}")
    return w


def _pointwise(fn: type, x: Tensor, t: Tensor, reduction: str, weight: Any = None,
               n: Any = None, **params: Any) -> Tensor:
    return Tensor._apply(fn, x, t, weight=weight, reduction=reduction, n=n, **params)


def mse_loss(input: Tensor, target: Tensor, size_average: Any = None,
             reduce: Any = None, reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error (x - t)^2; weighted 'mean' divides by sum(weight). See ``nn.MSELoss``.

    Example:
        >>> F.mse_loss(sg.tensor([1.0, 2.0]), sg.tensor([0.0, 0.0]))  # 2.5
    """
    reduction = _reduction(reduction, size_average, reduce)
    x, t = _pair("mse_loss", input, target)
    w = _same_size_weight(weight, x)
    return _pointwise(L.MSELoss, x, t, reduction, w, None if w is None else w.sum())


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None,
            reduce: Any = None, reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error |x - t|; weighted 'mean' divides by sum(weight). See ``nn.L1Loss``."""
    reduction = _reduction(reduction, size_average, reduce)
    x, t = _pair("l1_loss", input, target)
    w = _same_size_weight(weight, x)
    return _pointwise(L.L1Loss, x, t, reduction, w, None if w is None else w.sum())


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None,
                   reduce: Any = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - beta / 2 elsewhere. See ``nn.SmoothL1Loss``."""
    reduction = _reduction(reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, got "
                           f"{beta}")
    x, t = _pair("smooth_l1_loss", input, target)
    if beta == 0:
        return _pointwise(L.L1Loss, x, t, reduction)
    return _pointwise(L.HuberLoss, x, t, reduction, delta=float(beta), scale=1.0 / beta)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0, weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - delta / 2) elsewhere. See ``nn.HuberLoss``."""
    reduction = _reduction(reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta, got "
                           f"{delta}")
    x, t = _pair("huber_loss", input, target)
    w = _same_size_weight(weight, x)
    return _pointwise(L.HuberLoss, x, t, reduction, w, delta=float(delta), scale=1.0)


def binary_cross_entropy(input: Tensor, target: Tensor,
                         weight: Tensor | None = None, size_average: Any = None,
                         reduce: Any = None, reduction: str = "mean") -> Tensor:
    """-(t log x + (1 - t) log(1 - x)) on probabilities, each log clamped at -100.

    ``weight`` broadcasts against the input. See ``nn.BCELoss``.
    """
    reduction = _reduction(reduction, size_average, reduce)
    x, t = _pair("binary_cross_entropy", input, target, strict=True)
    if x.numel() and bool(((x._data < 0) | (x._data > 1)).any()):
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 "
                           f"and 1 (got values in [{float(x._data.min())}, "
                           f"{float(x._data.max())}]); apply sigmoid first or use "
                           "binary_cross_entropy_with_logits")
    w = _const(weight, x, "weight")
    return _pointwise(L.BCELoss, x, t, reduction, w, x.numel())


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy fused and stable for any logit magnitude.

    loss = (1 - t) x + (1 + (pos_weight - 1) t) * softplus(-x); ``pos_weight`` broadcasts
    along the last (class) dim. See ``nn.BCEWithLogitsLoss``.
    """
    reduction = _reduction(reduction, size_average, reduce)
    x, t = _pair("binary_cross_entropy_with_logits", input, target, strict=True)
    w = _const(weight, x, "weight")
    pw = _const(pos_weight, x, "pos_weight")
    return _pointwise(L.BCEWithLogitsLoss, x, t, reduction, w, x.numel(), pos_weight=pw)


def kl_div(input: Tensor, target: Tensor, size_average: Any = None,
           reduce: Any = None, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence of ``target`` from log-probabilities ``input``: t (log t - x).

    Args:
        reduction: 'none' | 'mean' (over all elements) | 'sum' | 'batchmean' (sum / N, the
            mathematical KL divergence).
        log_target: ``target`` holds log-probabilities.
    See ``nn.KLDivLoss``.
    """
    reduction = _reduction(reduction, size_average, reduce, extra=("batchmean",))
    x, t = _pair("kl_div", input, target)
    if reduction == "batchmean":
        n = x.shape[0] if x.ndim else 1
        return _pointwise(L.KLDivLoss, x, t, "mean", n=n, log_target=bool(log_target))
    return _pointwise(L.KLDivLoss, x, t, reduction, log_target=bool(log_target))
