"""`statelab sweep`: one scenario once per start method or lock mode, from the command line.

What a sweep reports is checked against what the runs themselves report (the same scenario
run alone through `python -m scenarios`) and against the lesson's facts: a Value's change is
seen under every start method, its id() matches only under fork; `get_lock()` loses no update,
and with a plain Lock() it deadlocks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from scenarios.engine.protocol import FindingEvent, RunStart, decode
from tests.runs import START_METHODS
from tui import sweep

STATELAB = [sys.executable, "-m", "tui"]


def statelab(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="160")
    return subprocess.run([*STATELAB, *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)


def engine_run(*args: str) -> tuple[dict[str, Any], list[FindingEvent]]:
    """The scenario run alone: its run-start's interpreter and its findings."""
    done = subprocess.run([sys.executable, "-m", "scenarios", *args], capture_output=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    events = [decode(line) for line in done.stdout.splitlines() if line.strip()]
    start = next(e for e in events if isinstance(e, RunStart))
    return start.interpreter, [e for e in events if isinstance(e, FindingEvent)]


def by_id(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in findings}


def test_start_method_sweep_of_shared_value_as_json() -> None:
    done = statelab("sweep", "shared-value", "--over", "start-method", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # one object, nothing else on stdout
    assert report["scenario"] == "shared-value" and report["axis"] == "start-method"
    assert report["complete"] is True
    assert [v["variant"] for v in report["variants"]] == list(START_METHODS)
    for variant in report["variants"]:
        method = variant["variant"]
        assert variant["status"] == "ok" and variant["exit_code"] == 0
        assert variant["config"]["start_method"] == method
        assert variant["config"]["scenario"] == "shared-value"
        found = by_id(variant["findings"])
        # the lesson's facts: the change is seen everywhere; id() matches only under fork
        assert found["child-sees-parent-change"]["holds"] is True
        assert found["same-id"]["holds"] is (method == "fork")
        # the same scenario run alone reports the same findings on the same interpreter
        interpreter, alone = engine_run("shared-value", "--start-method", method)
        assert variant["interpreter"]["python"] == interpreter["python"]
        assert variant["interpreter"]["executable"] == interpreter["executable"]
        assert set(found) == {f.id for f in alone}
        for f in alone:
            assert (found[f.id]["claim"], found[f.id]["holds"], found[f.id]["lesson"]) == \
                (f.claim, f.holds, f.lesson)
            # the mark: agrees (✓) when what happened is what the lesson says
            assert found[f.id]["mark"] == ("✓" if f.holds == f.lesson else "✗")


def test_lock_sweep_of_race_with_get_lock() -> None:
    """true and rlock: no update lost; false: refused by the scenario (no get_lock() on a raw
    Value), said once, not run; lock: get_lock() takes a Lock the += takes again: deadlock."""
    done = statelab("sweep", "race", "--over", "lock", "--guard", "get_lock", "--iterations",
                    "2000", "--timeout", "1", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 1, done.stderr  # a run timed out: the sweep says not all was ok
    variants = {v["variant"]: v for v in report["variants"]}
    assert list(variants) == ["true", "false", "lock", "rlock"]
    for mode in ("true", "rlock"):
        assert variants[mode]["status"] == "ok"
        assert variants[mode]["config"]["lock"] == mode
        assert variants[mode]["config"]["guard"] == "get_lock"  # the fixed knob, kept
        assert by_id(variants[mode]["findings"])["lost-updates"]["holds"] is False
        assert by_id(variants[mode]["findings"])["deadlock"]["holds"] is False
    assert variants["false"]["status"] == "refused" and variants["false"]["exit_code"] is None
    assert "get_lock" in variants["false"]["reason"] and variants["false"]["findings"] == []
    assert variants["lock"]["status"] == "timeout"
    assert by_id(variants["lock"]["findings"])["deadlock"]["holds"] is True


def test_the_matrix_names_variants_findings_and_statuses() -> None:
    done = statelab("sweep", "shared-value", "--over", "lock", "--typecode", "b")
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    header = next(r for r in rows if "true" in r and "rlock" in r)
    assert [w for w in header.replace("┃", " ").split()] == ["true", "false", "lock", "rlock"]
    status = next(r for r in rows if r.strip("│ ").startswith("status"))
    assert status.count(" ok ") == 4
    for fid in ("child-sees-parent-change", "same-id"):
        row = next(r for r in rows if fid in r)
        assert row.count("✓ holds") == 4  # under fork, every lock mode: seen, and the same id


@pytest.mark.parametrize(("args", "says"), [
    (["shared-value", "--over", "colour"], "choose one of start-method, lock, typecode, python"),
    (["shared-value"], "--over is needed"),
    (["small-int-id", "--over", "typecode"], "small-int-id does not take --typecode"),
    (["shared-value", "--over", "lock", "--lock", "true"], "do not give --lock too"),
    (["shared-value", "--over", "python", "--python", "3.13"], "do not give --python too"),
    (["shared-value", "--over", "lock", "--python", "/bin/true"], "is not a Python"),
    (["shared-value", "--over", "x" * 5000], "is not allowed"),
    (["no-such-scenario", "--over", "lock"], "unknown scenario"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], says: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert sweep.main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and says in err and len(err) < 400, err


def test_bad_over_from_the_command_line() -> None:
    done = statelab("sweep", "shared-value", "--over", "colour")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "--over" in done.stderr and "Traceback" not in done.stderr


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _tree(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for child in _children(todo.pop()):
            found.add(child)
            todo.append(child)
    return found


def test_ctrl_c_stops_the_current_run_and_reports_what_was_done() -> None:
    """SIGINT to the sweep alone (not its group): the deadlocked run is stopped through its
    runner, the sweep prints its JSON, the variants not reached say so, nothing is left."""
    sweeper = subprocess.Popen([*STATELAB, "sweep", "race", "--over", "start-method", "--guard",
                                "get_lock", "--lock", "lock", "--timeout", "60", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    seen: set[int] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until the run's workers exist (runner → parent → workers)
        seen |= _tree(sweeper.pid)
        runner = _children(sweeper.pid)
        if runner and any(_children(p) for p in _children(runner[0])):
            break
        time.sleep(0.02)
    else:
        sweeper.kill()
        pytest.fail("the first run's workers never started")
    seen |= _tree(sweeper.pid)
    os.kill(sweeper.pid, signal.SIGINT)
    out, err = sweeper.communicate(timeout=60)
    assert sweeper.returncode == 130, err
    report = json.loads(out)
    assert report["complete"] is False
    assert [(v["variant"], v["status"]) for v in report["variants"]] == [
        ("fork", "stopped"), ("spawn", "not run"), ("forkserver", "not run")]
    assert "Traceback" not in err
    assert [pid for pid in seen if _is_run_process(pid)] == []


def _is_run_process(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return False  # gone
    return b"scenarios" in cmdline or b"multiprocessing" in cmdline
