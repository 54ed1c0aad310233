"""``ctc_loss``: connectionist temporal classification (see ``ops/ctc.py``)."""
from __future__ import annotations

from typing import Any

from softgrad import backend
from softgrad.nn.functional.loss import _reduction
from softgrad.ops.ctc import CtcLoss
from softgrad.tensor import Tensor

np = backend.np
__all__ = ["ctc_loss"]


def _ints(x: Any, name: str) -> Any:
    arr = backend.to_numpy(x._data) if isinstance(x, Tensor) else np.asarray(x)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"ctc_loss: {name} must be integers, got dtype {arr.dtype}")
    return arr.astype(np.int64).reshape(-1)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The CTC loss of label sequences given per-frame log-probabilities.

    Args:
        log_probs: (T, N, C) (or (T, C) unbatched) log-probabilities, e.g. log_softmax output.
        targets: (N, S) padded label sequences, or all sequences concatenated (1-D).
        input_lengths: (N,) frames used per sample (<= T).
        target_lengths: (N,) labels per sample.
        blank: the blank class. reduction: 'mean' (each loss divided by its target length,
            then averaged), 'sum' or 'none'. zero_infinity: impossible alignments give 0.
    See ``nn.CTCLoss``.
    """
    reduction = _reduction(reduction)
    lp = log_probs._float_input()
    unbatched = lp.ndim == 2
    if unbatched:
        lp = lp.unsqueeze(1)
    if lp.ndim != 3:
        raise RuntimeError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got "
                           f"{list(log_probs.shape)}")
    t_max, n, c = lp.shape
    if not 0 <= blank < c:
        raise RuntimeError(f"ctc_loss: blank must be in label range [0, {c}), got {blank}")
    in_len = _ints(input_lengths, "input_lengths")
    tgt_len = _ints(target_lengths, "target_lengths")
    tgt_arr = backend.to_numpy(targets._data) if isinstance(targets, Tensor) else \
        np.asarray(targets)
    if unbatched and tgt_arr.ndim == 1 and len(tgt_len) == 1:
        tgt_arr = tgt_arr.reshape(1, -1)
    if tgt_arr.dtype.kind not in "iu":
        raise RuntimeError(f"ctc_loss: targets must be integers, got dtype {tgt_arr.dtype}")
    if len(in_len) != n or len(tgt_len) != n:
        raise RuntimeError(f"ctc_loss: expected {n} input_lengths and target_lengths, got "
                           f"{len(in_len)} and {len(tgt_len)}")
    if (in_len > t_max).any() or (in_len < 1).any():
        raise RuntimeError(f"ctc_loss: input_lengths must be in [1, {t_max}], got "
                           f"{in_len.tolist()}")
    if (tgt_len < 0).any():
        raise RuntimeError("ctc_loss: target_lengths must be non-negative")
    labels = []
    if tgt_arr.ndim == 2:
        if tgt_arr.shape[0] != n or (tgt_len > tgt_arr.shape[1]).any():
            raise RuntimeError(f"ctc_loss: targets {list(tgt_arr.shape)} do not hold "
                               f"{n} sequences of lengths {tgt_len.tolist()}")
        labels = [tgt_arr[i, :tgt_len[i]] for i in range(n)]
    else:
        if tgt_len.sum() != tgt_arr.shape[0]:
            raise RuntimeError(f"ctc_loss: the concatenated targets have {tgt_arr.shape[0]} "
                               f"labels but target_lengths sum to {int(tgt_len.sum())}")
        starts = np.concatenate([[0], np.cumsum(tgt_len)[:-1]])
        labels = [tgt_arr[s:s + k] for s, k in zip(starts, tgt_len)]
    s_ext = 2 * int(tgt_len.max(initial=0)) + 1
    ext = np.full((n, s_ext), blank, dtype=np.int64)
    for i, lab in enumerate(labels):
        lab = np.asarray(lab, dtype=np.int64)
        if lab.size and ((lab < 0) | (lab >= c) | (lab == blank)).any():
            raise RuntimeError(f"ctc_loss: targets of sample {i} must be labels in [0, {c}) "
                               f"other than blank={blank}, got {lab.tolist()}")
        ext[i, 1:2 * len(lab):2] = lab
    dev = lp.device
    nll = Tensor._apply(CtcLoss, lp, ext=backend.to_device(ext, dev),
                        ext_len=backend.to_device(2 * tgt_len + 1, dev),
                        in_len=backend.to_device(in_len, dev), zero_infinity=zero_infinity)
    if reduction == "none":
        return nll.reshape(()) if unbatched else nll
    if reduction == "sum":
        return nll.sum()
    div = backend.to_device(np.maximum(tgt_len, 1).astype(nll._data.dtype), dev)
    return (nll / Tensor._wrap(div)).mean()
