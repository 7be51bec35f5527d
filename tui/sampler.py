"""Sample the run's processes with psutil, in a thread worker, never on the event loop.

Each pass reads RSS, USS and PSS (memory_full_info: /proc/PID/smaps_rollup),
CPU %, threads, state and ppid of the runner, every pid the events named, and
every descendant of the runner (the helper processes the interpreter starts:
resource tracker, fork server, manager). One `Samples` message per pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psutil
from textual.message import Message

from tui.messages import ProcSample, Samples

INTERVAL = 0.5  # seconds between passes: 2 Hz keeps the app light
MANY = 16  # beyond this many processes a pass costs more: space the passes out
PAUSED = 2.0  # seconds between passes while the run waits for a step: nothing moves but psutil
FULL_EVERY = 5  # passes: USS and PSS (smaps_rollup, the dear read) again even if RSS stayed


def interval_for(processes: int, base: float = INTERVAL) -> float:
    """Seconds until the next pass: base up to MANY processes, then growing, at most 2 s."""
    return base if processes <= MANY else min(2.0, base * processes / MANY)


def guess_role(cmdline: list[str]) -> str:
    text = " ".join(cmdline)
    if "resource_tracker" in text:
        return "resource-tracker"
    if "forkserver" in text:
        return "forkserver"
    if "spawn_main" in text:
        return "process"
    return ""


class Sampler:
    """Samples the processes of one run until stopped."""

    def __init__(self, run_id: int, runner_pid: int, known: Callable[[], set[int]],
                 post: Callable[[Message], object], interval: float = INTERVAL) -> None:
        self.run_id = run_id
        self.runner_pid = runner_pid
        self.known = known
        self.post = post
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()  # a pass now: stopped, or the run goes on again
        self._paused = False
        self._procs: dict[int, psutil.Process] = {}
        self._dead: set[int] = set()
        # pid -> (rss, uss, pss, pass): the last full reading, kept while RSS does not move
        self._full: dict[int, tuple[int, int | None, int | None, int]] = {}
        self._pass = 0

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def paused(self, paused: bool) -> None:
        """The run waits for a step (sample slowly), or goes on (sample now, then as usual)."""
        if self._paused and not paused:
            self._wake.set()
        self._paused = paused

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def loop(self) -> None:
        """The worker body: one pass, then wait for the next tick or the stop."""
        while True:
            samples = self.sample()
            self.post(samples)
            wait = interval_for(len(samples.samples), self.interval)
            self._wake.wait(max(wait, PAUSED) if self._paused else wait)
            self._wake.clear()
            if self._stop.is_set():
                return

    def pids(self) -> set[int]:
        pids = set(self.known()) | {self.runner_pid}
        runner = self._procs.get(self.runner_pid)
        try:
            if runner is None:
                runner = psutil.Process(self.runner_pid)
                self._procs[self.runner_pid] = runner
            pids.update(child.pid for child in runner.children(recursive=True))
        except psutil.Error:
            pass
        return pids - self._dead

    def sample(self) -> Samples:
        self._pass += 1
        found: dict[int, ProcSample] = {}
        gone: set[int] = set()
        for pid in sorted(self.pids()):
            sample = self._one(pid)
            if sample is None:
                gone.add(pid)
                self._dead.add(pid)
                self._procs.pop(pid, None)
                self._full.pop(pid, None)
            else:
                found[pid] = sample
        return Samples(self.run_id, found, frozenset(gone))

    def _memory(self, pid: int, proc: psutil.Process) -> tuple[int, int | None, int | None]:
        """(RSS, USS, PSS). USS and PSS take reading smaps_rollup, which costs the kernel a walk
        of the page tables: read again only when RSS moved (statm, cheap), or every FULL_EVERY
        passes (another process's copy can change this one's PSS). At 100 idle processes that
        is most of a pass's cost."""
        rss = proc.memory_info().rss
        kept = self._full.get(pid)
        if kept is not None and kept[0] == rss and self._pass - kept[3] < FULL_EVERY:
            return rss, kept[1], kept[2]
        try:
            full = proc.memory_full_info()
        except (psutil.AccessDenied, psutil.ZombieProcess):
            return rss, None, None
        uss, pss = full.uss, getattr(full, "pss", None)
        self._full[pid] = (full.rss, uss, pss, self._pass)
        return full.rss, uss, pss

    def _one(self, pid: int) -> ProcSample | None:
        try:
            proc = self._procs.get(pid)
            first = proc is None
            if proc is None:
                proc = psutil.Process(pid)
                self._procs[pid] = proc
            with proc.oneshot():
                state = proc.status()
                if state == psutil.STATUS_ZOMBIE:
                    return ProcSample(pid, None, "zombie", None, None, None, None, None)
                ppid = proc.ppid()
                cpu = proc.cpu_percent(None)
                threads = proc.num_threads()
                guess = guess_role(proc.cmdline()) if first else ""
                rss, uss, pss = self._memory(pid, proc)
        except psutil.NoSuchProcess:
            return None
        except psutil.Error:
            return ProcSample(pid, None, "?", None, None, None, None, None)
        return ProcSample(pid, ppid, state, rss, uss, pss, None if first else cpu, threads, guess)
