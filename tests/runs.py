"""Run scenarios the way a user does (`python -m scenarios ...`) and read back what happened."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.contract import check_stream

START_METHODS = ("fork", "spawn", "forkserver")


@dataclass
class Run:
    returncode: int
    events: list[dict[str, Any]]
    stderr: str
    pids: set[int] = field(default_factory=set)

    @property
    def status(self) -> str:
        return str(self.events[-1]["status"]) if self.events and self.events[-1]["kind"] == "run-end" else "?"

    def findings(self) -> dict[str, dict[str, Any]]:
        return {e["id"]: e for e in self.events if e["kind"] == "finding"}

    def holds(self, finding_id: str) -> Any:
        return self.findings()[finding_id]["holds"]

    def observed(self, what: str, role: str | None = None) -> list[dict[str, Any]]:
        return [e["data"] for e in self.events if e["kind"] == "observe"
                and e["data"].get("what") == what and (role is None or e["role"] == role)]

    def first(self, what: str, role: str | None = None) -> dict[str, Any]:
        found = self.observed(what, role)
        assert found, f"nobody observed {what!r}; events: {[e['text'] for e in self.events]}"
        return found[0]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == kind]

    def stack(self, role: str) -> str:
        """The stack the runner took of the process `role` at the deadline: exactly one."""
        stacks = [e["data"]["stack"] for e in self.of_kind("error")
                  if e["role"] == role and "stack" in e["data"]]
        assert len(stacks) == 1, [e["text"] for e in self.of_kind("error")]
        return str(stacks[0])

    def output(self) -> str:
        return "".join(e["text"] for e in self.of_kind("output"))

    def pid_of(self, role: str) -> int:
        """The pid of the one process that started under this role."""
        starts = [e["pid"] for e in self.of_kind("process-start") if e["role"] == role]
        assert len(starts) == 1, f"{role}: {starts}"
        return int(starts[0])

    def assert_server_reported_and_ended(self) -> None:
        """A manager's server: its own process, reported under role manager, ended with 0."""
        server = self.pid_of("manager")
        assert server not in (self.pid_of("parent"), self.pid_of("child"))
        exits = [e for e in self.of_kind("process-exit") if e["pid"] == server]
        assert [e["data"]["exitcode"] for e in exits] == [0]
        assert not alive(server)

    def roles(self) -> set[str]:
        return {e["role"] for e in self.events}


def refused(*argv: str) -> str:
    """Run `python -m scenarios ARGV` expecting bad input: exit 2, nothing started, one line on
    stderr and no traceback. Returns that line."""
    proc = subprocess.run([sys.executable, "-m", "scenarios", *argv],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == "", "not even run-start: nothing was started"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def shm() -> set[str]:
    return set(os.listdir("/dev/shm"))


def alive(pid: int) -> bool:
    """True if pid is a live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return not stat[stat.rfind(")") + 2:].startswith("Z")


def run(scenario: str, *args: str, timeout: float = 60, check_clean: bool = True,
        leak_warning_ok: bool = False, tmpdir: Path | None = None) -> Run:
    """Run one scenario to its end; assert that it left no process and no /dev/shm entry.

    With `tmpdir`, the run's TMPDIR (where multiprocessing makes its pymp-* folders, inherited
    by every process of the run): it must be empty again after the run."""
    before = shm()
    proc = subprocess.run(
        [sys.executable, "-m", "scenarios", scenario, *args],
        capture_output=True, text=True, timeout=timeout,
        env=None if tmpdir is None else {**os.environ, "TMPDIR": str(tmpdir)},
    )
    if tmpdir is not None and check_clean:
        assert os.listdir(tmpdir) == [], f"the run left in its TMPDIR: {os.listdir(tmpdir)}"
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]
    if proc.returncode != 2:  # every line of every run keeps the event contract
        check_stream(events, lines)
    result = Run(proc.returncode, events, proc.stderr, {int(e["pid"]) for e in events})
    if check_clean:
        assert_clean(result, before, leak_warning_ok=leak_warning_ok)
    return result


def assert_clean(result: Run, shm_before: set[str], within: float = 5.0,
                 leak_warning_ok: bool = False) -> None:
    """No process of the run alive, no new /dev/shm entry, no "leaked" warning.

    Polls until `within` seconds: other runs on the machine (parallel tests, an open app) make
    and remove /dev/shm entries too, and only what stays is left behind.
    """
    deadline = time.monotonic() + within
    while True:
        left = sorted(p for p in result.pids if alive(p))
        new = {n for n in shm() - shm_before if n.startswith(("sem.mp-", "psm_", "mp-"))}
        if not (left or new) or time.monotonic() > deadline:
            break
        select.select([], [], [], 0.05)
    assert not left, f"processes left behind: {left}"
    assert not new, f"/dev/shm entries left behind: {new}"
    if not leak_warning_ok:
        assert "leaked" not in result.output(), result.output()


PLAIN = Path(__file__).parent / "plain"


def plain(script: str, *args: str, timeout: float = 60,
          flags: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    """Run tests/plain/SCRIPT isolated from the project (`-I`, with the interpreter's `flags`);
    the JSON line it ends with, and its stderr."""
    proc = subprocess.run([sys.executable, "-I", *flags, str(PLAIN / script), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=PLAIN)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr
    found: dict[str, Any] = json.loads(lines[-1])
    assert found["python"] == sys.version.split()[0]
    return found, proc.stderr
