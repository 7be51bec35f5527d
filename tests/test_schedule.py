"""Per-process release: in step mode, `step ROLE` or `step PID` on the control input lets only
that process go on; `step` alone (or an empty line) still lets every held process go on.

A run is driven by `Scheduler` as a person would: read the runner's events until the run is
in the state wanted (who is held where), then send one command. Commands that name no held
process, or are no command at all, get one note of the runner's, never an error: the run goes
on, and ends ok. interleave's processes each wait at `before-read` and `before-write`.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from scenarios.engine.protocol import Event, Observe, Output, decode
from scenarios.engine.state import RunState
from tests.contract import check_stream
from tests.runs import Run, assert_clean, shm


class Scheduler:
    """`python -m scenarios NAME ARGS --step`, driven one command at a time."""

    def __init__(self, scenario: str, *args: str, timeout: float = 30.0) -> None:
        self.before = shm()
        self.proc = subprocess.Popen([sys.executable, "-m", "scenarios", scenario, *args, "--step"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.state = RunState()
        self.lines: list[str] = []
        self.buffer = b""
        self.deadline = time.monotonic() + timeout

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def texts(self) -> list[str]:
        return [e.text for e in self.state.events]

    def next(self) -> Event:
        """Read the next event of the stream (and fold it into `state`)."""
        assert self.proc.stdout is not None
        while b"\n" not in self.buffer:
            left = self.deadline - time.monotonic()
            assert left > 0, f"the run did not get there in time: {self.texts()}"
            if select.select([self.proc.stdout], [], [], left)[0]:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                assert chunk, f"the runner ended without run-end: {self.texts()}"
                self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\n", 1)
        line = raw.decode()
        self.lines.append(line)
        event = decode(line)
        self.state.apply(event)
        return event

    def until(self, done: Callable[[RunState], bool]) -> None:
        """Read events until `done(state)` (at once if it is so already)."""
        while not done(self.state):
            assert not self.state.ended, f"the run ended first: {self.texts()}"
            self.next()

    def held(self) -> dict[str, str]:
        """role -> the checkpoint it is held at, as the events so far say."""
        return {self.state.processes[pid].role: name for pid, name in self.state.held.items()}

    def at(self, where: dict[str, str]) -> None:
        """Read events until each of these roles is held at that checkpoint."""
        self.until(lambda _: all(self.held().get(r) == c for r, c in where.items()))

    def saw(self, role: str, what: str) -> None:
        """Read events until `role` has observed `what`."""
        self.until(lambda s: any(isinstance(e, Observe) and e.role == role
                                 and e.data.get("what") == what for e in s.events))

    def send(self, line: str | bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line if isinstance(line, bytes) else line.encode() + b"\n")
        self.proc.stdin.flush()

    def notes(self) -> list[Output]:
        """The runner's notes on commands."""
        return [e for e in self.state.events if isinstance(e, Output) and e.role == "runner"
                and "command" in e.data]

    def note_after(self, count: int) -> Output:
        """Read events until the runner has made note number count + 1; return it."""
        self.until(lambda _: len(self.notes()) > count)
        return self.notes()[count]

    def finish(self) -> Run:
        """Read to run-end; the run's stream keeps the contract and the run leaves nothing."""
        self.until(lambda s: s.ended)
        self.proc.wait(timeout=10)
        assert self.proc.stderr is not None
        stderr = self.proc.stderr.read().decode()
        assert "Traceback" not in stderr, stderr
        events: list[dict[str, Any]] = [e.to_wire() for e in self.state.events]
        check_stream(events, self.lines)
        result = Run(self.proc.returncode, events, stderr, {e.pid for e in self.state.events})
        assert_clean(result, self.before)
        return result


def order(result: Run, what: str) -> list[str]:
    """The roles that observed `what`, in the order the stream gave them."""
    return [e["role"] for e in result.of_kind("observe") if e["data"]["what"] == what]


def test_step_role_lets_only_that_process_go_on() -> None:
    with Scheduler("interleave") as run:
        run.at({"child": "before-read", "child-2": "before-read"})
        run.send("step child-2")
        run.at({"child-2": "before-write"})
        assert run.held() == {"child": "before-read", "child-2": "before-write"}
        run.send("step child-2")  # child-2 writes; child still waits
        run.saw("child-2", "wrote")
        assert run.held() == {"child": "before-read"}
        run.send("step child")
        run.at({"child": "before-write"})
        run.send("step child")
        result = run.finish()
    assert result.status == "ok"
    assert order(result, "read") == ["child-2", "child"]
    assert order(result, "wrote") == ["child-2", "child"]
    assert [d["value"] for d in result.observed("read")] == [0, 1]
    assert run.notes() == []


def test_step_pid_and_a_plain_step() -> None:
    with Scheduler("interleave") as run:
        run.at({"child": "before-read", "child-2": "before-read"})
        child = next(pid for pid, p in run.state.processes.items() if p.role == "child")
        run.send(f"step {child}")
        run.at({"child": "before-write"})
        assert run.held() == {"child": "before-write", "child-2": "before-read"}
        run.send("")  # both go on: child writes, child-2 reads
        run.saw("child", "wrote")
        run.at({"child-2": "before-write"})
        run.send("s")
        result = run.finish()
    assert result.status == "ok"
    assert order(result, "read")[0] == "child"
    assert order(result, "wrote")[0] == "child"


def test_a_name_not_held_or_garbage_is_noted_and_the_run_goes_on() -> None:
    with Scheduler("interleave") as run:
        run.at({"child": "before-read", "child-2": "before-read"})
        run.send("step NOSUCHROLE")
        unknown = run.note_after(0)
        assert "NOSUCHROLE" in unknown.text
        assert sorted(unknown.data["held"]) == ["child", "child-2"]
        assert "child (pid" in unknown.text and "child-2 (pid" in unknown.text
        run.send("step parent")  # a process of the run, not held at a checkpoint
        assert "parent is not held" in run.note_after(1).text
        run.send(b"\x00\xff\xfe garbage \x1b[2J\n")
        garbage = run.note_after(2)
        assert "unknown command" in garbage.text
        assert "\x1b" not in garbage.text and "\x00" not in garbage.text
        run.send("step child too many words")
        assert "unknown command" in run.note_after(3).text
        assert run.held() == {"child": "before-read", "child-2": "before-read"}  # none let go
        run.send(b"step child\nstep child\n")  # one read: the second comes before it speaks
        assert "let go already" in run.note_after(4).text
        run.at({"child": "before-write"})
        run.send("step child")
        run.saw("child", "wrote")
        run.send("step")
        run.at({"child-2": "before-write"})
        run.send("step")
        result = run.finish()
    assert result.status == "ok" and result.returncode == 0
    assert not result.of_kind("error")
    assert result.holds("final-value") is True  # child wrote before child-2 read


def test_notes_are_bounded() -> None:
    with Scheduler("interleave") as run:
        run.at({"child": "before-read", "child-2": "before-read"})
        run.send(b"nonsense\n" * 200)
        last = run.note_after(19)
        assert "last note" in last.text
        run.send("stop")
        result = run.finish()
    assert result.status == "stopped"
    assert len([e for e in result.of_kind("output") if "command" in e["data"]]) == 20
