"""Soak: many runs, ended every way, a few at a time, leave nothing behind.

RUNS runs of `python -m scenarios` (every scenario under every start method, in a rotation),
CONCURRENCY at a time, each ended one of the WAYS: to its end; stopped at its first checkpoint
of a --step run by "stop" on stdin, or by closing stdin; timed out (the misbehave fixture's
hang, --timeout 0.5); the runner SIGKILLed while its run is paused at a checkpoint, or while
it runs; the runner SIGTERMed while it runs. Before and after, with deadlines:

- processes: no descendant of this test is left, and no process of the soak anywhere (every
  run's environment carries a token, so a runner's orphans count too, wherever they went);
- /dev/shm: no entry the soak made is left. Which are the soak's: new since it began, and held
  (mapped or open) by one of its processes, which a thread of this test looks at every SAMPLE
  seconds (other programs on the machine make and leave entries too), or named in its events;
- pymp-* folders: none left in the soak's own TMPDIR (where multiprocessing makes them);
- this test's own open descriptors: as many as before.

Marked slow; it runs in CI (`make test` runs the whole suite). STATELAB_SOAK_RUNS changes the
number of runs.
"""

from __future__ import annotations

import glob
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.contract import check_stream
from tests.runs import START_METHODS

pytestmark = pytest.mark.slow

RUNS = int(os.environ.get("STATELAB_SOAK_RUNS", "200"))
CONCURRENCY = 3
RUN_LIMIT = 60.0  # seconds one run may take, however it is ended
SETTLE = 15.0  # seconds for what the runs leave to go away after the last one ended
SAMPLE = 0.02  # seconds between two looks at what the soak's processes hold in /dev/shm
SCENARIOS = ("queue-copy", "shared-value", "shared-array", "pass-via-queue", "small-int-id",
             "type-codes", "race", "copy-on-write", "shared-memory", "manager", "remote-manager")
# 7 ways, 33 scenario × method pairs: coprime, so every pair meets several ways
WAYS = ("end", "stop", "close", "kill-paused", "timeout", "kill-running", "term-running")
NO_CHECKPOINT = {"small-int-id"}  # stopped or killed at its first child's first event instead
ACTED = WAYS[1:4] + WAYS[5:]  # the ways that act on the run (stop, close, kill, term)
TOKEN = "STATELAB_SOAK"


@dataclass
class SoakRun:
    index: int
    scenario: str
    method: str
    way: str
    proc: subprocess.Popen[bytes] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    buffer: bytes = b""
    stderr: bytes = b""
    acted: bool = False
    open_streams: int = 2
    started: float = 0.0

    def __str__(self) -> str:
        return f"run {self.index} ({' '.join(self.argv())}, {self.way})"

    def argv(self) -> list[str]:
        if self.way == "timeout":
            return ["misbehave", "--how", "hang", "--start-method", self.method, "--timeout", "0.5"]
        argv = [self.scenario, "--start-method", self.method]
        if self.way in ("stop", "close", "kill-paused"):
            argv += ["--step", "--control"]
        return argv

    def start(self, env: dict[str, str]) -> None:
        paused = self.way in ("stop", "close", "kill-paused")
        tmp = os.path.join(env["TMPDIR"], str(self.index))  # its own: what is left says whose
        os.mkdir(tmp)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scenarios", *self.argv()],
            env={**env, TOKEN: f"{env[TOKEN]}-{self.index}", "TMPDIR": tmp},
            stdin=subprocess.PIPE if paused else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.started = time.monotonic()

    def take(self, event: dict[str, Any]) -> None:
        """One event read: act on it when it is the moment this run's way names."""
        proc = self.proc
        assert proc is not None
        if self.acted or event["kind"] == "run-end":
            return
        held = event["kind"] == "checkpoint" and event.get("data", {}).get("hold")
        running = event["role"].startswith("child")  # the scenario's child is under way
        if self.way in ("stop", "close", "kill-paused") and (
                held or (running and self.scenario in NO_CHECKPOINT)):
            self.acted = True
            assert proc.stdin is not None
            if self.way == "stop":
                proc.stdin.write(b"stop\n")
                proc.stdin.flush()
            elif self.way == "close":
                proc.stdin.close()
            else:
                proc.send_signal(signal.SIGKILL)
        elif running and self.way in ("kill-running", "term-running"):
            self.acted = True
            proc.send_signal(signal.SIGKILL if self.way == "kill-running" else signal.SIGTERM)

    def check(self) -> None:
        """How the run ended, as its way says it must."""
        proc = self.proc
        assert proc is not None
        ends = [e for e in self.events if e["kind"] == "run-end"]
        killed = self.acted and self.way.startswith("kill")
        if killed and not ends:
            assert proc.returncode == -signal.SIGKILL, (str(self), proc.returncode)
            return
        assert ends, f"{self}: no run-end (exit {proc.returncode}): {self.stderr.decode()[-2000:]}"
        check_stream(self.events, self.lines)
        status = ends[0]["status"]
        wanted = {"end": {"ok"}, "timeout": {"timeout"}, "stop": {"stopped"},
                  "close": {"stopped"}}.get(self.way, {"ok", "stopped"})  # a signal may come late
        if not self.acted and self.way not in ("end", "timeout"):  # over before the moment came
            wanted = {"ok"}
        assert status in wanted, f"{self}: status {status}, wanted {wanted}: " + "; ".join(
            e["text"] for e in self.events if e["kind"] == "error")
        left = [e for e in self.events if e.get("data", {}).get("shm_left")]
        assert not left, f"{self}: the runner says it left {left[0]['text']}"


def plan(runs: int) -> list[SoakRun]:
    pairs = [(s, m) for m in START_METHODS for s in SCENARIOS]
    return [SoakRun(i, *pairs[i % len(pairs)], WAYS[i % len(WAYS)]) for i in range(runs)]


# -- what is left ---------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(task) as f:
                found += [int(p) for p in f.read().split()]
        except OSError:
            continue
    return found


def descendants(root: int) -> set[int]:
    found: set[int] = set()
    todo = [root]
    while todo:
        for kid in children(todo.pop()):
            if kid not in found:
                found.add(kid)
                todo.append(kid)
    return found


def soak_processes(token: str) -> dict[int, str]:
    """Every live process whose environment carries the soak's token: its command line."""
    found: dict[int, str] = {}
    mark = f"{TOKEN}={token}".encode()
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if not any(v.startswith(mark) for v in f.read().split(b"\0")):
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                found[pid] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone, or a zombie
            continue
    return found


class ShmHeld(threading.Thread):
    """Looks, every SAMPLE seconds, at the /dev/shm files the soak's processes hold (mapped or
    open): this test's descendants, and those it met before, once orphaned (a SIGKILLed
    runner's); every SCAN_EVERY looks, at every process whose environment has the token."""

    SCAN_EVERY = 25

    def __init__(self, token: str) -> None:
        super().__init__(daemon=True)
        self.token = token
        self.dev = os.stat("/dev/shm").st_dev
        self.tag = f"{os.major(self.dev):02x}:{os.minor(self.dev):02x}".encode()  # as maps shows it
        self.held: dict[int, str] = {}  # inode -> who held it first: "run N: pid P, cmdline"
        self.known: dict[int, tuple[str, str]] = {}  # pid -> (start time, who): the same process
        self.halt = threading.Event()

    def run(self) -> None:
        me, looks = os.getpid(), 0
        while not self.halt.wait(SAMPLE):
            looks += 1
            found = set(soak_processes(self.token)) if looks % self.SCAN_EVERY == 0 else set()
            for pid in descendants(me) | found:
                if pid not in self.known:
                    self.known[pid] = (started(pid), who(pid))
            for pid, (when, name) in list(self.known.items()):
                if started(pid) != when or not when:
                    del self.known[pid]  # gone (or its pid taken by another)
                else:
                    self.look(pid, name)

    def look(self, pid: int, name: str) -> None:
        try:
            with open(f"/proc/{pid}/maps", "rb") as f:
                maps = f.read()
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            return
        for line in maps.split(b"\n"):
            parts = line.split(None, 5)
            if len(parts) >= 5 and parts[3] == self.tag:
                self.held.setdefault(int(parts[4]), name)
        for fd in fds:
            try:
                st = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if st.st_dev == self.dev:
                self.held.setdefault(st.st_ino, name)


def who(pid: int) -> str:
    """Which run of the soak a process belongs to, its pid and command line."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")[:100]
    except OSError:
        return f"pid {pid}"
    run = env.get(TOKEN.encode(), b"?").decode().rsplit("-", 1)[-1]
    return f"run {run}: pid {pid}, {cmdline}"


def started(pid: int) -> str:
    """The start time of a live process ("" if gone or a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return "" if fields[0] == "Z" else fields[19]


def shm_inodes() -> dict[str, int]:
    found: dict[str, int] = {}
    for name in os.listdir("/dev/shm"):
        try:
            found[name] = os.stat(f"/dev/shm/{name}", follow_symlinks=False).st_ino
        except OSError:
            continue
    return found


def whose(runs: list[SoakRun], held_by: str) -> str:
    """'run N: ...' with run N described."""
    index = held_by.split(":", 1)[0].removeprefix("run ")
    return f"{runs[int(index)]}, {held_by}" if index.isdigit() else held_by


def named_in(runs: list[SoakRun]) -> str:
    return "\n".join(line for r in runs for line in r.lines)


# -- the soak -------------------------------------------------------------------------------

def drive(runs: list[SoakRun], env: dict[str, str]) -> None:
    """Start the runs CONCURRENCY at a time, read them all, act on each at its moment."""
    sel = selectors.DefaultSelector()
    todo, active = list(runs), 0
    try:
        while todo or active:
            while todo and active < CONCURRENCY:
                run = todo.pop(0)
                run.start(env)
                assert run.proc is not None and run.proc.stdout and run.proc.stderr
                sel.register(run.proc.stdout, selectors.EVENT_READ, (run, "out"))
                sel.register(run.proc.stderr, selectors.EVENT_READ, (run, "err"))
                active += 1
            for key, _ in sel.select(1.0):
                run, stream = key.data
                chunk = os.read(key.fd, 65536)
                if stream == "err":
                    run.stderr = (run.stderr + chunk)[-65536:]
                else:
                    run.buffer += chunk
                    *whole, run.buffer = run.buffer.split(b"\n")
                    for raw in whole:
                        run.lines.append(raw.decode())
                        run.events.append(json.loads(raw))
                        run.take(run.events[-1])
                if not chunk:
                    sel.unregister(key.fileobj)
                    run.open_streams -= 1
                    if run.open_streams == 0:
                        assert run.proc is not None
                        run.proc.wait(timeout=RUN_LIMIT)
                        close(run)
                        run.check()
                        active -= 1
            for key in list(sel.get_map().values()):
                run = key.data[0]
                assert time.monotonic() - run.started < RUN_LIMIT, f"{run} took over {RUN_LIMIT} s"
    finally:
        sel.close()
        for run in runs:
            if run.proc is not None and run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()
            if run.proc is not None:
                close(run)


def close(run: SoakRun) -> None:
    assert run.proc is not None
    for f in (run.proc.stdin, run.proc.stdout, run.proc.stderr):
        if f is not None and not f.closed:
            try:
                f.close()
            except BrokenPipeError:
                pass


def settle(check: Any, within: float = SETTLE) -> Any:
    """Poll `check()` until it finds nothing, or the deadline; return what it found last."""
    deadline = time.monotonic() + within
    while (found := check()) and time.monotonic() < deadline:
        time.sleep(0.1)  # polling, until the deadline
    return found


def test_soak_leaves_nothing_behind() -> None:
    token = os.urandom(6).hex()
    tmp = tempfile.mkdtemp(prefix="soak-")
    env = {**os.environ, TOKEN: token, "TMPDIR": tmp}
    fds_before = os.listdir("/proc/self/fd")
    kids_before = descendants(os.getpid())
    shm_before = set(os.listdir("/dev/shm"))
    runs = plan(RUNS)
    held = ShmHeld(token)
    held.start()
    began = time.monotonic()
    shm: dict[str, int] = {}
    try:
        drive(runs, env)
        took = time.monotonic() - began

        text = named_in(runs)

        def shm_left() -> dict[str, int]:
            return {n: i for n, i in shm_inodes().items()
                    if n not in shm_before and (i in held.held or n in text)}

        procs = settle(lambda: soak_processes(token))
        kids = settle(lambda: descendants(os.getpid()) - kids_before)
        shm = settle(shm_left)
        pymp = settle(lambda: glob.glob(os.path.join(tmp, "*", "pymp-*")))
        ways = {w: sum(r.way == w for r in runs) for w in WAYS}
        others = sorted(set(os.listdir("/dev/shm")) - shm_before - set(shm))
        print(f"\nsoak: {len(runs)} runs, {CONCURRENCY} at a time, in {took:.1f} s; {ways}; "
              f"/dev/shm inodes held by the soak's processes: {len(held.held)}; over before "
              f"their moment came: {[str(r) for r in runs if not r.acted and r.way in ACTED]}; new in "
              f"/dev/shm, not the soak's: {others}")
        assert not procs, "processes of the soak left: " + "; ".join(
            whose(runs, who(p)) for p in procs)
        assert not kids, f"descendants of the test left: {kids}"
        assert not shm, "/dev/shm entries of the soak left: " + "; ".join(
            f"{n}, held by {whose(runs, held.held.get(i, 'nobody seen'))}" for n, i in shm.items())
        assert not pymp, "pymp-* folders left: " + "; ".join(
            f"{runs[int(p.split(os.sep)[-2])]}: {os.listdir(p)}" for p in pymp)
    finally:
        held.halt.set()
        held.join()
        for pid in soak_processes(token):  # whatever a failed soak left: not the next test's
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
        for name in shm:  # what a failed soak left in /dev/shm: not the next test's either
            try:
                os.unlink(f"/dev/shm/{name}")
            except OSError:
                pass
    fds_after = os.listdir("/proc/self/fd")
    assert len(fds_after) == len(fds_before), f"descriptors of the test: {fds_before} then {fds_after}"
