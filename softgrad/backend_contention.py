"""Measuring CPU contention for the adaptive thread policy (``backend_threads``) and deciding.

Two signals, sampled every :data:`INTERVAL_S` from Linux's ``/proc`` (a few tens of
microseconds per sample, in a daemon thread):

* ``others``: cores kept busy by *other* processes on the CPUs we may use, ``/proc/stat``
  busy time minus this process's own CPU time. It says how many cores are left for us if
  everyone has the same priority.
* ``wait``: the share of our threads' runnable time spent waiting for a CPU
  (``/proc/self/task/*/schedstat``: time on a CPU and time on a run queue). It says
  whether our threads actually get their cores: a neighbour at lower priority (``nice``,
  a background job) can keep a core busy without ever delaying us.

:class:`Controller` turns them into a thread count: fewer at once when our threads wait
(or, without schedstat, when others take our cores); more when others leave cores free, or
when a short *probe* (0.2 s at the maximum, at growing intervals) finds that our threads
get their cores after all.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

INTERVAL_S = 0.5        # sampling period
FIRST_INTERVAL_S = 0.1  # the first window, right after import
DOWN_SLACK = 0.5        # cores: hysteresis of the others-based decisions
UP_SLACK = 0.25
WAIT_BAD = 0.3          # our threads wait this share of their runnable time: too many threads
WAIT_OK = 0.2           # a probe at more threads succeeds at or below this share
MIN_ACTIVE = 0.2        # runnable threads on average below which ``wait`` says nothing
PROBE_FIRST_S = 8.0     # first probe this long after a reduction; doubles after each failure
PROBE_MAX_S = 128.0
PROBE_WINDOW_S = 0.2    # a probe's window: short, since under contention it runs slowly


@dataclass
class Reading:
    """One sample: busy and total ticks of our CPUs, our CPU ticks, per-thread
    ``(cpu_ns, wait_ns)`` (None without schedstat) and the wall clock."""

    busy: int
    total: int
    own_ticks: float
    tasks: dict | None = None
    wall: float = field(default_factory=time.monotonic)


def parse_proc_stat(text: str, cpus: list[int] | None) -> tuple[int, int]:
    """(busy, total) clock ticks summed over the given CPU ids (all when None) of a
    ``/proc/stat`` text. Busy is everything but idle and iowait (steal included)."""
    busy = total = 0
    wanted = None if cpus is None else {f"cpu{c}" for c in cpus}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            if busy or total:
                break  # the cpu lines come first
            continue
        name, *fields = line.split()
        if name == "cpu" or (wanted is not None and name not in wanted):
            continue
        vals = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
        total += sum(vals)
        busy += sum(vals) - vals[3] - (vals[4] if len(vals) > 4 else 0)
    return busy, total


def others_cores(prev: Reading, cur: Reading, n_cpus: int) -> float:
    """Cores kept busy by other processes between two readings: busy ticks on our CPUs
    minus our own CPU ticks, over the ticks one CPU saw."""
    d_total = cur.total - prev.total
    if d_total <= 0 or n_cpus <= 0:
        return 0.0
    return max(0.0, (cur.busy - prev.busy - (cur.own_ticks - prev.own_ticks))
               / (d_total / n_cpus))


def wait_fraction(prev: Reading, cur: Reading) -> float | None:
    """Share of our threads' runnable time spent waiting for a CPU between two readings;
    None without schedstat or when our threads were hardly runnable (no evidence)."""
    if prev.tasks is None or cur.tasks is None or cur.wall <= prev.wall:
        return None
    run = wait = 0
    for tid, (c, w) in cur.tasks.items():
        old = prev.tasks.get(tid)
        if old is not None:
            run += max(0, c - old[0])
            wait += max(0, w - old[1])
    if (run + wait) / 1e9 / (cur.wall - prev.wall) < MIN_ACTIVE:
        return None
    return wait / (run + wait)


def read_schedstat(task_dir: str = "/proc/self/task") -> dict | None:
    """``{tid: (cpu_ns, wait_ns)}`` of this process's threads, None where unavailable."""
    out = {}
    try:
        tids = os.listdir(task_dir)
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"{task_dir}/{tid}/schedstat") as f:
                c, w = f.read().split()[:2]
            out[tid] = (int(c), int(w))
        except (OSError, ValueError):
            continue
    return out or None


def decide(current: int, max_threads: int, n_cpus: int, others: float,
           up_votes: int) -> tuple[int, int]:
    """The others-only rule (no schedstat): the next count and the windows voting for more.

    Fewer threads at once when others use more than ``n_cpus - current + DOWN_SLACK`` cores
    (they would preempt our workers mid-barrier); more only after two windows in a row that
    leave the extra cores free (within UP_SLACK), so one quiet moment does not flip it.
    """
    free = n_cpus - others
    down = max(1, min(max_threads, int(free + DOWN_SLACK)))
    if down < current:
        return down, 0
    up = max(1, min(max_threads, int(free + UP_SLACK)))
    if up > current:
        return (up, 0) if up_votes >= 1 else (current, up_votes + 1)
    return current, 0


class Controller:
    """The adaptive thread count, one :meth:`step` per sampling window (no I/O: testable)."""

    def __init__(self, max_threads: int, n_cpus: int) -> None:
        self.max, self.cpus, self.n = max_threads, n_cpus, max_threads
        self.up_votes = 0
        self.probing, self.before = False, max_threads
        self.interval, self.next_probe = PROBE_FIRST_S, 0.0
        self.has_wait = False  # schedstat seen at least once

    def step(self, others: float, wait: float | None, now: float) -> int:
        """The count for the next window, from this window's ``others`` and ``wait``."""
        self.has_wait = self.has_wait or wait is not None
        if self.probing:
            if wait is None:
                return self.n  # no evidence yet: one more window
            self.probing = False
            if wait <= WAIT_OK:  # our threads got their cores: keep them
                self.interval = PROBE_FIRST_S
                return self.n
            self.n = self.before
            self.interval = min(2 * self.interval, PROBE_MAX_S)
            self.next_probe = now + self.interval
            return self.n
        if not self.has_wait:  # no schedstat: others-only
            self.n, self.up_votes = decide(self.n, self.max, self.cpus, others, self.up_votes)
            return self.n
        if wait is None:
            return self.n  # idle window: hold
        free = self.cpus - others
        if self.n > 1 and wait > WAIT_BAD:
            self.n = max(1, min(self.n - 1, int(free + DOWN_SLACK)))
            self.up_votes, self.next_probe = 0, now + self.interval
            return self.n
        if self.n < self.max:
            fit = max(1, min(self.max, int(free + UP_SLACK)))
            if fit > self.n:
                self.up_votes += 1
                if self.up_votes >= 2:
                    self.n, self.up_votes, self.interval = fit, 0, PROBE_FIRST_S
            else:
                self.up_votes = 0
                if now >= self.next_probe:
                    self.probing, self.before, self.n = True, self.n, self.max
        return self.n


class Sampler:
    """Readings for the adaptive policy; the readers are injectable for tests."""

    def __init__(self, cpus: list[int], read_stat: Callable[[], str] | None = None,
                 own_seconds: Callable[[], float] | None = None,
                 read_tasks: Callable[[], dict | None] | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.read_stat = read_stat or (lambda: _read_text("/proc/stat"))
        self.own_seconds = own_seconds or time.process_time
        self.read_tasks = read_tasks or read_schedstat
        self.clock = clock or time.monotonic
        self.cpus = cpus
        try:
            self.hz = os.sysconf("SC_CLK_TCK")
        except (AttributeError, ValueError, OSError):  # pragma: no cover
            self.hz = 100

    def sample(self) -> Reading:
        busy, total = parse_proc_stat(self.read_stat(), self.cpus)
        return Reading(busy, total, self.own_seconds() * self.hz, self.read_tasks(),
                       self.clock())


def _read_text(path: str) -> str:
    with open(path) as f:
        return f.read()
