"""Drive `python -m scenarios NAME --step` as a person would: read its stdout line by line and
answer each held checkpoint with a step (a newline on stdin), or with `stop`."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from tests.contract import check_stream
from tests.runs import Run, assert_clean, shm


def held(event: dict[str, Any]) -> bool:
    return event["kind"] == "checkpoint" and bool(event.get("data", {}).get("hold"))


def drive(scenario: str, *args: str, answer: str = "", at: int = 0, pause: float = 0.0,
          timeout: float = 60.0, leak_warning_ok: bool = False) -> Run:
    """Run the scenario with --step. At each held checkpoint, wait `pause` seconds and step;
    at held checkpoint number `at` (0 for the first) send `answer` instead, when it is not a step
    (`stop`). Returns the whole run, checked for the event contract and left clean."""
    def respond(event: dict[str, Any], holds: int) -> str:
        if pause:
            time.sleep(pause)  # a person reading the screen before stepping
        return answer if (answer and holds == at) else ""

    return answering(scenario, *args, respond=respond, timeout=timeout,
                     leak_warning_ok=leak_warning_ok)


def answering(scenario: str, *args: str, respond: Callable[[dict[str, Any], int], str | None],
              timeout: float = 60.0, leak_warning_ok: bool = False) -> Run:
    """Run the scenario with --step; at each held checkpoint send the line respond(event, how
    many holds came before) returns (None: send nothing, the hold is left to the pace). Returns
    the whole run, checked for the event contract and left clean."""
    before = shm()
    proc = subprocess.Popen([sys.executable, "-m", "scenarios", scenario, *args, "--step"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    events: list[dict[str, Any]] = []
    lines: list[str] = []
    buffer = b""
    holds = 0
    until = time.monotonic() + timeout
    try:
        while True:
            while b"\n" not in buffer:
                left = until - time.monotonic()
                assert left > 0, f"no run-end in {timeout} s: {[e['text'] for e in events]}"
                if select.select([proc.stdout], [], [], left)[0]:
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    assert chunk, f"the runner ended without run-end: {[e['text'] for e in events]}"
                    buffer += chunk
            raw, buffer = buffer.split(b"\n", 1)
            line = raw.decode()
            event: dict[str, Any] = json.loads(line)
            lines.append(line)
            events.append(event)
            if event["kind"] == "run-end":
                break
            if held(event):
                command = respond(event, holds)
                holds += 1
                if command is not None:
                    try:
                        proc.stdin.write(command.encode() + b"\n")
                        proc.stdin.flush()
                    except BrokenPipeError:
                        pass
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        with contextlib.suppress(BrokenPipeError):  # a step written after the run ended
            proc.stdin.close()
        proc.stdout.close()
        assert proc.stderr is not None
        stderr = proc.stderr.read().decode()
        proc.stderr.close()
    check_stream(events, lines)
    result = Run(proc.returncode, events, stderr, {int(e["pid"]) for e in events})
    assert_clean(result, before, leak_warning_ok=leak_warning_ok)
    return result


def verdicts(result: Run) -> dict[str, Any]:
    """Each finding's id and what happened: the part of a run that must not depend on stepping."""
    return {f["id"]: f["holds"] for f in result.findings().values()}
