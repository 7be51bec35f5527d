"""The command palette does what the keys do, and sets any choice of the settings."""

from __future__ import annotations

import re

from textual.widgets import Select

from tests.appsupport import opened, run_pids, until, wait_gone
from tui.app import StatelabApp
from tui.screens.commands import commands
from tui.screens.lab import LabScreen
from tui.screens.palette import RUN_ACTIONS


def action_name(action: str) -> str:
    """`screen.show_tab('x')` -> show_tab."""
    return re.sub(r"\(.*\)$", "", action).removeprefix("screen.").removeprefix("app.")


def test_every_key_has_a_palette_command() -> None:
    listed = {action_name(a) for _, a, _ in commands()} | {a for _, a, _ in RUN_ACTIONS}
    keys = {action_name(b.action) for b in [*StatelabApp.BINDINGS, *LabScreen.BINDINGS]
            if not isinstance(b, tuple)}
    keys -= {"leave_field", "minimise", "release_selected"}  # escape, g: about the focus
    assert keys <= listed, f"keys with no palette command: {sorted(keys - listed)}"


async def test_the_palette_sets_a_knob_and_runs() -> None:
    app = StatelabApp("shared-value")
    try:
        async with opened(app, (120, 36)) as pilot:
            await pilot.press("ctrl+p", *"start method: spawn")
            await pilot.pause(0.3)
            await pilot.press("enter")
            start = app.lab.settings.query_one("#knob-start_method", Select)
            await until(pilot, lambda: start.value == "spawn", what="spawn chosen")
            await pilot.press("ctrl+p", *"type code: d")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await until(pilot, lambda: app.lab.settings.options().get("typecode") == "d",
                        what="d chosen")
            await pilot.press("ctrl+p", *"pace: 0.5 s")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await until(pilot, lambda: app.pace == 0.5, what="the pace chosen")
            await pilot.press("ctrl+p", *"run")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await until(pilot, lambda: app.lab.state.ended and not app.lab.live, what="the run")
            config = app.lab.state.config
            assert config["start_method"] == "spawn" and config["typecode"] == "d"
            assert config["pace"] == 0.5
            held = [e for e in app.lab.state.of_kind("checkpoint") if e.data.get("pace")]
            assert held and all(e.data["pace"] == 0.5 for e in held)
            assert not wait_gone(run_pids(app.lab.state.events))
    finally:
        app.stop_run_now()


async def test_a_choice_the_scenario_does_not_take_is_refused() -> None:
    app = StatelabApp("queue-copy")
    async with opened(app, (120, 36)) as pilot:
        app.lab.action_set_knob("lock", "false")
        await pilot.pause()
        assert "lock" not in app.lab.settings.options()
        assert app.lab.settings.set_choice("lock", "false") == "queue-copy does not take --lock"
        assert app.lab.settings.set_choice("start_method", "threads") == \
            "--start-method: threads is not one of its choices"
