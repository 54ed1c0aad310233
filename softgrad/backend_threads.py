"""Thread policy for BLAS and softgrad's own threaded kernels (part of the array backend).

NumPy's BLAS (OpenBLAS in the NumPy wheels) splits a matrix product over its threads and then
waits at a barrier, spinning, for the slowest one. That is fast on a quiet machine and a
disaster on a busy one: when another process holds a core, the barrier waits for the kernel
to schedule the worker again (a time slice, milliseconds), so a 100-microsecond product takes
10 ms. Three rules, measured on a 2-core machine (README, Performance):

1. **Maximum**: ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` or
   :func:`set_num_threads` when given (the user's choice always wins), else the CPUs this
   process may run on (``os.sched_getaffinity``, capped by a cgroup CPU quota).
2. **Adaptive** (only when the user set no count): a daemon thread samples twice a second
   whether our threads wait for a CPU and how many cores other processes keep busy
   (``backend_contention``), and lowers the count while our threads would wait: one
   CPU-bound neighbour on 2 cores means 1 thread; when it stops (or a short probe finds
   that our threads get their cores after all, e.g. the neighbour runs at a lower
   priority), all of them again. ``SOFTGRAD_ADAPTIVE_THREADS=0`` (or :func:`set_adaptive`)
   turns this off.
3. **By size**: loops of many small products (the recurrent layers' time steps) run inside
   :func:`blas_threads_for`, which uses one thread when a product does less than
   :data:`MIN_PARALLEL_WORK` multiply-adds, like PyTorch's grain size. (OpenBLAS itself already
   runs products below 64^3 multiply-adds on one thread.)

The thread count changes through the BLAS library's C function found with ctypes in the
already-loaded library (no extra package). Linux-only parts (``/proc``) are skipped elsewhere.
"""
from __future__ import annotations

import ctypes
import operator
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from softgrad.backend_contention import (
    FIRST_INTERVAL_S,
    INTERVAL_S,
    PROBE_WINDOW_S,
    Controller,
    Reading,
    Sampler,
    others_cores,
    wait_fraction,
)

_SET_NAMES = ("openblas_set_num_threads", "openblas_set_num_threads64_",
              "scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
              "MKL_Set_Num_Threads", "mkl_set_num_threads")
_GET_NAMES = ("openblas_get_num_threads", "openblas_get_num_threads64_",
              "scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
              "MKL_Get_Max_Threads", "mkl_get_max_threads")
_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

MIN_PARALLEL_WORK = 8_000_000  # multiply-adds (m*n*k) below which a product runs on 1 thread

_blas_funcs: tuple[Any, Any] | None = None
_threads: dict[str, int] = {}  # "n": the count the user set (set_num_threads / env), if any
_lock = threading.Lock()


class _State:
    """What the policy knows: the maximum, the adaptive count, what BLAS is set to now."""

    def __init__(self) -> None:
        self.max = 0            # configured maximum (0: not resolved yet)
        self.avail = 0          # the adaptive count, <= max (0: not resolved yet)
        self.current = 0        # what the BLAS library was last set to (0: unknown)
        self.pinned: list[int] = []  # counts held by active blas_threads_for sections
        self.adaptive = os.environ.get("SOFTGRAD_ADAPTIVE_THREADS", "1").strip().lower() \
            not in ("0", "off", "no", "false")
        self.others = 0.0       # last estimate of cores used by other processes
        self.wait: float | None = None  # last share of our runnable time spent waiting
        self.controller: Controller | None = None
        self.monitor: threading.Thread | None = None
        self.stop = threading.Event()


_state = _State()


# ---------------------------------------------------------------- BLAS entry points
def _loaded_blas_paths() -> list[str]:
    """Shared libraries of a BLAS mapped into this process (Linux), else NumPy's bundled ones."""
    paths: list[str] = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.rsplit(None, 1)[-1]
                name = os.path.basename(path).lower()
                if (("openblas" in name or "mkl_rt" in name) and ".so" in name
                        and path not in paths):
                    paths.append(path)
    except OSError:
        pass
    if not paths:  # macOS/Windows: the libraries NumPy's wheels bundle
        import importlib.util

        spec = importlib.util.find_spec("numpy")
        root = os.path.dirname(os.path.dirname(spec.origin)) if spec and spec.origin else ""
        for sub in ("numpy.libs", os.path.join("numpy", ".dylibs")):
            folder = os.path.join(root, sub)
            if root and os.path.isdir(folder):
                paths += [os.path.join(folder, n) for n in sorted(os.listdir(folder))
                          if "blas" in n.lower()]
    return paths


def _blas_thread_funcs() -> tuple[Any, Any]:
    """(set, get) C functions of NumPy's BLAS thread count, or (None, None)."""
    global _blas_funcs
    if _blas_funcs is None:
        _blas_funcs = (None, None)
        try:
            for path in _loaded_blas_paths():
                try:
                    lib = ctypes.CDLL(path)
                except OSError:
                    continue
                setter = next((getattr(lib, n) for n in _SET_NAMES if hasattr(lib, n)), None)
                getter = next((getattr(lib, n) for n in _GET_NAMES if hasattr(lib, n)), None)
                if setter is not None and getter is not None:
                    setter.argtypes, setter.restype = [ctypes.c_int], None
                    getter.argtypes, getter.restype = [], ctypes.c_int
                    _blas_funcs = (setter, getter)
                    break
        except Exception:  # pragma: no cover - exotic platforms
            pass
    return _blas_funcs


def blas_threads_settable() -> bool:
    """True when the BLAS thread count can be changed at run time."""
    return _blas_thread_funcs()[0] is not None


# ---------------------------------------------------------------- CPUs we may use
def _env_threads(env: Mapping[str, str] | None = None) -> int | None:
    env = os.environ if env is None else env
    for var in _ENV_VARS:
        try:
            n = int(env.get(var, ""))
        except ValueError:
            continue
        if n > 0:
            return n
    return None


def allowed_cpus() -> list[int]:
    """CPU ids this process may run on (its affinity mask; all CPUs where that is unknown)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return list(range(os.cpu_count() or 1))


def cgroup_cpu_limit(read: Callable[[str], str] | None = None) -> float | None:
    """CPUs granted by a cgroup v2 quota (``cpu.max``), or None when there is none."""
    read = read or _read_text
    try:
        rel = ""
        for line in read("/proc/self/cgroup").splitlines():
            if line.startswith("0::"):
                rel = line[3:].strip().lstrip("/")
        for path in (f"/sys/fs/cgroup/{rel}/cpu.max" if rel else None, "/sys/fs/cgroup/cpu.max"):
            if path is None:
                continue
            try:
                quota, period = read(path).split()[:2]
            except (OSError, ValueError):
                continue
            if quota != "max":
                return int(quota) / int(period)
    except (OSError, ValueError):
        pass
    return None


def usable_cpus() -> int:
    """How many CPUs this process can keep busy: its affinity, capped by a CPU quota."""
    n = len(allowed_cpus())
    limit = cgroup_cpu_limit()
    if limit is not None:
        n = min(n, max(1, int(limit)))
    return max(1, n)


def _read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


# ---------------------------------------------------------------- setting the count
def _resolve() -> None:
    """Fill in the maximum on first use: the user's count, else the usable CPUs."""
    if _state.max:
        return
    getter = _blas_thread_funcs()[1]
    loaded = int(getter()) if getter is not None else 0
    n = _threads.get("n") or _env_threads()
    if n is None:
        n = usable_cpus()
        if loaded:  # the BLAS pool was sized at load time; never exceed it
            n = max(1, min(n, loaded))
    _state.max = _state.avail = n
    _state.current = loaded
    if loaded and n < loaded:  # e.g. a CPU quota or affinity smaller than the machine
        _apply(n)


def _apply(n: int) -> None:
    """Set the BLAS thread count to ``n`` unless it is already (caller holds ``_lock``)."""
    if n != _state.current:
        setter = _blas_thread_funcs()[0]
        if setter is not None:
            setter(int(n))
        _state.current = n


def _target() -> int:
    """The count BLAS should have now: the innermost section's (0: follow the adaptive one)."""
    return (_state.pinned[-1] if _state.pinned else 0) or _state.avail


def get_num_threads() -> int:
    """Threads softgrad may use: BLAS matrix products and its own threaded kernels.

    The user's count (:func:`set_num_threads`, ``OMP_NUM_THREADS``...) when given, else the
    CPUs this process may use. Under CPU contention fewer are used (:func:`effective_threads`).
    """
    n = _threads.get("n")
    if n is not None:
        return n
    _resolve()
    return _state.max


def effective_threads() -> int:
    """Threads to use right now: :func:`get_num_threads`, lowered by the adaptive policy
    while other processes keep cores busy."""
    n = _threads.get("n")
    if n is not None:
        return n
    _resolve()
    return _state.avail


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for BLAS (through its C API, found with ctypes) and for softgrad's
    multi-threaded element-wise kernels (optimizer updates). An explicit count turns the
    adaptive policy off; small products (:func:`blas_threads_for`) still run on one thread.

    Where the BLAS exposes no such function, only softgrad's own kernels follow ``n``; set
    ``OMP_NUM_THREADS`` before importing NumPy to size the BLAS pool then.
    """
    if isinstance(n, bool):
        raise ValueError(f"set_num_threads expects a positive int, got {n!r}")
    try:
        n = operator.index(n)
    except TypeError:
        raise ValueError(f"set_num_threads expects a positive int, got {n!r}") from None
    if n < 1:
        raise ValueError(f"set_num_threads expects a positive int, got {n!r}")
    with _lock:
        _threads["n"] = n
        _resolve()
        _state.max = _state.avail = n
        _state.current = 0  # force the C call: the library may have been changed behind us
        _apply(_target())


def set_adaptive(enabled: bool) -> None:
    """Turn the adaptive policy on or off for this process (default: on unless the user
    set a thread count or ``SOFTGRAD_ADAPTIVE_THREADS=0``). Off restores the maximum."""
    _state.adaptive = bool(enabled)
    if enabled:
        start_monitor()
    else:
        _state.stop.set()
        with _lock:
            _resolve()
            _state.avail = _state.max
            _apply(_target())


def adaptive_active() -> bool:
    """True while the adaptive policy may lower the thread count."""
    return (_state.adaptive and "n" not in _threads and _env_threads() is None
            and blas_threads_settable())


@contextmanager
def blas_threads_for(work: int) -> Iterator[int]:
    """Context for a run of products of ``work`` multiply-adds (m*n*k) each: one BLAS thread
    when ``work < MIN_PARALLEL_WORK``, else :func:`effective_threads`. Yields the count.

    Costs two C calls at most (none when the count is already right); nests.
    """
    _resolve()
    with _lock:
        small = work < MIN_PARALLEL_WORK
        _state.pinned.append(1 if small else 0)  # 0: follow the adaptive count
        _apply(_target())
    try:
        yield 1 if small else effective_threads()
    finally:
        with _lock:
            _state.pinned.pop()
            _apply(_target())


# ---------------------------------------------------------------- adapting to contention
def adapt_once(sampler: Sampler, prev: Reading) -> Reading:
    """One step of the adaptive policy: sample, measure contention, maybe change the count.
    Returns the new reading (the next call's ``prev``)."""
    cur = sampler.sample()
    others = others_cores(prev, cur, len(sampler.cpus))
    wait = wait_fraction(prev, cur)
    with _lock:
        _resolve()
        if not adaptive_active():
            return cur
        ctrl = _state.controller
        if ctrl is None or ctrl.max != _state.max:
            ctrl = _state.controller = Controller(_state.max, len(sampler.cpus))
            ctrl.n = _state.avail
        _state.others, _state.wait = others, wait
        n = ctrl.step(others, wait, cur.wall)
        if n != _state.avail:
            _state.avail = n
            _apply(_target())
    return cur


def _monitor_loop(sampler: Sampler, stop: threading.Event) -> None:
    try:
        prev = sampler.sample()
        pause = FIRST_INTERVAL_S
        while not stop.wait(pause) and adaptive_active():
            prev = adapt_once(sampler, prev)
            ctrl = _state.controller
            pause = PROBE_WINDOW_S if ctrl is not None and ctrl.probing else INTERVAL_S
    except Exception:  # pragma: no cover - /proc vanished or changed format: stay as we are
        return


def start_monitor() -> bool:
    """Start the adaptive policy's daemon thread (once per process); returns whether it runs."""
    mon = _state.monitor
    if mon is not None and mon.is_alive():
        return True
    if not adaptive_active() or not os.path.exists("/proc/stat"):
        return False
    _resolve()
    if _state.max <= 1 or len(allowed_cpus()) <= 1:
        return False
    _state.stop = threading.Event()
    _state.controller = None
    _state.monitor = threading.Thread(target=_monitor_loop,
                                      args=(Sampler(allowed_cpus()), _state.stop),
                                      name="softgrad-threads", daemon=True)
    _state.monitor.start()
    return True


def policy() -> dict:
    """A snapshot of the thread policy: for logs, benchmarks and tests."""
    _resolve()
    return {"max": get_num_threads(), "effective": effective_threads(),
            "adaptive": adaptive_active(), "monitor": bool(_state.monitor and
                                                           _state.monitor.is_alive()),
            "others_cores": round(_state.others, 2),
            "wait_share": None if _state.wait is None else round(_state.wait, 2),
            "min_parallel_work": MIN_PARALLEL_WORK}


def _after_fork_in_child() -> None:
    """A forked child has no monitor thread and a fresh lock; start again."""
    global _lock
    _lock = threading.Lock()
    _state.monitor = None
    _state.pinned = []
    start_monitor()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
