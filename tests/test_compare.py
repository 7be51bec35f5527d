"""Compare two runs, and the history the app keeps of a session.

The fork and spawn transcripts of tests/data are real shared-value runs: under fork the
child's Value has the parent's id(), under spawn it does not.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest

from scenarios.engine.state import RunState
from tests.appsupport import DATA, opened, recorded, run_pids, until, wait_gone
from tui.app import StatelabApp
from tui.history import RunRecord
from tui.screens.compare import CompareScreen, aligned
from tui.screens.history import HistoryScreen

SIZE = (150, 40)


def findings_of(name: str) -> dict[str, dict[str, object]]:
    lines = (DATA / name).read_text().splitlines()
    return {w["id"]: w for w in map(json.loads, lines) if w["kind"] == "finding"}


def differing(first: str, second: str) -> set[str]:
    """The ids of the findings whose holds differ between two transcripts."""
    a, b = findings_of(first), findings_of(second)
    return {i for i in a.keys() | b.keys() if i not in a or i not in b or
            a[i]["holds"] != b[i]["holds"]}


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "statelab" / "runs"


def test_compare_marks_the_finding_whose_holds_differs() -> None:
    fork = RunState(recorded("shared-value-fork.jsonl"))
    spawn = RunState(recorded("shared-value-spawn.jsonl"))
    lines = aligned(fork, spawn)
    claims = {f["claim"]: i for i, f in findings_of("shared-value-fork.jsonl").items()}
    rows = [x for x in lines if x.section == "findings"]
    found = {claims[x.title]: x for x in rows}
    assert len(rows) == len(found) == len(claims)  # every finding, once
    want = differing("shared-value-fork.jsonl", "shared-value-spawn.jsonl")
    assert want  # the transcripts do differ
    assert {i for i, x in found.items() if x.differs} == want
    settings = {x.title: x for x in lines if x.section == "run"}
    assert settings["start method"].differs
    assert (settings["start method"].left, settings["start method"].right) == ("fork", "spawn")
    assert not settings["typecode"].differs


def test_observations_are_aligned_by_what_and_role() -> None:
    fork = RunState(recorded("shared-value-fork.jsonl"))
    lines = {x.title: x for x in aligned(fork, fork) if x.section == "observations"}
    whats = [json.loads(line)["data"]["what"] for line in
             (DATA / "shared-value-fork.jsonl").read_text().splitlines() if '"observe"' in line]
    assert list(lines) == list(dict.fromkeys(whats))
    assert not any(x.differs for x in lines.values())  # a run is the same as itself
    first = json.loads(next(line for line in (DATA / "shared-value-fork.jsonl").read_text()
                            .splitlines() if '"observe"' in line))
    assert f"{first['role']}: {first['data']['value']}" in lines[first["data"]["what"]].left
    # one run has an observation the other has not: marked
    empty = RunState(recorded("shared-value-fork.jsonl")[:1])
    assert all(x.differs for x in aligned(fork, empty) if x.section == "observations")


async def test_the_history_screen_compares_a_marked_run_with_another(data_home: Path) -> None:
    for name, started in (("shared-value-fork.jsonl", 1_700_000_000.0),
                          ("shared-value-spawn.jsonl", 1_700_000_060.0)):
        RunRecord(RunState(recorded(name)), started=started, done=True).save()
    app = StatelabApp("shared-value")
    async with opened(app, SIZE) as pilot:
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen)
                    and app.screen.table.row_count == 2, what="two saved runs listed")
        await pilot.press("m", "down", "enter")  # mark the spawn run, choose the fork run
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), what="the compare")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert "spawn" in screen.first.label and "fork" in screen.second.label  # older first
        claims = {f["claim"] for i, f in findings_of("shared-value-fork.jsonl").items()
                  if i in differing("shared-value-fork.jsonl", "shared-value-spawn.jsonl")}
        marked = {line.title for line in screen.lines if line.differs}
        assert claims <= marked
        await pilot.press("d")  # only the differences
        assert all(row.startswith("≠") for row in screen.plain().splitlines())

        await pilot.press("escape")  # back to the history: c compares a run with the one before
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen), what="the history")
        await pilot.press("up", "c")  # the newest (spawn) with the one before it (fork)
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), what="the compare")
        assert "fork" in app.screen.first.label and "spawn" in app.screen.second.label


def run_over(app: StatelabApp, n: int) -> bool:
    return app.lab.run_id == n and app.lab.state.ended and not app.running


@pytest.fixture
async def app() -> AsyncIterator[StatelabApp]:
    app = StatelabApp("shared-value")
    yield app
    app.stop_run_now()


async def test_history_keeps_both_runs_of_a_session(app: StatelabApp, data_home: Path) -> None:
    async with opened(app, SIZE) as pilot:
        lab = app.lab
        for n in (1, 2):
            await pilot.press("r")
            await until(pilot, partial(run_over, app, n), timeout=60, what=f"run {n}")
        runs = app.history.runs
        await until(pilot, lambda: all(r.path is not None for r in runs) and len(runs) == 2,
                    what="both runs saved")
        first, second = runs
        assert first.state is not second.state and first.state.ended and second.state.ended
        assert sorted(p.name for p in data_home.iterdir()) == sorted(
            r.path.name for r in runs if r.path is not None)

        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen), what="the history")
        assert app.screen.table.row_count == 2
        await pilot.press("down", "enter")  # the older one
        await until(pilot, lambda: lab.past is not None and lab.state.ended, what="the past run")
        assert app.screen is lab
        assert lab.state.events == first.state.events
        assert first.rows and lab.process_rows() == first.rows  # the table as it ended
        assert lab.header.plain().count("past run: shared-value under ") == 1
        assert len(app.history.runs) == 2  # showing it made no new run

        await pilot.press("c")  # the last run beside the one before it
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), what="the compare")
        assert app.screen.first is first and app.screen.second is second
    assert wait_gone(run_pids(first.state.events) | run_pids(second.state.events)) == []


def palette_offers(app: StatelabApp, text: str) -> bool:
    from textual.command import CommandList

    lists = app.screen.query(CommandList)
    return bool(lists) and any(text in str(o.prompt) for o in lists.first().options)


async def test_the_palette_opens_the_history_and_compare_needs_two_runs(data_home: Path) -> None:
    app = StatelabApp("shared-value")
    async with opened(app, SIZE) as pilot:
        await pilot.press("c")  # no run yet: it says what is needed, and nothing opens
        await until(pilot, lambda: any("two runs" in n.message for n in app._notifications),
                    what="the notice")
        assert app.screen is app.lab
        await pilot.press("ctrl+p")
        await pilot.press(*"history")
        await until(pilot, lambda: palette_offers(app, "history: past runs"), what="the hit")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen), what="the history")
        assert app.screen.table.row_count == 0
