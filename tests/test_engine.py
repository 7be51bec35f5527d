"""The engine: the event contract, bad input, and every way a run can end."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.contract import check_stream
from tests.runs import alive, assert_clean, refused, run, shm

LESSON = ("queue-copy", "shared-value", "shared-array", "pass-via-queue", "small-int-id")


@pytest.mark.parametrize("scenario", LESSON)
def test_every_line_keeps_the_contract(scenario: str, start_method: str) -> None:
    extra = ["--wait", "0.2"] if scenario == "pass-via-queue" else []
    before = shm()
    proc = subprocess.run([sys.executable, "-m", "scenarios", scenario, "--start-method", start_method,
                           *extra], capture_output=True, text=True, timeout=60)
    lines = proc.stdout.splitlines()
    events = [json.loads(line) for line in lines]
    check_stream(events, lines)
    assert events[-1]["status"] == "ok", [e["text"] for e in events]
    assert proc.returncode == 0
    assert proc.stderr == ""
    roles = {e["role"] for e in events if e["kind"] == "process-start"}
    assert {"parent", "child"} <= roles
    if start_method != "fork":  # the interpreter's own helpers show up under their roles
        assert "resource-tracker" in roles
    if start_method == "forkserver":
        assert "forkserver" in roles
        # found after the fact, the fork server still gets its real start time: before the child
        started = {e["role"]: e["t"] for e in events if e["kind"] == "process-start"}
        assert started["forkserver"] <= started["child"]
    exits = {e["pid"] for e in events if e["kind"] == "process-exit"}
    starts = {e["pid"] for e in events if e["kind"] == "process-start"}
    assert starts <= exits, "every process that started is reported as ended"
    from tests.runs import Run
    assert_clean(Run(proc.returncode, events, proc.stderr, {e["pid"] for e in events}), before)


BAD_INPUT = [
    (["nope"], "unknown scenario 'nope'"),
    ([], "name a scenario"),
    (["shared-value", "--typecode", "z"], "choose one of c, u, b"),
    (["shared-value", "--lock", "maybe"], "choose one of true, false, lock, rlock"),
    (["shared-value", "--start-method", "thread"], "choose one of fork, spawn, forkserver"),
    (["shared-value", "--timeout", "soon"], "is not a number"),
    (["shared-value", "--timeout", "0"], "out of bounds"),
    (["shared-value", "--timeout", "100000"], "out of bounds"),
    (["shared-value", "--timeout", "nan"], "out of bounds"),
    (["shared-value", "--value", "lots"], "is not an integer"),
    (["shared-value", "--typecode", "d", "--value", "pi"], "is not a number"),
    (["shared-value", "--typecode", "c", "--value", "ab"], "holds one character"),
    (["shared-value", "--typecode", "c", "--value", "€"], "one byte"),
    (["shared-value", "--typecode", "u", "--value", ""], "holds one character"),
    (["queue-copy", "--typecode", "i"], "queue-copy does not take --typecode"),
    (["small-int-id", "--lock", "true"], "small-int-id does not take --lock"),
    (["shared-value", "--bogus", "1"], "unknown option --bogus"),
    (["shared-value", "--typecode"], "--typecode needs a value"),
    (["shared-value", "--lock", "true", "--lock", "false"], "given twice"),
    (["shared-value", "stray"], "unexpected argument"),
    (["pass-via-queue", "--wait", "60"], "out of bounds"),
    (["pass-via-queue", "--channel", "carrier-pigeon"], "choose one of queue, simple-queue"),
    # what argparse sees before the knobs are checked
    (["shared-value", "--typecode", "--lock", "true"], "--typecode needs a value"),
    (["race", "--guard"], "--guard needs a value"),
    (["shared-value", "--bogus"], "unknown option --bogus"),
    (["shared-value", "--step=1"], "--step takes no value"),
    (["shared-value", "--", "--typecode", "z"], "unexpected argument '--'"),
    (["shared-value", "-x"], "unexpected argument '-x'"),
    (["shared-value", "--start_method", "fork", "--start-method", "spawn"], "given twice"),
    (["shared-value", "--lock=true", "--lock", "false"], "--lock is given twice"),
    (["race", "--processes", "-5"], "--processes: -5 is out of bounds"),
    (["race", "--iterations=-1e300"], "--iterations: '-1e300' is not a whole number"),
    (["shared-value", "--type", "i"], "unknown option --type"),  # no abbreviations
    (["race", "--value", "3"], "race does not take --value"),
    (["shared-value", "--json"], "unknown option --json"),  # statelab run's, not the engine's
    # long junk is quoted by a short prefix only
    (["shared-value", "--value", "9" * 5000], "'" + "9" * 40 + "'… has 5000 digits, more than the 100 taken"),
    (["shared-value", "--" + "y" * 5000, "1"], "unknown option --" + "y" * 38 + "…"),
    (["shared-value", "x" * 5000], "unexpected argument '" + "x" * 40 + "…'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUT)
def test_bad_input_is_one_line_and_starts_nothing(argv: list[str], message: str) -> None:
    line = refused(*argv)
    assert message in line
    assert len(line) < 600, "what the user typed is not echoed whole"


def test_a_number_out_of_range_is_stored_as_ctypes_stores_it() -> None:
    result = run("shared-value", "--typecode", "b", "--value", "300", "--start-method", "fork")
    created = result.first("parent-created")
    assert created["requested"] == 300 and created["in_range"] is False
    assert created["value"] == 300 - 256  # a signed char keeps the low 8 bits
    assert result.first("child-first-read")["value"] == 300 - 256
    assert "out of range" in next(e["text"] for e in result.events
                                  if e["kind"] == "observe" and e["data"]["what"] == "parent-created")


# -- every way a run can end ------------------------------------------------------------------


def misbehave(how: str, method: str, *extra: str) -> Any:
    return run("misbehave", "--how", how, "--start-method", method, *extra)


def test_normal_end(start_method: str) -> None:
    result = misbehave("fine", start_method)
    assert result.status == "ok" and result.returncode == 0
    assert result.first("parent-done")


def test_child_exception_is_reported_with_its_traceback(start_method: str) -> None:
    result = misbehave("raise", start_method)
    assert result.status == "error" and result.returncode == 1
    error = next(e for e in result.of_kind("error") if e["role"] == "child")
    assert "ValueError: raised on purpose" in error["data"]["traceback"]
    exit_ = next(e for e in result.of_kind("process-exit") if e["role"] == "child")
    assert exit_["data"]["exitcode"] == 1
    assert result.first("parent-done"), "the parent went on and the run ended cleanly"


def test_child_killed_by_a_signal_is_reported(start_method: str) -> None:
    result = misbehave("signal", start_method)
    assert result.status == "error"
    exit_ = next(e for e in result.of_kind("process-exit") if e["role"] == "child")
    assert exit_["data"]["signal"] == "SIGKILL" and exit_["data"]["exitcode"] == -9


def test_parent_exception_is_reported() -> None:
    result = misbehave("parent-raise", "spawn")
    assert result.status == "error"
    error = next(e for e in result.of_kind("error") if e["role"] == "parent")
    assert "RuntimeError: the parent raised on purpose" in error["data"]["traceback"]


def test_timeout_reports_where_each_process_waited_then_kills_everything(start_method: str) -> None:
    result = misbehave("hang", start_method, "--timeout", "1")
    assert result.status == "timeout" and result.returncode == 1
    stuck = {e["role"]: e for e in result.of_kind("error") if e.get("data", {}).get("stack")}
    assert {"parent", "child"} <= set(stuck)
    assert "misbehave.py" in stuck["child"]["data"]["stack"]
    assert "in child (misbehave.py" in stuck["child"]["data"]["where"]
    assert "join" in stuck["parent"]["data"]["stack"]
    killed = {e["role"] for e in result.of_kind("process-exit")
              if e["data"].get("signal") in ("SIGTERM", "SIGKILL")}
    assert {"parent", "child"} <= killed


def test_prints_at_python_and_fd_level_are_output_events_of_their_process() -> None:
    result = misbehave("print", "spawn")
    child = next(e["pid"] for e in result.of_kind("process-start") if e["role"] == "child")
    texts = {e["text"].strip(): e for e in result.of_kind("output")}
    assert texts["printed by the child"]["pid"] == child
    assert texts["printed by the child"]["data"]["stream"] == "stdout"
    assert texts["written to fd 2 by the child"]["data"]["stream"] == "stderr"


def test_a_process_that_outlives_the_parent_is_found_and_killed() -> None:
    result = misbehave("orphan", "fork")
    left = next(e for e in result.of_kind("error") if "still running" in e["text"])
    orphan = left["data"]["left"][0]["pid"]
    assert not alive(orphan)
    assert any(e["pid"] == orphan for e in result.of_kind("process-exit"))


# -- stopping, stepping, and the reader going away ---------------------------------------------


class Live:
    """A runner started with --control, read event by event."""

    def __init__(self, *argv: str) -> None:
        self.shm_before = shm()
        self.proc = subprocess.Popen([sys.executable, "-m", "scenarios", *argv, "--control"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.events: list[dict[str, Any]] = []
        self.buffer = b""

    def next(self, deadline: float = 20.0) -> dict[str, Any]:
        assert self.proc.stdout is not None
        until = time.monotonic() + deadline
        while b"\n" not in self.buffer:
            left = until - time.monotonic()
            assert left > 0, f"no event in {deadline} s; so far {[e['text'] for e in self.events]}"
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                assert chunk, "the runner ended without run-end"
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        event: dict[str, Any] = json.loads(line)
        self.events.append(event)
        return event

    def until(self, test: Any) -> dict[str, Any]:
        while True:
            event = self.next()
            if test(event):
                return event

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()

    def finish(self) -> Any:
        end = self.until(lambda e: e["kind"] == "run-end")
        self.proc.wait(timeout=10)
        from tests.runs import Run
        result = Run(self.proc.returncode, self.events, "", {e["pid"] for e in self.events})
        assert_clean(result, self.shm_before)
        return end


def held(e: dict[str, Any]) -> bool:
    return e["kind"] == "checkpoint" and bool(e["data"].get("hold"))


def test_step_mode_holds_each_process_until_the_next_step(start_method: str) -> None:
    live = Live("shared-value", "--start-method", start_method, "--step")
    t0 = live.until(lambda e: e["kind"] == "run-start")["data"]["t0_monotonic"]
    live.until(held)
    sent_at = time.monotonic() - t0
    live.send("step")
    changed = live.until(lambda e: e["kind"] == "observe" and e["data"]["what"] == "parent-changed")
    assert changed["t"] >= sent_at, "the parent changed the value only after the step"
    assert live.finish()["status"] == "ok"


def test_stop_ends_a_paused_run_and_leaves_nothing(start_method: str) -> None:
    live = Live("shared-value", "--start-method", start_method, "--step")
    live.until(held)
    live.send("stop")
    assert live.finish()["status"] == "stopped"
    assert live.proc.returncode == 1


def test_closing_the_control_input_stops_the_run() -> None:
    live = Live("shared-value", "--start-method", "spawn", "--step")
    live.until(held)
    assert live.proc.stdin is not None
    live.proc.stdin.close()  # what happens when the app that started the run dies
    assert live.finish()["status"] == "stopped"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_the_runner_stops_the_run(sig: signal.Signals) -> None:
    live = Live("shared-value", "--start-method", "forkserver", "--step")
    live.until(held)
    live.proc.send_signal(sig)
    end = live.finish()
    assert end["status"] == "stopped"
    assert sig.name in next(e["text"] for e in live.events if e["kind"] == "error")


def test_sigkill_of_the_runner_leaves_nothing_behind() -> None:
    live = Live("shared-value", "--start-method", "spawn", "--step")
    live.until(held)
    pids = {e["pid"] for e in live.events} - {live.proc.pid}
    live.proc.kill()
    live.proc.wait(timeout=5)
    # the runner is gone, so nobody writes run-end; the scenario's processes must still end:
    # the held one reads EOF on its socket and goes on, the others follow the parent
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        select.select([], [], [], 0.05)
    assert not [p for p in pids if alive(p)]
