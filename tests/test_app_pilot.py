"""The app driven as a person would: choose, set knobs, run, step, stop, export, quit.

Every test asserts on what the screen shows and on the processes: none of the
run's pids (read from its events) is alive afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from scenarios.engine import catalog
from tests.appsupport import opened, run_pids, until, wait_gone
from tui.app import StatelabApp
from tui.cli import app_main as main
from tui.widgets.process_table import size
from tui.widgets.scenario_list import ScenarioList

SIZE = (150, 40)


@pytest.fixture
async def app() -> AsyncIterator[StatelabApp]:
    app = StatelabApp("shared-value")
    yield app
    app.stop_run_now()  # a failed test must not leave a run behind


def log_text(app: StatelabApp) -> str:
    return app.lab.log_view.plain()


async def shown_log(pilot: Pilot[Any], app: StatelabApp) -> str:
    """The log once every row it keeps is drawn (rows that come just after others are drawn a
    moment later)."""
    await until(pilot, lambda: app.lab.log_view.settled, what="the log's rows")
    return log_text(app)


def ended(app: StatelabApp) -> bool:
    return app.lab.state.ended


def held(app: StatelabApp) -> bool:
    return bool(app.lab.state.held)


async def test_choose_scenario_and_change_knobs(app: StatelabApp) -> None:
    async with opened(app, SIZE) as pilot:
        lab = app.lab
        form = lab.settings
        scenarios = app.query_one(ScenarioList)
        assert lab.scenario == "shared-value"
        assert "A shared Value" in str(form.query_one("#summary", Static).render())

        # the arrow keys move through the list; the settings follow
        await pilot.press("down")
        await until(pilot, lambda: lab.scenario != "shared-value", what="another scenario")
        other = lab.scenario
        assert other is not None
        spec = catalog.get(other)
        assert spec.title in str(form.query_one("#summary", Static).render())
        # knobs the scenario does not take are disabled
        for name in ("typecode", "lock", "value"):
            assert form.query_one(f"#knob-{name}").disabled == (name not in spec.knobs())

        scenarios.focus()
        await pilot.press("up")
        await until(pilot, lambda: lab.scenario == "shared-value", what="shared-value again")
        assert not form.query_one("#knob-value").disabled

        # a bad value is marked at the input with what is allowed, and Run is refused
        await pilot.click("#knob-value")
        await pilot.press(*"abc")
        await until(pilot, lambda: "value" in form.errors, what="the value error")
        error = str(form.query_one("#err-value", Static).render())
        assert "'abc' is not an integer" in error and "0 to 4294967295" in error
        assert form.query_one("#row-value").has_class("-invalid")
        assert form.query_one("#run", Button).disabled
        await pilot.press("enter")  # Enter in a field means run: refused
        await pilot.press("escape", "r")
        await pilot.pause()
        assert app.client is None
        assert "run refused: --value" in lab.header.status

        # fixed: the mark goes, Run is allowed, the Code tab shows the chosen knobs
        value = form.query_one("#knob-value", Input)
        value.focus()
        await pilot.press("backspace", "backspace", "backspace", "2", "5", "0")
        await until(pilot, lambda: not form.errors, what="the error to clear")
        assert not form.query_one("#run", Button).disabled
        form.query_one("#knob-typecode", Select).value = "b"
        await pilot.pause()
        assert "signed char, 1 B, -128 to 127" in str(form.query_one("#typecode-hint",
                                                                       Static).render())
        assert "--typecode b" in app.query_one("#code-knobs", Static).render().__str__()
        assert "--value 250" in str(app.query_one("#code-knobs", Static).render())


async def test_run_to_the_end_shows_findings(app: StatelabApp) -> None:
    async with opened(app, SIZE) as pilot:
        await pilot.press("r")
        await until(pilot, lambda: ended(app) and "run ended" in app.lab.findings.plain(),
                    what="the run to end")
        await until(pilot, lambda: app.client is not None and not app.client.running)
        # the runner's end reaches the screen, then the app, which stops the sampler
        await until(pilot, lambda: app.sampler is not None and app.sampler.stopped,
                    what="the sampler to stop")
        findings = app.lab.findings.plain()
        assert "The child sees the parent's change to the Value" in findings
        assert "✓ The child sees" in findings and "holds in this run" in findings
        log = await shown_log(pilot, app)
        assert "parent changed the Value from 1 to 3" in log
        assert "the child reads 3" in log
        states = {row.role: row.cells.get("state") for row in app.lab.table.rows_by_pid.values()}
        assert states["parent"] == "exit 0" and states["child"] == "exit 0"
        status = app.lab.header.status
        assert "ended" in status or ": ok" in status or "error" in status
        assert not wait_gone(run_pids(app.lab.state.events))


async def test_step_through_a_run(app: StatelabApp) -> None:
    async with opened(app, SIZE) as pilot:
        await pilot.press("s")  # no run yet: s starts one, paused at its first checkpoint
        await until(pilot, lambda: held(app), what="the checkpoint")
        log = await shown_log(pilot, app)
        assert "before-change" in log and "held: press s to step" in log
        assert "parent changed the Value" not in log
        assert "PAUSED at before-change" in app.lab.header.status
        parent = next(r for r in app.lab.table.rows_by_pid.values() if r.role == "parent")
        assert parent.cells["state"] == "held"

        await pilot.press("s")
        await until(pilot, lambda: "parent changed the Value from 1 to 3" in log_text(app),
                    what="the next observation")
        await until(pilot, lambda: ended(app), what="the run to end")
        log = await shown_log(pilot, app)
        assert log.index("before-change") < log.index("parent changed the Value from 1 to 3")
        assert not wait_gone(run_pids(app.lab.state.events))


async def test_stop_a_paused_run(app: StatelabApp) -> None:
    async with opened(app, SIZE) as pilot:
        await pilot.press("s")
        await until(pilot, lambda: held(app), what="the checkpoint")
        pids = run_pids(app.lab.state.events)
        assert len(pids) >= 3  # runner, parent, child
        await pilot.press("x")
        await until(pilot, lambda: ended(app), what="the stopped run to end")
        assert app.lab.state.status == "stopped"
        assert "stopped" in app.lab.header.status
        assert "run stopped" in await shown_log(pilot, app)
        assert not wait_gone(pids | run_pids(app.lab.state.events))


async def test_export_never_overwrites(app: StatelabApp, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    async with opened(app, SIZE) as pilot:
        await pilot.press("e")
        assert not list(tmp_path.iterdir())  # nothing to export before a run
        await pilot.press("r")
        await until(pilot, lambda: ended(app), what="the run to end")
        await pilot.press("e")
        first_md = tmp_path / "statelab-shared-value-1.md"
        first_jsonl = tmp_path / "statelab-shared-value-1.jsonl"
        await until(pilot, lambda: first_md.exists() and first_jsonl.exists())
        assert "statelab-shared-value-1.md" in app.lab.header.status
        before = first_md.read_text()
        assert "## Findings" in before and "The child sees the parent's change" in before
        assert len(first_jsonl.read_text().splitlines()) == len(app.lab.state.events)

        await pilot.press("e")  # the same run, unchanged: no second, identical copy
        await pilot.pause()
        assert sorted(p.name for p in tmp_path.iterdir()) == [first_jsonl.name, first_md.name]
        await pilot.press("r")
        await until(pilot, lambda: app.lab.run_id == 2 and ended(app), what="the second run")
        await pilot.press("e")
        second = tmp_path / "statelab-shared-value-2.md"
        await until(pilot, lambda: second.exists())
        assert first_md.read_text() == before
        assert "statelab-shared-value-2.md" in app.lab.header.status
        assert (tmp_path / "statelab-shared-value-2.jsonl").exists()
        assert not wait_gone(run_pids(app.lab.state.events))


async def test_quit_stops_the_run(app: StatelabApp) -> None:
    async with opened(app, SIZE) as pilot:
        await pilot.press("s")
        await until(pilot, lambda: held(app), what="the checkpoint")
        pids = run_pids(app.lab.state.events)
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None, what="the app to exit")
    assert app.return_code == 0
    assert not wait_gone(pids)


def test_command_line_refuses_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, words in ((["--value", "abc"], "not an integer"),
                        (["--scenario", "no-such"], "unknown scenario"),
                        (["--typecode", "z"], "not allowed"),
                        (["--processes", "3"], "does not take --processes"),
                        (["stray"], "unexpected argument"),
                        (["--lock"], "needs a value")):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, (argv, err)
        assert "Traceback" not in err


async def test_command_palette_lists_the_scenarios(app: StatelabApp) -> None:
    async with opened(app, SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"scenario: race")
        await pilot.pause(0.3)
        await pilot.press("enter")
        assert "race" in app.lab.names
        await until(pilot, lambda: app.lab.scenario == "race", what="race to be chosen")
        assert "race" in str(app.lab.settings.query_one("#summary", Static).render()).lower()


async def test_knobs_from_the_command_line_reach_the_run() -> None:
    app = StatelabApp("race", {"processes": "3", "iterations": "2000", "start_method": "spawn"},
                      run=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: ended(app), what="the run to end", timeout=30)
        options = app.lab.settings.options()
        assert options["processes"] == "3" and options["iterations"] == "2000"
        roles = {row.role for row in app.lab.table.rows_by_pid.values()}
        assert {"parent", "child", "child-2", "child-3"} <= roles
        assert "child-4" not in roles
        result = app.lab.state.first("result")
        assert result is not None and result["expected"] == 3 * 2000
        # the runner's exit reaches the screen as a RunEnded message, a moment after the
        # client saw the exit; at 80x24 the results keep the width: the sidebar stays hidden
        await until(pilot, lambda: not app.lab.live, what="the screen to see the runner end")
        assert not app.query_one("#sidebar").display
        assert app.lab.findings.display and not app.lab.log_view.display
        assert "lost-updates" in app.lab.findings.plain()
        assert not app.running
        assert not wait_gone(run_pids(app.lab.state.events))


async def test_a_run_takes_the_sidebar_width_below_100_columns() -> None:
    app = StatelabApp("shared-value", step=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: held(app), what="the checkpoint")
        assert not app.query_one("#sidebar").display
        await pilot.press("x")
        await until(pilot, lambda: ended(app) and not app.lab.live, what="the run to end")
        assert not app.query_one("#sidebar").display, "the results keep the width"
        await pilot.press("b")
        await until(pilot, lambda: app.query_one("#sidebar").display, what="the sidebar back")
        assert not wait_gone(run_pids(app.lab.state.events))


async def test_a_compact_screen_shows_the_log_then_the_findings() -> None:
    """Below 100 columns or 32 rows the log and the tabs take turns: the log while the run
    goes on, the findings once it ended; 4 and 1 switch, m maximises, escape restores."""
    app = StatelabApp("shared-value", step=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: held(app), what="the checkpoint")
        lab = app.lab
        assert lab.compact and lab.log_view.display and not lab.tabs.display
        await pilot.press("1")
        assert lab.tabs.display and not lab.log_view.display
        await pilot.press("4")
        assert lab.log_view.display and not lab.tabs.display
        await pilot.press("m")
        assert lab.maximized is lab.log_view
        await pilot.press("escape")
        assert lab.maximized is None
        while not ended(app):
            await pilot.press("s")
            await until(pilot, lambda: held(app) or ended(app), what="the next checkpoint")
        await until(pilot, lambda: not lab.live, what="the runner's end")
        assert lab.tabs.display and not lab.log_view.display
        assert lab.tabs.active == "tab-findings"
        assert "id: child-sees-parent-change" in lab.findings.plain()
        assert not wait_gone(run_pids(lab.state.events))


async def test_a_wide_screen_shows_log_and_tabs_and_the_whole_list() -> None:
    app = StatelabApp("shared-value")
    async with opened(app, (160, 45)) as pilot:
        lab = app.lab
        assert not lab.compact
        assert lab.log_view.display and lab.tabs.display
        listed = app.query_one("#scenarios")
        assert listed.size.height >= len(lab.listed) + 2, "every scenario and both titles"
        listed.focus()
        await pilot.press("down", "enter")  # enter on the list runs the one highlighted
        await until(pilot, lambda: lab.state.ended and not lab.live, what="the run to end")
        assert lab.run_config is not None and lab.run_config.scenario == lab.scenario
        assert lab.scenario != "shared-value", "down moved to the next scenario first"
        assert not wait_gone(run_pids(lab.state.events))


def test_sampling_slows_down_only_for_many_processes() -> None:
    from tui.sampler import MANY, interval_for

    assert interval_for(3) == interval_for(MANY) == 0.5
    assert interval_for(MANY) < interval_for(50) < interval_for(64) <= 2.0
    assert interval_for(1000) == 2.0


async def test_memory_a_process_reports_shows_in_the_table() -> None:
    # copy-on-write: each process reads its own USS from /proc before and after the child
    # touches the object; a run faster than the sampler still shows them in the table
    app = StatelabApp("copy-on-write", {"size": "16", "start_method": "fork"}, run=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: ended(app), what="the run to end", timeout=30)
        state = app.lab.state
        after = next(e for e in state.of_kind("observe") if e.data["what"] == "child-after")
        child = app.lab.table.rows_by_pid[after.pid]
        reported = [e.data["uss"] for e in state.of_kind("observe")
                    if e.pid == after.pid and "uss" in e.data]
        assert set(reported) <= set(child.history)
        # the cell shows the latest reading: the child's own, as it ended
        assert child.cells["uss"] == size(state.processes[after.pid].memory[-1].uss)
        assert child.cells["spark"].strip(), "the trend shows the reported readings"
        assert not wait_gone(run_pids(app.lab.state.events))


async def test_the_blank_choice_of_a_knob_brings_its_default_back() -> None:
    """Picking the blank row of a dropdown the scenario uses (Enter, Down, Down, Enter is
    enough) means "no choice": the default comes back and runs are not refused."""
    app = StatelabApp("race")
    try:
        async with opened(app, (100, 30)) as pilot:
            form = app.lab.settings
            guard = form.query_one("#knob-guard", Select)
            assert guard.value == "none"
            guard.value = Select.NULL  # what picking the blank row does
            await until(pilot, lambda: not guard.is_blank(), what="the default to come back")
            assert guard.value == "none"
            assert not form.errors and form.query_one("#run", Button).disabled is False
            assert "Select.NULL" not in str(form.options())
    finally:
        app.stop_run_now()


async def test_a_pasted_novel_keeps_the_buttons_on_the_screen() -> None:
    """5,000 digits in a field: the error says what is allowed in a few lines, quoting a short
    prefix, and the Run/Step/Stop buttons stay where they were."""
    app = StatelabApp("shared-value")
    try:
        async with opened(app, (80, 24)) as pilot:
            form = app.lab.settings
            buttons_at = form.query_one("#buttons").region.y
            form.query_one("#knob-value", Input).value = "9" * 5000
            await until(pilot, lambda: "value" in form.errors, what="the value error")
            await pilot.pause()
            error = form.query_one("#err-value", Static)
            assert "has 5000 digits" in form.errors["value"] and len(form.errors["value"]) < 300
            assert error.region.height <= 4
            assert form.query_one("#buttons").region.y - buttons_at <= 4
    finally:
        app.stop_run_now()


async def test_choosing_another_scenario_says_whose_run_is_shown(app: StatelabApp) -> None:
    async with opened(app, SIZE) as pilot:
        await pilot.press("r")
        await until(pilot, lambda: ended(app) and not app.lab.live, what="the run to end")
        app.lab.choose_scenario("queue-copy")
        await until(pilot, lambda: app.lab.scenario == "queue-copy", what="queue-copy chosen")
        assert "shown below: the last run, of shared-value" in app.lab.header.status
        assert app.lab.state.findings, "the run is still shown, not wiped"
        assert not wait_gone(run_pids(app.lab.state.events))


async def test_leaving_the_app_ends_the_sampler_of_a_run_it_did_not_see_end() -> None:
    """Whatever the way out, the sampler's thread ends with the app. Left sampling a run whose
    end the screen has not seen yet, it would keep the interpreter waiting at exit for asyncio's
    executor (CI saw a test's teardown wait 120 s for it)."""
    app = StatelabApp("shared-value", {"start_method": "fork"}, run=True, step=True)
    try:
        async with opened(app, SIZE) as pilot:
            await until(pilot, lambda: app.sampler is not None and bool(app.lab.state.held),
                        what="the run held at its first checkpoint")
            sampler, client = app.sampler, app.client
            assert sampler is not None and client is not None
            client._post = lambda message: None  # the screen hears nothing more of this run
            await client.shutdown()  # the run ends, unseen: nothing stops the sampler but leaving
            assert not sampler.stopped
            pids = run_pids(app.lab.state.events)
        assert sampler.stopped
        assert wait_gone(pids) == []
    finally:
        app.stop_run_now()
