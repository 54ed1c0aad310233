"""Variable-length batches for recurrent layers: ``PackedSequence`` and its helpers
(``pack_padded_sequence``, ``pad_packed_sequence``, ``pad_sequence``, ``pack_sequence``,
``unpad_sequence``, ``unpack_sequence``), with PyTorch's layouts.

A ``PackedSequence`` holds the existing steps of a batch, time-major: first step 0 of every
sequence (longest first), then step 1 of the sequences that have one, and so on;
``batch_sizes[t]`` counts the sequences with a step t. Packing and unpacking are gathers
(index arrays), so gradients flow through them.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from softgrad import backend
from softgrad import functions as SF
from softgrad.tensor import Tensor

np = backend.np
__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
           "pad_sequence", "unpack_sequence", "unpad_sequence"]


class PackedSequence(NamedTuple):
    """data (sum of lengths, *), batch_sizes (int64, max length), sorted_indices and
    unsorted_indices (int64 permutations of the batch, or None when it came sorted)."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """Move/cast ``data`` (the index tensors stay int64 on the host)."""
        return self._replace(data=self.data.to(*args, **kwargs))

    @property
    def is_cuda(self) -> bool:
        return self.data.device != "cpu"


def _ints(x: Any, name: str) -> Any:
    arr = x._data if isinstance(x, Tensor) else x
    arr = np.asarray(backend.to_numpy(arr) if hasattr(arr, "shape") else arr)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"{name} must be a 1-D sequence of integers, got shape "
                         f"{arr.shape} and dtype {arr.dtype}")
    return arr.astype(np.int64)


def _positions(batch_sizes: Any, sorted_indices: Any) -> tuple:
    """(time step, original batch index) of every row of packed data, in packed order."""
    bs = _ints(batch_sizes, "batch_sizes")
    B = int(bs[0]) if bs.size else 0
    valid = np.arange(B)[None, :] < bs[:, None]
    tt, bb = np.nonzero(valid)
    order = _ints(sorted_indices, "sorted_indices") if sorted_indices is not None else None
    return tt, (order[bb] if order is not None else bb), B


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) ((B, T, *) if ``batch_first``) of the given lengths.

    With ``enforce_sorted`` the lengths must be non-increasing; otherwise the batch is
    sorted here and ``sorted_indices`` records the order.
    """
    lens = _ints(lengths, "lengths")
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must be at least 2-D (T, B, *), got "
                         f"shape {tuple(input.shape)}")
    x = input.transpose(0, 1) if batch_first else input
    T, B = x.shape[0], x.shape[1]
    if lens.shape[0] != B:
        raise ValueError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                         f"{lens.shape[0]} (batch_size={B}, input shape {tuple(input.shape)})")
    if B and lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           f"element in 'lengths' that is <= 0: {lens.tolist()}")
    if B and lens.max() > T:
        raise RuntimeError(f"a length {int(lens.max())} exceeds the padded sequence length "
                           f"{T} of input {tuple(input.shape)}")
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               f"requirement; got {lens.tolist()}")
        order = None
    else:
        order = np.argsort(-lens, kind="stable")
    lens_sorted = lens if order is None else lens[order]
    t_max = int(lens_sorted[0]) if B else 0
    batch_sizes = (lens_sorted[None, :] > np.arange(t_max)[:, None]).sum(1).astype(np.int64)
    sorted_t = None if order is None else Tensor._wrap(order.astype(np.int64))
    tt, ob, _ = _positions(batch_sizes, order)
    flat = x.reshape(T * B, *x.shape[2:])
    data = flat[backend.to_device(tt * B + ob, x.device)]
    unsorted = None if order is None else Tensor._wrap(np.argsort(order).astype(np.int64))
    return PackedSequence(data, Tensor._wrap(batch_sizes), sorted_t, unsorted)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None) -> tuple:
    """Inverse of ``pack_padded_sequence``: (padded (T, B, *), lengths (B,) int64), the batch
    in its original order."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence expects a PackedSequence, got "
                        f"{type(sequence).__name__}")
    data = sequence.data
    tt, ob, B = _positions(sequence.batch_sizes, sequence.sorted_indices)
    t_max = int(tt.max()) + 1 if tt.size else 0
    T = t_max if total_length is None else total_length
    if T < t_max:
        raise ValueError(f"Expected total_length to be at least the length of the longest "
                         f"sequence ({t_max}), but got total_length={total_length}")
    n = data.shape[0]
    index = np.full(T * B, n, dtype=np.int64)  # row n: the padding row
    index[tt * B + ob] = np.arange(n)
    xp = backend.xp_of(data._data)
    pad = Tensor._wrap(xp.full((1,) + tuple(data.shape[1:]), padding_value,
                               dtype=data._data.dtype))
    padded = SF.cat([data, pad])[backend.to_device(index, data.device)]
    padded = padded.reshape(T, B, *data.shape[1:])
    lengths = np.bincount(ob, minlength=B).astype(np.int64)
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, Tensor._wrap(lengths)


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes (L_i, *) into (L_max, B, *) ((B, L_max, *) if batch_first),
    padding with ``padding_value`` on the ``padding_side``."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    tail = tuple(seqs[0].shape[1:])
    for i, s in enumerate(seqs):
        if s.ndim < 1 or tuple(s.shape[1:]) != tail:
            raise RuntimeError(f"pad_sequence: sequence {i} has shape {tuple(s.shape)}; every "
                               f"sequence must be (L, *{tail})")
    L = max(s.shape[0] for s in seqs)
    xp = backend.xp_of(seqs[0]._data)
    out = []
    for s in seqs:
        k = L - s.shape[0]
        if k:
            pad = Tensor._wrap(xp.full((k,) + tail, padding_value, dtype=s._data.dtype))
            s = SF.cat([s, pad] if padding_side == "right" else [pad, s])
        out.append(s)
    return SF.stack(out, dim=0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) tensors (non-increasing lengths unless ``enforce_sorted``
    is False)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Any,
                   batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch back into its (L_i, *) sequences."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[b, :int(n)] for b, n in enumerate(_ints(lengths, "lengths"))]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Split a ``PackedSequence`` into its (L_i, *) sequences, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
