"""--pace SECONDS: every checkpoint is held that long, then the run goes on by itself.

Measured from the events' own times (`t`, the run's shared clock), never from sleeps: each held
checkpoint's next event from the same process comes at least the pace later. A paced run
observes what an unpaced one does, and its deadline does not count the pace. Bad values are
refused with one line, by the engine, `statelab run` and the app's command line; in the app `p`
chooses the pace of the next run.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.appsupport import opened, run_pids, until, wait_gone
from tests.runs import Run, refused, run
from tests.stepping import drive, held, verdicts

PACE = 0.3  # seconds: short, so the tests are quick; shared-memory holds three times
SCENARIO = "shared-memory"  # the parent and a child each hold, under every start method


def next_of(events: list[dict[str, Any]], after: int) -> dict[str, Any]:
    """The first event after index `after` that the same process sent of itself (not output
    that was on its way before it stopped)."""
    pid = events[after]["pid"]
    return next(e for e in events[after + 1:] if e["pid"] == pid and e["kind"] != "output")


def observations(result: Run) -> dict[str, list[tuple[str, Any]]]:
    """Each role's observations in its order: what it saw, and the value."""
    seen: dict[str, list[tuple[str, Any]]] = {}
    for e in result.of_kind("observe"):
        seen.setdefault(e["role"], []).append((e["data"]["what"], e["data"].get("value")))
    return seen


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_each_checkpoint_is_held_the_pace_and_nothing_observed_changes(start_method: str) -> None:
    paced = run(SCENARIO, "--start-method", start_method, "--pace", str(PACE),
                leak_warning_ok=True)
    straight = run(SCENARIO, "--start-method", start_method, leak_warning_ok=True)
    assert paced.status == straight.status == "ok"

    start = paced.of_kind("run-start")[0]
    assert start["data"]["config"]["pace"] == PACE
    assert f"paced: {PACE:g} s at each checkpoint" in start["text"]

    holds = [i for i, e in enumerate(paced.events) if held(e)]
    assert len(holds) >= 3, [e["text"] for e in paced.events]  # the premise: several holds
    assert {paced.events[i]["role"] for i in holds} >= {"parent", "child"}
    for i in holds:
        checkpoint = paced.events[i]
        assert checkpoint["data"]["pace"] == PACE, checkpoint
        went_on = next_of(paced.events, i)
        assert went_on["t"] - checkpoint["t"] >= PACE, (checkpoint["text"], went_on["text"])

    assert not any(held(e) for e in straight.events), "only a pace (or --step) holds"
    assert observations(paced) == observations(straight)
    assert verdicts(paced) == verdicts(straight)


# the pace is longer than pass-via-queue's receiver waits (--wait 0.3): a wait that counted the
# hold would run out; interleave's two children are held at once, each let go by its own pace
CASES = [("pass-via-queue", "--channel", "pipe", "--wait", "0.3"),
         ("interleave", "--guard", "get_lock"),
         ("race", "--guard", "get_lock", "--iterations", "20000")]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case[0])
def test_a_paced_run_finds_what_a_straight_run_finds(case: tuple[str, ...]) -> None:
    paced = run(*case, "--start-method", "fork", "--pace", "0.4")
    straight = run(*case, "--start-method", "fork")
    assert paced.status == straight.status == "ok"
    assert any(held(e) for e in paced.events)
    assert verdicts(paced) == verdicts(straight)


def test_the_deadline_does_not_count_the_pace() -> None:
    # three holds of 0.4 s are more than the whole timeout of 0.5 s: the run still ends ok
    result = run(SCENARIO, "--start-method", "fork", "--pace", "0.4", "--timeout", "0.5",
                 leak_warning_ok=True)
    assert len([e for e in result.events if held(e)]) * 0.4 > 0.5  # the premise
    end = result.of_kind("run-end")[0]
    assert end["data"]["seconds"] > 0.5
    assert result.status == "ok", [e["text"] for e in result.events]
    assert result.returncode == 0


def test_with_step_a_step_lets_a_paced_process_go_on_before_its_pace() -> None:
    # a pace of 10 s, and a step sent at once at each hold: whichever comes first lets it go
    result = drive(SCENARIO, "--start-method", "fork", "--pace", "10", leak_warning_ok=True)
    holds = [i for i, e in enumerate(result.events) if held(e)]
    assert len(holds) >= 3
    for i in holds:
        assert result.events[i]["data"]["pace"] == 10
        assert next_of(result.events, i)["t"] - result.events[i]["t"] < 10
    assert result.status == "ok"


def test_with_step_and_no_step_sent_the_pace_lets_it_go_on() -> None:
    # --step --pace, stdin a pipe that stays open and says nothing: the pace alone ends each hold
    proc = subprocess.Popen([sys.executable, "-m", "scenarios", "shared-value", "--step",
                             "--pace", str(PACE), "--start-method", "fork"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    out = b""
    try:
        deadline = time.monotonic() + 30
        while True:  # read to the end with stdin open (its end would stop the run)
            assert time.monotonic() < deadline, out.decode()
            if select.select([proc.stdout], [], [], 1.0)[0]:
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
    lines = out.decode().splitlines()
    assert proc.returncode == 0, lines
    assert '"status": "ok"' in lines[-1]
    assert sum('"hold": true' in line and '"pace": 0.3' in line for line in lines) == 1


def controlled(pace: str, commands: bytes) -> tuple[int, list[dict[str, Any]]]:
    """shared-value paced, with --control: `commands` are sent at its held checkpoint. The exit
    status and the events."""
    proc = subprocess.Popen([sys.executable, "-m", "scenarios", "shared-value", "--control",
                             "--pace", pace, "--start-method", "fork"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    events: list[dict[str, Any]] = []
    try:
        for raw in proc.stdout:
            events.append(json.loads(raw))
            if held(events[-1]):
                proc.stdin.write(commands)
                proc.stdin.flush()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
    pids = {int(e["pid"]) for e in events}
    assert not wait_gone(pids - {os.getpid()}), "nothing of the run is left"
    return proc.returncode, events


def test_a_paced_run_that_does_not_step_takes_no_step() -> None:
    # with --control and no --step, `step` and `step parent` at the held checkpoint let nothing
    # go sooner: each hold ends by its pace, and the runner says why in a note
    code, events = controlled("0.5", b"step\nstep parent\n")
    assert code == 0
    i = next(i for i, e in enumerate(events) if held(e))
    assert next_of(events, i)["t"] - events[i]["t"] >= 0.5
    notes = [e["text"] for e in events if e["kind"] == "output" and e["role"] == "runner"]
    assert len(notes) == 1 and "this run is paced, not in step mode" in notes[0], notes


def test_the_pace_goes_through_the_runners_command_line() -> None:
    from scenarios.engine.argv import parse_argv

    cfg, _ = parse_argv(["shared-value", "--pace", "1.5", "--step"])
    assert (cfg.pace, cfg.step, cfg.holds) == (1.5, True, True)
    assert parse_argv(cfg.to_argv())[0] == cfg
    assert cfg.to_json()["pace"] == 1.5
    plain, _ = parse_argv(["shared-value"])
    assert (plain.pace, plain.holds) == (None, False)
    assert "--pace" not in plain.to_argv() and "pace" not in plain.to_json()


def test_a_stop_during_a_paced_hold_ends_the_run_at_once() -> None:
    code, events = controlled("10", b"stop\n")
    assert code == 1
    assert events[-1]["kind"] == "run-end" and events[-1]["status"] == "stopped"
    assert events[-1]["t"] < 10  # it did not wait for the pace


BAD = ["abc", "-1", "nan", "1e9", "0", "inf", "x" * 500]


@pytest.mark.parametrize("value", BAD, ids=lambda v: v[:8])
def test_a_bad_pace_is_refused_by_the_engine_in_one_line(value: str) -> None:
    line = refused("shared-value", "--pace", value)
    assert line.startswith("statelab: --pace: ")
    assert "0.1 to 10 seconds" in line
    assert len(line) < 120  # at most a short prefix of what was given


def statelab(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("command", [("run", "shared-value"), ("--scenario", "shared-value")],
                         ids=["run", "app"])
@pytest.mark.parametrize("value", ["abc", "-1", "nan", "1e9", "y" * 500], ids=lambda v: v[:8])
def test_a_bad_pace_is_refused_by_statelab_in_one_line(command: tuple[str, ...], value: str) -> None:
    proc = statelab(*command, "--pace", value)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("statelab: --pace: ") and "0.1 to 10 seconds" in lines[0]
    assert len(lines[0]) < 120


def test_statelab_run_prints_each_event_as_the_run_goes_on() -> None:
    # the hold is 3 s: the checkpoint and its "paced" line come while the parent is still
    # held, and nothing more comes for a while after them (a run buffered until its end would
    # print them all at once, at the end)
    proc = subprocess.Popen([sys.executable, "-m", "tui", "run", "shared-value", "--pace", "3",
                             "--start-method", "fork"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "COLUMNS": "200"})
    assert proc.stdout is not None
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while b"paced: parent is held 3 s" not in seen:
            assert time.monotonic() < deadline, seen.decode()
            if select.select([proc.stdout], [], [], 1.0)[0]:
                chunk = os.read(proc.stdout.fileno(), 65536)
                assert chunk, seen.decode()
                seen += chunk
        assert b"run ended" not in seen and b"changed the Value" not in seen
        # the hold goes on for about 3 s: a second of it, and still nothing more
        assert not select.select([proc.stdout], [], [], 1.0)[0]
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert b"changed the Value" in rest and b"Findings" in rest


async def test_p_chooses_the_pace_of_the_next_run() -> None:
    from tui.app import StatelabApp

    app = StatelabApp("shared-value", {"start_method": "fork"})
    try:
        async with opened(app, (100, 30)) as pilot:
            def footer() -> str:
                return " ".join(b.binding.description for b in app.screen.active_bindings.values()
                                if b.binding.action.startswith("pace"))

            assert app.pace is None and footer() == "pace"
            for expected, shown in [(0.5, "pace 0.5s"), (1.0, "pace 1s"), (2.0, "pace 2s"),
                                    (None, "pace"), (0.5, "pace 0.5s")]:
                await pilot.press("p")
                assert app.pace == expected
                assert footer() == shown
            await pilot.press("r")
            await until(pilot, lambda: app.lab.state.ended, what="the paced run to end", timeout=30)
            assert app.client is not None
            assert app.client.config.pace == 0.5
            argv = app.client.argv
            assert argv[argv.index("--pace") + 1] == "0.5"
            state = app.lab.state
            assert state.config["pace"] == 0.5
            assert any(e.kind == "checkpoint" and e.data.get("pace") == 0.5 for e in state.events)
            assert state.status == "ok"
            assert not wait_gone(run_pids(state.events))
    finally:
        app.stop_run_now()


async def test_the_app_takes_a_pace_from_its_command_line() -> None:
    from tui import cli
    from tui.app import StatelabApp

    *_, pace = cli.parse_app_args(["--scenario", "shared-value", "--pace", "0.3"])
    assert pace == 0.3
    app = StatelabApp("shared-value", pace=pace)
    try:
        async with opened(app, (100, 30)) as pilot:
            shown = [b.binding.description for b in app.screen.active_bindings.values()
                     if b.binding.action.startswith("pace")]
            assert shown == ["pace 0.3s"]
            await pilot.press("p")
            assert app.pace == 0.5  # on from where it was, to the next of the cycle
    finally:
        app.stop_run_now()
