"""The thread policy (softgrad/backend_threads.py): decisions from fake /proc readings, the
switch it makes in the BLAS library, the user's count winning, small-product sections."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import softgrad as sg
from softgrad import backend_contention as bc
from softgrad import backend_threads as bt

STAT = """cpu  {all}
cpu0 {c0}
cpu1 {c1}
intr 12345 0 0 1
ctxt 999
procs_running 3
"""


def _cpu(busy: int, idle: int) -> str:
    # user nice system idle iowait irq softirq steal guest guest_nice
    return f"{busy} 0 0 {idle} 0 0 0 0 0 0"


def _stat(busy0: int, idle0: int, busy1: int, idle1: int) -> str:
    return STAT.format(all=_cpu(busy0 + busy1, idle0 + idle1), c0=_cpu(busy0, idle0),
                       c1=_cpu(busy1, idle1))


class FakeMachine:
    """A 2-CPU /proc/stat, a process clock and our threads' schedstat, window by window."""

    def __init__(self) -> None:
        self.busy, self.idle, self.own_s = [0, 0], [0, 0], 0.0
        self.run_ns, self.wait_ns, self.now = 0, 0, 0.0

    def window(self, others: float, own: float, wait: float = 0.0, ticks: int = 50) -> None:
        """``ticks`` ticks per CPU pass (100 a second); others keep ``others`` cores busy,
        we ``own``; our runnable threads spend the share ``wait`` of it waiting."""
        busy = (others + own) * ticks  # spread over both CPUs
        for c in range(2):
            b = min(ticks, round(busy / 2))
            self.busy[c] += b
            self.idle[c] += ticks - b
        secs = ticks / 100
        self.own_s += own * secs
        self.run_ns += int(own * secs * 1e9)
        if wait < 1:
            self.wait_ns += int(own * secs * 1e9 * wait / (1 - wait))
        self.now += secs

    def sampler(self, schedstat: bool = True) -> bc.Sampler:
        s = bc.Sampler([0, 1], read_stat=lambda: _stat(self.busy[0], self.idle[0], self.busy[1],
                                                       self.idle[1]),
                       own_seconds=lambda: self.own_s,
                       read_tasks=(lambda: {"1": (self.run_ns, self.wait_ns)}) if schedstat
                       else (lambda: None),
                       clock=lambda: self.now)
        s.hz = 100
        return s


# ------------------------------------------------------------------ pure decision logic
def test_parse_proc_stat_sums_the_allowed_cpus_and_counts_steal_as_busy() -> None:
    text = ("cpu  10 0 5 100 3 0 0 0 0 0\n"
            "cpu0 4 0 2 50 1 0 0 7 0 0\n"
            "cpu1 6 0 3 50 2 0 0 0 0 0\n"
            "intr 1 2 3\n")
    assert bc.parse_proc_stat(text, None) == (4 + 2 + 7 + 6 + 3, 64 + 61)
    assert bc.parse_proc_stat(text, [1]) == (9, 61)
    assert bc.parse_proc_stat(text, [0]) == (13, 64)  # steal (7) is time others took


def _r(busy, total, own, tasks=None, wall=0.0):
    return bc.Reading(busy, total, own, tasks, wall)


def test_others_cores_is_busy_time_minus_our_own() -> None:
    # 2 CPUs, 100 ticks each: 150 busy ticks, 50 of them ours -> others keep 1 core busy
    assert bc.others_cores(_r(0, 0, 0.0), _r(150, 200, 50.0), 2) == pytest.approx(1.0)
    assert bc.others_cores(_r(0, 0, 0.0), _r(50, 200, 60.0), 2) == 0.0  # never negative
    assert bc.others_cores(_r(5, 7, 1.0), _r(5, 7, 1.0), 2) == 0.0  # no time passed


def test_wait_fraction_from_schedstat() -> None:
    a = _r(0, 0, 0, {"1": (0, 0), "2": (10, 0), "9": (5, 5)}, wall=0.0)
    b = _r(0, 0, 0, {"1": (int(0.3e9), int(0.1e9)), "2": (int(0.2e9), int(0.4e9))}, wall=1.0)
    assert bc.wait_fraction(a, b) == pytest.approx(0.5 / 1.0, rel=1e-6)  # thread 9 exited
    idle = _r(0, 0, 0, {"1": (int(0.05e9), 0)}, wall=1.0)
    assert bc.wait_fraction(_r(0, 0, 0, {"1": (0, 0)}), idle) is None  # hardly runnable
    assert bc.wait_fraction(_r(0, 0, 0), b) is None  # no schedstat


@pytest.mark.parametrize("current,others,votes,expected", [
    (2, 1.0, 0, (1, 0)),     # one busy neighbour on 2 cores: drop to 1 at once
    (2, 0.7, 0, (1, 0)),
    (2, 0.4, 0, (2, 0)),     # a light neighbour: keep 2
    (1, 1.0, 0, (1, 0)),
    (1, 0.1, 0, (1, 1)),     # free again: one window votes for 2 ...
    (1, 0.1, 1, (2, 0)),     # ... the second one switches
    (1, 0.4, 1, (1, 0)),     # in the hysteresis band: stay, and the vote is reset
    (1, 2.0, 0, (1, 0)),     # never below 1
])
def test_others_only_rule(current, others, votes, expected) -> None:
    assert bc.decide(current, 2, 2, others, votes) == expected


def test_others_only_rule_respects_the_maximum_on_a_larger_machine() -> None:
    assert bc.decide(4, 4, 16, 3.0, 0) == (4, 0)  # 13 cores free, the user allows 4
    assert bc.decide(16, 16, 16, 3.0, 0) == (13, 0)
    assert bc.decide(13, 16, 16, 0.0, 1) == (16, 0)


def test_controller_drops_when_our_threads_wait_and_probes_with_backoff() -> None:
    c = bc.Controller(2, 2)
    assert c.step(1.0, 0.6, now=0.0) == 1  # a neighbour: our threads wait for cores
    assert c.step(1.0, 0.0, now=1.0) == 1  # one thread gets its core; no probe yet
    assert c.step(1.0, 0.0, now=8.0) == 2  # the first probe, 8 s later
    assert c.probing
    assert c.step(1.0, 0.5, now=8.2) == 1  # it fails: back, and the next one is 16 s away
    assert c.step(1.0, 0.0, now=24.0) == 1
    assert c.step(1.0, 0.0, now=24.5) == 2
    assert c.step(1.0, 0.05, now=24.7) == 2  # our threads get their cores now: stay
    assert not c.probing and c.step(1.0, 0.1, now=30.0) == 2


def test_controller_keeps_all_threads_beside_a_lower_priority_neighbour() -> None:
    c = bc.Controller(2, 2)
    for t in range(10):  # the other core is busy, yet our threads never wait: keep both
        assert c.step(1.0, 0.08, now=t * 0.5) == 2


def test_controller_rises_when_others_leave_and_holds_on_idle_windows() -> None:
    c = bc.Controller(2, 2)
    assert c.step(1.0, 0.7, now=0.0) == 1
    assert c.step(1.0, None, now=0.5) == 1  # idle window: no evidence
    assert c.step(0.05, 0.0, now=1.0) == 1  # the neighbour left: one vote ...
    assert c.step(0.05, 0.0, now=1.5) == 2  # ... two, and back up


def test_controller_without_schedstat_uses_others_only() -> None:
    c = bc.Controller(2, 2)
    assert c.step(1.0, None, now=0.0) == 1
    assert c.step(0.0, None, now=0.5) == 1
    assert c.step(0.0, None, now=1.0) == 2


def test_cgroup_quota_is_read_from_the_process_cgroup() -> None:
    files = {"/proc/self/cgroup": "0::/jobs/a\n",
             "/sys/fs/cgroup/jobs/a/cpu.max": "150000 100000"}

    def read(path: str) -> str:
        if path not in files:
            raise OSError(path)
        return files[path]

    assert bt.cgroup_cpu_limit(read) == 1.5
    files["/sys/fs/cgroup/jobs/a/cpu.max"] = "max 100000"
    assert bt.cgroup_cpu_limit(read) is None


# ------------------------------------------------------------------ the switch itself
@pytest.fixture
def policy(monkeypatch):
    """The adaptive policy on, driven by hand: the real monitor thread stopped, no user count,
    BLAS restored afterwards."""
    was_running = bt.policy()["monitor"]
    bt._state.stop.set()
    if bt._state.monitor is not None:
        bt._state.monitor.join(timeout=5)
    for var in bt._ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    saved = dict(bt._threads)
    bt._threads.clear()
    old = (bt._state.max, bt._state.avail, bt._state.adaptive, bt._state.controller)
    bt._state.max = bt._state.avail = 2
    bt._state.adaptive, bt._state.controller = True, None
    with bt._lock:
        bt._apply(2)
    yield bt._state
    bt._threads.clear()
    bt._threads.update(saved)
    bt._state.max, bt._state.avail, bt._state.adaptive, bt._state.controller = old
    with bt._lock:
        bt._state.current = 0
        bt._apply(bt._target())
    if was_running:
        bt.start_monitor()


def blas_now() -> int | None:
    getter = bt._blas_thread_funcs()[1]
    return None if getter is None else getter()


needs_blas = pytest.mark.skipif(not bt.blas_threads_settable(),
                                reason="this BLAS has no run-time thread-count function")


@needs_blas
@pytest.mark.parametrize("schedstat", [True, False])
def test_policy_switches_blas_to_one_thread_under_a_neighbour_and_back(policy,
                                                                       schedstat) -> None:
    machine = FakeMachine()
    sampler = machine.sampler(schedstat)
    prev = sampler.sample()
    machine.window(others=0.0, own=1.5)
    prev = bt.adapt_once(sampler, prev)
    assert (sg.backend.effective_threads(), blas_now()) == (2, 2)
    machine.window(others=1.0, own=1.0, wait=0.5)  # a CPU-bound neighbour appears
    prev = bt.adapt_once(sampler, prev)
    assert (sg.backend.effective_threads(), blas_now()) == (1, 1)
    assert sg.get_num_threads() == 2  # the maximum is unchanged
    machine.window(others=0.0, own=1.0)  # it stops: one quiet window is not enough
    prev = bt.adapt_once(sampler, prev)
    assert blas_now() == 1
    machine.window(others=0.05, own=1.0)
    prev = bt.adapt_once(sampler, prev)
    assert (sg.backend.effective_threads(), blas_now()) == (2, 2)


@needs_blas
def test_an_explicit_count_wins_over_the_policy(policy) -> None:
    machine = FakeMachine()
    sampler = machine.sampler()
    prev = sampler.sample()
    sg.set_num_threads(2)
    machine.window(others=2.0, own=0.5, wait=0.9)
    bt.adapt_once(sampler, prev)
    assert (sg.get_num_threads(), sg.backend.effective_threads(), blas_now()) == (2, 2, 2)
    assert not bt.adaptive_active()


def test_an_environment_count_turns_the_policy_off(policy, monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert not bt.adaptive_active()


@needs_blas
def test_small_product_sections_run_on_one_thread_and_restore(policy) -> None:
    with sg.backend.blas_threads_for(64 * 128 * 512) as n:
        assert n == 1 and blas_now() == 1
        with sg.backend.blas_threads_for(10 ** 9) as big:  # nested: a large product
            assert big == 2 and blas_now() == 2
        assert blas_now() == 1
    assert blas_now() == 2


@needs_blas
def test_contention_during_a_large_section_applies_at_once(policy) -> None:
    machine = FakeMachine()
    sampler = machine.sampler()
    prev = sampler.sample()
    with sg.backend.blas_threads_for(10 ** 9):
        machine.window(others=1.0, own=1.0, wait=0.5)
        bt.adapt_once(sampler, prev)
        assert blas_now() == 1  # a large section follows the adaptive count
    assert blas_now() == 1


def test_the_monitor_keeps_running_through_a_probe(policy, monkeypatch) -> None:
    """While the controller probes, the monitor waits the short probe window and goes on
    sampling (a missing name there once ended the thread at the first probe)."""
    class Probing:
        probing = True

    class Fixed:
        def sample(self) -> str:
            return "reading"

    stop, steps = bt.threading.Event(), []

    def step(sampler, prev):
        steps.append(prev)
        if len(steps) == 3:
            stop.set()
        return prev

    monkeypatch.setattr(bt, "FIRST_INTERVAL_S", 0.0)
    monkeypatch.setattr(bt, "PROBE_WINDOW_S", 0.0)
    monkeypatch.setattr(bt, "adapt_once", step)
    policy.controller = Probing()
    bt._monitor_loop(Fixed(), stop)
    assert steps == ["reading"] * 3


def test_set_num_threads_rejects_bad_values() -> None:
    for bad in (0, -1, 1.5, "2", True, None):
        with pytest.raises(ValueError, match="positive int"):
            sg.set_num_threads(bad)


def _child(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k not in bt._ENV_VARS
            and k != "SOFTGRAD_ADAPTIVE_THREADS"}
    full.update(env)
    full["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # the checkout's softgrad
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full, check=True, timeout=120).stdout.strip()


@pytest.mark.skipif(not (os.path.exists("/proc/stat") and len(bt.allowed_cpus()) > 1
                         and bt.blas_threads_settable()),
                    reason="needs Linux /proc, 2+ CPUs and a settable BLAS")
def test_monitor_starts_by_default_and_not_with_a_user_count() -> None:
    code = "import softgrad.backend_threads as b, softgrad; print(b.policy()['monitor'])"
    assert _child(code) == "True"
    assert _child(code, OMP_NUM_THREADS="2") == "False"
    assert _child(code, SOFTGRAD_ADAPTIVE_THREADS="0") == "False"
    fork = ("import os, softgrad.backend_threads as b, softgrad\n"
            "r, w = os.pipe()\n"
            "if os.fork() == 0:\n"
            "    os.write(w, str(b.policy()['monitor']).encode()); os._exit(0)\n"
            "os.wait(); print(os.read(r, 10).decode())")
    assert _child(fork) == "True"  # a forked child runs its own monitor
