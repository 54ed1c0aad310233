"""The thread policy (softgrad/backend_threads.py): decisions from fake /proc readings, the
switch it makes in the BLAS library, the user's count winning, small-product sections."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import softgrad as sg
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
    """A 2-CPU /proc/stat and a process clock, advanced window by window."""

    def __init__(self) -> None:
        self.busy, self.idle, self.own_s = [0, 0], [0, 0], 0.0

    def window(self, others: float, own: float, ticks: int = 50) -> None:
        """``ticks`` ticks per CPU pass; others keep ``others`` cores busy, we ``own``."""
        busy = (others + own) * ticks  # spread over both CPUs
        for c in range(2):
            b = min(ticks, round(busy / 2))
            self.busy[c] += b
            self.idle[c] += ticks - b
        self.own_s += own * ticks / 100  # 100 ticks per second

    def sampler(self) -> bt.Sampler:
        s = bt.Sampler(read_stat=lambda: _stat(self.busy[0], self.idle[0], self.busy[1],
                                               self.idle[1]),
                       own_seconds=lambda: self.own_s, cpus=[0, 1])
        s.hz = 100
        return s


# ------------------------------------------------------------------ pure decision logic
def test_parse_proc_stat_sums_the_allowed_cpus_and_counts_steal_as_busy() -> None:
    text = ("cpu  10 0 5 100 3 0 0 0 0 0\n"
            "cpu0 4 0 2 50 1 0 0 7 0 0\n"
            "cpu1 6 0 3 50 2 0 0 0 0 0\n"
            "intr 1 2 3\n")
    assert bt.parse_proc_stat(text, None) == (4 + 2 + 7 + 6 + 3, 64 + 61)
    assert bt.parse_proc_stat(text, [1]) == (9, 61)
    assert bt.parse_proc_stat(text, [0]) == (13, 64)  # steal (7) is time others took


def test_others_cores_is_busy_time_minus_our_own() -> None:
    # 2 CPUs, 100 ticks each: 150 busy ticks, 50 of them ours -> others keep 1 core busy
    assert bt.others_cores((0, 0, 0.0), (150, 200, 50.0), 2) == pytest.approx(1.0)
    assert bt.others_cores((0, 0, 0.0), (50, 200, 60.0), 2) == 0.0  # never negative
    assert bt.others_cores((5, 7, 1.0), (5, 7, 1.0), 2) == 0.0  # no time passed


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
def test_decide_drops_at_once_and_rises_after_two_quiet_windows(current, others, votes,
                                                                 expected) -> None:
    assert bt.decide(current, 2, 2, others, votes) == expected


def test_decide_respects_the_maximum_on_a_larger_machine() -> None:
    assert bt.decide(4, 4, 16, 3.0, 0) == (4, 0)  # 13 cores free, the user allows 4
    assert bt.decide(16, 16, 16, 3.0, 0) == (13, 0)
    assert bt.decide(13, 16, 16, 0.0, 1) == (16, 0)


def test_cgroup_quota_is_read_from_the_process_cgroup() -> None:
    files = {"/proc/self/cgroup": "0::/jobs/a\n", "/sys/fs/cgroup/jobs/a/cpu.max": "150000 100000"}

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
    old = (bt._state.max, bt._state.avail, bt._state.adaptive, bt._state.up_votes)
    bt._state.max = bt._state.avail = 2
    bt._state.adaptive, bt._state.up_votes = True, 0
    with bt._lock:
        bt._apply(2)
    yield bt._state
    bt._threads.clear()
    bt._threads.update(saved)
    bt._state.max, bt._state.avail, bt._state.adaptive, bt._state.up_votes = old
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
def test_policy_switches_blas_to_one_thread_under_a_neighbour_and_back(policy) -> None:
    machine = FakeMachine()
    sampler = machine.sampler()
    prev = sampler.sample()
    machine.window(others=0.0, own=1.0)
    prev = bt.adapt_once(sampler, prev)
    assert (sg.backend.effective_threads(), blas_now()) == (2, 2)
    machine.window(others=1.0, own=1.0)  # a CPU-bound neighbour appears
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
    machine.window(others=2.0, own=0.0)
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
        machine.window(others=1.0, own=1.0)
        bt.adapt_once(sampler, prev)
        assert blas_now() == 1  # a large section follows the adaptive count
    assert blas_now() == 1


def test_set_num_threads_rejects_bad_values() -> None:
    for bad in (0, -1, 1.5, "2", True, None):
        with pytest.raises(ValueError, match="positive int"):
            sg.set_num_threads(bad)


def _child(code: str, **env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k not in bt._ENV_VARS
            and k != "SOFTGRAD_ADAPTIVE_THREADS"}
    full.update(env)
    full["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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
