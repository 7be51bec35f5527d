"""The runner names only the /dev/shm entries its own run left, never another program's.

A file in /dev/shm does not say who made it, and on a machine with other Python programs
entries come and go during any run. The runner reports an entry as left by this run only if
it is new since the run began and one of the run's processes held it (mapped or open). Here a
child makes a segment nobody will remove and is then SIGKILLed, or ended at the deadline: that
segment is reported. A segment this test makes while the run goes (another program's, as far
as the run can tell) is not, even when it is still there when the run ends.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import pytest

from tests.contract import check_stream
from tests.runs import START_METHODS, alive

EXTRA = "leave-shm=tests.fixtures.shm_leaver"


def env() -> dict[str, str]:
    extra = ",".join(filter(None, [os.environ.get("STATELAB_EXTRA_SCENARIOS"), EXTRA]))
    return {**os.environ, "STATELAB_EXTRA_SCENARIOS": extra}


class Runner:
    """`python -m scenarios ...` read line by line, with deadlines."""

    def __init__(self, *argv: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "scenarios", *argv], env=env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.events: list[dict[str, Any]] = []
        self.lines: list[str] = []
        self.buffer = b""

    def until(self, wanted: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        """Read events until one is `wanted` (or run-end); return it."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\n", 1)
                event = json.loads(raw)
                self.lines.append(raw.decode())
                self.events.append(event)
                if wanted(event) or event["kind"] == "run-end":
                    return dict(event)
            left = deadline - time.monotonic()
            assert left > 0, f"nothing wanted in {timeout} s: {[e['text'] for e in self.events]}"
            if select.select([self.proc.stdout], [], [], left)[0]:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                assert chunk, f"the runner ended without run-end: {[e['text'] for e in self.events]}"
                self.buffer += chunk

    def finish(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        end = self.until(lambda e: False, timeout)
        assert end["kind"] == "run-end"
        self.proc.wait(timeout=10)
        check_stream(self.events, self.lines)
        return self.events

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


def reported(events: list[dict[str, Any]]) -> list[str]:
    """The entries the runner said this run left in /dev/shm."""
    found: list[str] = []
    for e in events:
        if e["kind"] == "output" and e["role"] == "runner" and "shm_left" in e.get("data", {}):
            assert "left in /dev/shm by this run" in e["text"], e["text"]
            found += e["data"]["shm_left"]
    return found


@contextmanager
def strangers_segment() -> Iterator[str]:
    """A segment of another program's (this test's), held open until the block ends, then
    removed; the resource tracker is not told of it (this test removes it itself)."""
    segment = SharedMemory(create=True, size=4096)
    resource_tracker.unregister(segment._name, "shared_memory")  # its name as registered
    try:
        yield segment.name
    finally:
        segment.close()
        try:
            os.unlink(f"/dev/shm/{segment.name}")
        except FileNotFoundError:
            pass


def remove(names: list[str]) -> None:
    for name in names:
        try:
            os.unlink(f"/dev/shm/{name}")
        except FileNotFoundError:
            pass


def processes_gone(events: list[dict[str, Any]], within: float = 5.0) -> list[int]:
    pids = {int(e["pid"]) for e in events}
    deadline = time.monotonic() + within
    while (left := sorted(p for p in pids if alive(p))) and time.monotonic() < deadline:
        select.select([], [], [], 0.05)
    return left


def made(event: dict[str, Any]) -> bool:
    return event["kind"] == "checkpoint" and event["data"]["name"] == "made"


@pytest.mark.parametrize("method", START_METHODS)
def test_a_segment_the_run_left_is_reported_and_a_strangers_is_not(method: str) -> None:
    """The child makes a segment nobody will remove and is SIGKILLed; meanwhile this test (a
    stranger to the run) makes one of its own. Only the child's is reported."""
    runner = Runner("leave-shm", "--start-method", method, "--timeout", "30")
    left: list[str] = []
    try:
        with strangers_segment() as theirs:
            runner.until(made)  # the runner looked at the child before it passed this on
            segment = next(e["data"]["value"] for e in runner.events
                           if e["kind"] == "observe" and e["data"]["what"] == "made")
            child = next(e["pid"] for e in runner.events if made(e))
            os.kill(child, signal.SIGKILL)
            events = runner.finish()
            left = reported(events)
            assert os.path.exists(f"/dev/shm/{theirs}"), "the stranger's segment was still there"
            assert theirs not in left, f"another program's segment reported: {left}"
        assert left == [segment], f"the run left {segment}; reported: {left}"
        assert os.path.exists(f"/dev/shm/{segment}"), "the runner removes nothing"
        exits = [e for e in events if e["kind"] == "process-exit" and e["pid"] == child]
        assert exits and all(e["data"].get("signal") == "SIGKILL" for e in exits), exits
        assert not processes_gone(events)
    finally:
        runner.close()
        remove(left or [e["data"]["value"] for e in runner.events
                        if e["kind"] == "observe" and e["data"].get("what") == "made"])


def test_a_segment_held_at_the_deadline_is_reported() -> None:
    """The run times out with the child holding its segment: the kill ladder ends it, and the
    segment, which nobody will remove, is reported."""
    runner = Runner("leave-shm", "--start-method", "spawn", "--timeout", "1.5")
    left: list[str] = []
    try:
        events = runner.finish()
        assert events[-1]["status"] == "timeout"
        segment = next(e["data"]["value"] for e in events
                       if e["kind"] == "observe" and e["data"]["what"] == "made")
        left = reported(events)
        assert left == [segment], f"the run left {segment}; reported: {left}"
        assert not processes_gone(events)
    finally:
        runner.close()
        remove(left)


def test_a_run_that_leaves_nothing_names_nothing_whatever_others_make() -> None:
    """A run that leaves nothing of its own, while another program makes (and keeps) a
    segment during it: nothing reported. Before, any new entry was named ('this run's, or
    another's')."""
    runner = Runner("misbehave", "--how", "hang", "--start-method", "spawn", "--timeout", "1")
    try:
        runner.until(lambda e: e["kind"] == "observe" and e["data"].get("what") == "child-running")
        with strangers_segment() as theirs:
            events = runner.finish()
            assert os.path.exists(f"/dev/shm/{theirs}")
        assert events[-1]["status"] == "timeout"
        assert reported(events) == [], [e["text"] for e in events if e["kind"] == "output"]
        assert not processes_gone(events)
    finally:
        runner.close()
