"""The headless command line: statelab list, run, source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.engine import catalog
from tests.runs import START_METHODS, alive

STATELAB = [sys.executable, "-m", "tui"]


def statelab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="120")
    return subprocess.run([*STATELAB, *args], capture_output=True, text=True, timeout=60, env=env,
                          cwd=cwd)


def test_list_names_every_scenario_with_its_knobs() -> None:
    out = statelab("list")
    assert out.returncode == 0
    for name in catalog.names():
        line = next(row for row in out.stdout.splitlines() if row.startswith(name + " "))
        assert catalog.get(name).summary in line
    assert "--typecode" in out.stdout and "--processes" in out.stdout


def test_run_prints_a_timeline_and_the_findings() -> None:
    out = statelab("run", "shared-value", "--start-method", "spawn")
    assert out.returncode == 0, out.stderr
    assert "child reads 1 from the Value" in out.stdout
    assert "after the parent's change, the child reads 3" in out.stdout
    assert "Findings" in out.stdout
    assert "✓" in out.stdout  # both findings agree with the lesson under spawn
    assert "2 agree with the lesson, 0 do not." in out.stdout


def test_run_marks_a_finding_that_contradicts_the_lesson() -> None:
    out = statelab("run", "pass-via-queue", "--wait", "0.2")
    assert "✗" in out.stdout
    assert "QueueFeederThread" in out.stdout, "the feeder thread's traceback is shown as its output"


def test_run_json_prints_the_raw_events() -> None:
    out = statelab("run", "small-int-id", "--json")
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert events[0]["kind"] == "run-start" and events[-1]["kind"] == "run-end"
    assert all(not alive(e["pid"]) for e in events)


@pytest.mark.parametrize("argv", [["run", "nope"], ["run", "shared-value", "--typecode", "z"],
                                  ["run", "race", "--processes", "1000"], ["source", "nope"],
                                  ["source"], ["list", "extra"]])
def test_bad_input_is_one_line_with_status_2(argv: list[str]) -> None:
    out = statelab(*argv)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and out.stderr.startswith("statelab: ")
    assert "Traceback" not in out.stderr and out.stdout == ""


@pytest.mark.parametrize("method", START_METHODS)
def test_source_is_runnable_as_shown(tmp_path: Path, method: str) -> None:
    source = statelab("source", "shared-value").stdout
    assert source == Path(catalog.load("shared-value").path).read_text()
    script = tmp_path / "shared_value.py"
    script.write_text(source)
    out = subprocess.run([sys.executable, str(script), "--start-method", method],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    events = [json.loads(line) for line in out.stdout.splitlines()]
    after = next(e for e in events if e["kind"] == "observe"
                 and e["data"]["what"] == "child-after-change")
    assert after["data"]["value"] == 3
    assert events[-1]["status"] == "ok"


def test_run_shows_where_a_deadlocked_worker_waits() -> None:
    out = statelab("run", "race", "--lock", "lock", "--guard", "get_lock", "--iterations", "1000",
                   "--timeout", "1")
    assert out.returncode == 1
    assert "run ended: timeout" in out.stdout
    assert "stuck in getvalue" in out.stdout or "stuck in setvalue" in out.stdout
    assert 'race.py", line' in out.stdout, "the scenario's own frames are shown"
    assert "probe.py" not in out.stdout and "popen_fork.py" not in out.stdout
    assert "frames of statelab and of multiprocessing's start-up not shown" in out.stdout
