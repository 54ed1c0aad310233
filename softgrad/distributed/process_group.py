"""The MPI process group: ``init_process_group``, ranks, ``barrier`` and the deadline wait.

softgrad's distributed backend is MPI through ``mpi4py`` (the ``mpi`` extra, with the ``mpich``
wheel providing ``mpiexec``). Start a job with ``mpiexec -n 4 python train.py``; every process
calls :func:`init_process_group` and reads its rank and the world size from MPI.

Every collective waits on a non-blocking MPI request, polled against a deadline. When a peer
dies, hangs or never reaches the same collective, the waiting processes raise
:class:`DistBackendError` naming the collective and the timeout instead of blocking forever, and
the job is aborted when the failing process exits (``MPI_Abort`` ends every rank, including a
hung one).
"""
from __future__ import annotations

import atexit
import datetime
import sys
import time
from typing import Any

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)


class DistBackendError(RuntimeError):
    """A collective failed or timed out; the process group can no longer be used."""


class _State:
    """The one default process group of this process."""

    def __init__(self) -> None:
        self.mpi: Any = None        # the mpi4py.MPI module, once imported
        self.comm: Any = None       # a private duplicate of COMM_WORLD
        self.timeout = DEFAULT_TIMEOUT.total_seconds()
        self.broken: str | None = None
        self.exit_hook = False


_state = _State()


def is_available() -> bool:
    """True when ``mpi4py`` can be imported (the ``mpi`` extra is installed)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def is_mpi_available() -> bool:
    """Same as :func:`is_available`: MPI is softgrad's only distributed backend."""
    return is_available()


def is_initialized() -> bool:
    """True between :func:`init_process_group` and :func:`destroy_process_group`."""
    return _state.comm is not None


def _import_mpi() -> Any:
    if _state.mpi is not None:
        return _state.mpi
    try:
        import mpi4py
    except ImportError:
        raise RuntimeError(
            "softgrad.distributed needs mpi4py and an MPI library: install the 'mpi' extra "
            "(pip install 'softgrad[mpi]', which brings mpi4py and the mpich wheel) and start "
            "the processes with mpiexec -n N python ...") from None
    if "mpi4py.MPI" not in sys.modules:
        mpi4py.rc.finalize = False      # finalize (or abort) ourselves at exit, see _at_exit
        mpi4py.rc.thread_level = "funneled"
    from mpi4py import MPI

    _state.mpi = MPI
    return MPI


def _seconds(timeout: Any) -> float:
    if timeout is None:
        return DEFAULT_TIMEOUT.total_seconds()
    if isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        seconds = float(timeout)
    else:
        raise TypeError(f"timeout must be a datetime.timedelta or seconds, got {timeout!r}")
    if not seconds > 0:
        raise ValueError(f"timeout must be positive, got {seconds} s")
    return seconds


def init_process_group(backend: str | None = "mpi", init_method: str | None = None,
                       timeout: Any = None, world_size: int = -1, rank: int = -1,
                       store: Any = None, group_name: str = "") -> None:
    """Join the MPI world as the default process group.

    Args:
        backend: ``'mpi'`` (the only backend; ``None`` means ``'mpi'``).
        init_method: unused (MPI's launcher wires the processes); accepted for compatibility.
        timeout: the longest any collective may wait for the other processes
            (``datetime.timedelta`` or seconds). Default: 30 minutes.
        world_size: if given (> 0), must equal the MPI world size.
        rank: if given (>= 0), must equal this process's MPI rank.

    Example:
        >>> import softgrad.distributed as dist
        >>> dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=60))
        >>> dist.get_rank(), dist.get_world_size()
    """
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"unsupported backend {backend!r}: softgrad.distributed supports 'mpi'")
    if is_initialized():
        raise RuntimeError("trying to initialize the default process group twice!")
    seconds = _seconds(timeout)
    MPI = _import_mpi()
    if not MPI.Is_initialized():
        MPI.Init_thread(MPI.THREAD_FUNNELED)
    world = MPI.COMM_WORLD
    if world_size is not None and world_size > 0 and world_size != world.Get_size():
        raise ValueError(f"world_size={world_size} but the MPI world has {world.Get_size()} "
                         "processes (set -n of mpiexec instead)")
    if rank is not None and rank >= 0 and rank != world.Get_rank():
        raise ValueError(f"rank={rank} but MPI gave this process rank {world.Get_rank()}")
    comm = world.Dup()
    comm.Set_errhandler(MPI.ERRORS_RETURN)
    _state.comm, _state.timeout, _state.broken = comm, seconds, None
    if not _state.exit_hook:
        atexit.register(_at_exit)
        _state.exit_hook = True


# Set by MPI launchers for every process they start: MPICH/Intel MPI (PMI), Open MPI, PMIx.
_LAUNCHER_SIZE = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")


def launched_world_size() -> int:
    """Processes an MPI launcher (``mpiexec -n N``) started, from its environment; 1 if none."""
    import os

    for var in _LAUNCHER_SIZE:
        value = os.environ.get(var, "")
        if value.isdigit():
            return int(value)
    return 1


def init_from_launcher(timeout: Any = None) -> bool:
    """Join the MPI world if ``mpiexec`` started several processes; return whether joined.

    Lets one script (or ``softgrad train``) run alone or under ``mpiexec -n N`` unchanged.
    """
    if not is_initialized() and launched_world_size() > 1:
        init_process_group("mpi", timeout=timeout)
    return is_initialized()


def destroy_process_group(group: Any = None) -> None:
    """Leave the default process group (MPI itself stays up until the process exits)."""
    comm = _state.comm
    _state.comm = None
    if comm is not None and _state.broken is None:
        try:
            comm.Free()
        except Exception:  # pragma: no cover - freeing a communicator is best effort
            pass


def _at_exit() -> None:
    MPI = _state.mpi
    if MPI is None or MPI.Is_finalized():
        return
    if _state.broken is not None:
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(1)  # ends every rank of the job, including a hung one
    if "mpi4py" in sys.modules and not sys.modules["mpi4py"].rc.finalize:
        MPI.Finalize()


def _comm() -> Any:
    if _state.comm is None:
        raise RuntimeError("Default process group has not been initialized, please make sure "
                           "to call init_process_group.")
    if _state.broken is not None:
        raise DistBackendError(f"the process group is broken by an earlier failure: "
                               f"{_state.broken}")
    return _state.comm


def get_rank(group: Any = None) -> int:
    """This process's rank in ``[0, world_size)``."""
    return _comm().Get_rank()


def get_world_size(group: Any = None) -> int:
    """Number of processes in the group."""
    return _comm().Get_size()


def get_backend(group: Any = None) -> str:
    _comm()
    return "mpi"


def _fail(message: str) -> None:
    """Mark the group broken, say why on stderr, and raise."""
    comm = _state.comm
    where = f"rank {comm.Get_rank()}/{comm.Get_size()}" if comm is not None else "softgrad"
    text = f"[{where}] softgrad.distributed: {message}"
    _state.broken = text
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
    raise DistBackendError(text)


_SPIN_S = 2e-3  # poll without sleeping this long first: short collectives finish sooner


def wait(request: Any, what: str, timeout: float | None = None) -> None:
    """Wait for an MPI request, polling it until ``timeout`` seconds (default: the group's).

    Polls without sleeping for the first 2 ms (a sleeping process on a busy machine wakes
    late), then sleeps between polls, 50 us doubling to 1 ms.
    """
    MPI = _state.mpi
    limit = _state.timeout if timeout is None else timeout
    start = time.monotonic()
    deadline = start + limit
    pause = 0.0
    while True:
        try:
            if request.Test():
                return
        except MPI.Exception as exc:
            _fail(f"{what} failed: {exc.Get_error_string()}; a peer process probably died")
        now = time.monotonic()
        if now > deadline:
            _fail(f"{what} timed out after {limit:g} s waiting for the other processes: one "
                  "of them died, hangs, or did not call the same collective. Aborting the job.")
        if now - start > _SPIN_S:
            pause = min(1e-3, pause * 2 if pause else 5e-5)
            time.sleep(pause)
