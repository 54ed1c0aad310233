"""``SummaryWriter``: PyTorch's TensorBoard writer, on the ``tensorboard`` package's event-file
writer and protocol buffers (summaries are built here; the file format is theirs)."""
from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tensorboard.compat.proto.event_pb2 import Event, SessionLog
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.plugins.text.metadata import create_summary_metadata
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from softgrad import backend

np = backend.np


def _to_numpy(value: Any) -> Any:
    """A Tensor (detached, moved to the host), array or Python data as a NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value)


def _scalar(value: Any) -> float:
    arr = _to_numpy(value)
    if arr.size != 1:
        raise ValueError(f"scalar should be 0D, got a value of shape {tuple(arr.shape)}")
    return float(arr.reshape(-1)[0])


def _tensorflow_edges() -> Any:
    """TensorFlow's default histogram edges: +-1e-12 growing by 10% to 1e20, and 0."""
    pos = [1e-12]
    while pos[-1] < 1e20:
        pos.append(pos[-1] * 1.1)
    edges = [-v for v in reversed(pos)] + [0.0] + pos
    return np.array(edges)


class SummaryWriter:
    """Writes TensorBoard event files into ``log_dir`` (as ``torch.utils.tensorboard``).

    Args:
        log_dir: the directory (default ``runs/<date>_<time>_<host><comment>``).
        comment: appended to the default ``log_dir`` (ignored when ``log_dir`` is given).
        purge_step: events of a crashed earlier run at or after this step are hidden by
            TensorBoard (a session-start event at this step is written first).
        max_queue: events buffered before they are written.
        flush_secs: how often pending events are written, in seconds.
        filename_suffix: appended to the event file's name.
    Example:
        >>> with SummaryWriter("runs/exp1") as w:
        ...     for step in range(100):
        ...         w.add_scalar("Loss/train", loss.item(), step)
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "",
                 purge_step: int | None = None, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = "") -> None:
        if log_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = os.fspath(log_dir)
        self.purge_step = purge_step
        self.max_queue, self.flush_secs = max_queue, flush_secs
        self.filename_suffix = filename_suffix
        self._writer: EventFileWriter | None = None
        self._groups: dict[str, EventFileWriter] = {}
        self._file_writer()  # the directory and file exist from the start, as in PyTorch

    # ------------------------------------------------------------------ files
    def _file_writer(self) -> EventFileWriter:
        if self._writer is None:
            self._writer = self._new_writer(self.log_dir)
            if self.purge_step is not None:
                self._add(self._writer, Event(step=self.purge_step,
                                              session_log=SessionLog(status=SessionLog.START)))
                self._writer.flush()
                self.purge_step = None
        return self._writer

    def _new_writer(self, log_dir: str) -> EventFileWriter:
        return EventFileWriter(log_dir, self.max_queue, self.flush_secs, self.filename_suffix)

    @staticmethod
    def _add(writer: EventFileWriter, event: Event, walltime: float | None = None) -> None:
        event.wall_time = time.time() if walltime is None else float(walltime)
        writer.add_event(event)

    def _summary(self, value: Summary.Value, step: Any, walltime: float | None,
                 writer: EventFileWriter | None = None) -> None:
        event = Event(summary=Summary(value=[value]))
        if step is not None:
            event.step = int(_scalar(step))
        self._add(writer or self._file_writer(), event, walltime)

    def get_logdir(self) -> str:
        """The directory the event files are written to."""
        return self.log_dir

    # ------------------------------------------------------------------ summaries
    def add_scalar(self, tag: str, scalar_value: Any, global_step: Any = None,
                   walltime: float | None = None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        """Log one number (a float, or a one-element Tensor or array) at ``global_step``."""
        self._summary(Summary.Value(tag=tag, simple_value=_scalar(scalar_value)),
                      global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: Mapping[str, Any],
                    global_step: Any = None, walltime: float | None = None) -> None:
        """Log several numbers as one chart: each ``tag`` goes to its own run
        ``<log_dir>/<main_tag>_<tag>`` under the tag ``main_tag``, as in PyTorch."""
        walltime = time.time() if walltime is None else walltime
        for tag, value in tag_scalar_dict.items():
            path = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + tag)
            if path not in self._groups:
                self._groups[path] = self._new_writer(path)
            self._summary(Summary.Value(tag=main_tag, simple_value=_scalar(value)),
                          global_step, walltime, self._groups[path])

    def add_histogram(self, tag: str, values: Any, global_step: Any = None,
                      bins: Any = "tensorflow", walltime: float | None = None,
                      max_bins: int | None = None) -> None:
        """Log the distribution of ``values`` (any shape): ``bins`` is 'tensorflow' (its
        exponential edges), a NumPy bin rule ('auto', 'fd', ...), a count, or the edges."""
        data = _to_numpy(values).astype(np.float64).reshape(-1)
        if data.size == 0:
            raise ValueError("The histogram is empty, please file a bug report.")
        edges = _tensorflow_edges() if isinstance(bins, str) and bins == "tensorflow" else bins
        counts, limits = np.histogram(data, bins=edges)
        if max_bins is not None and len(counts) > max_bins:  # merge k neighbours
            k = -(-len(counts) // max_bins)
            groups = -(-len(counts) // k)
            counts = np.pad(counts, (0, groups * k - len(counts))).reshape(groups, k).sum(1)
            limits = np.append(limits[:-1][::k], limits[-1])
        used = np.flatnonzero(counts)
        lo, hi = (used[0], used[-1] + 1) if used.size else (0, len(counts))
        proto = HistogramProto(min=float(data.min()), max=float(data.max()),
                               num=float(data.size), sum=float(data.sum()),
                               sum_squares=float((data * data).sum()),
                               bucket_limit=limits[lo + 1:hi + 1].tolist(),
                               bucket=counts[lo:hi].astype(np.float64).tolist())
        self._summary(Summary.Value(tag=tag, histo=proto), global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step: Any = None,
                 walltime: float | None = None) -> None:
        """Log a (Markdown) string; TensorBoard's text plugin shows it under
        ``<tag>/text_summary``, as PyTorch writes it."""
        tensor = TensorProto(dtype="DT_STRING", string_val=[text_string.encode("utf-8")],
                             tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
        value = Summary.Value(tag=tag + "/text_summary", tensor=tensor,
                              metadata=create_summary_metadata(display_name=tag,
                                                               description=""))
        self._summary(value, global_step, walltime)

    # ------------------------------------------------------------------ lifetime
    def flush(self) -> None:
        """Write every pending event to disk."""
        for w in [self._writer, *self._groups.values()]:
            if w is not None:
                w.flush()

    def close(self) -> None:
        """Flush and close the event files; a later summary opens a new file."""
        for w in [self._writer, *self._groups.values()]:
            if w is not None:
                w.flush()
                w.close()
        self._writer, self._groups = None, {}

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
