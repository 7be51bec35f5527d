"""The app's python setting: the interpreters found are listed with their default start method,
and a run uses the one chosen, which its run-start and the header name.

The other Pythons are found by test_python_option.find (independently of tui.interpreters); a
version not installed here is skipped, saying so.
"""

from __future__ import annotations

import pytest
from textual.widgets import Select

from tests.appsupport import opened, run_pids, until, wait_gone
from tests.test_python_option import find
from tui import interpreters
from tui.app import StatelabApp


def other_python() -> tuple[str, str]:
    """(version like 3.13, its executable): a CPython other than the one running the tests."""
    import sys

    for version in ("3.13", "3.12", "3.11"):
        if version == f"{sys.version_info.major}.{sys.version_info.minor}":
            continue
        path = find(version)
        if path is not None:
            return version, path
    pytest.skip("no other CPython 3.11+ is installed here")


async def test_a_run_uses_the_python_chosen() -> None:
    version, path = other_python()
    app = StatelabApp("shared-value")
    try:
        async with opened(app, (120, 36)) as pilot:
            settings = app.lab.settings
            assert settings.python.own, "before the probe answers, the app's own Python"
            settings.set_pythons([interpreters.own(), interpreters.probe(path)])
            select = settings.query_one("#python", Select)
            labels = [str(prompt) for prompt, _ in select._options]
            assert any(label.startswith(version + ".") for label in labels), labels
            assert all(" · " in label for label in labels), "each one's default start method"
            assert settings.choose_python(version) is None
            assert settings.choose_python("2.7") == "no Python 2.7 was found here"
            await app.action_run()
            await until(pilot, lambda: app.lab.state.ended, what="the run's end")
            await until(pilot, lambda: not app.running, what="the runner's exit")
            ran = app.lab.state.interpreter
            assert str(ran["python"]).startswith(version + "."), ran
            assert ran["executable"] == path
            assert f"Python {ran['python']}" in app.lab.header.plain()
            assert app.lab.state.status == "ok"
            assert wait_gone(run_pids(app.lab.state.events)) == []
    finally:
        app.stop_run_now()


async def test_the_start_method_default_follows_the_python() -> None:
    """A Python whose default start method differs (3.14 on Linux: forkserver; here one is made
    up, since 3.14 cannot be installed) is marked so, and chosen if the user had not chosen
    another."""
    app = StatelabApp("shared-value")
    async with opened(app, (120, 36)) as pilot:
        settings = app.lab.settings
        mine = interpreters.own()
        other = interpreters.Interpreter("/nowhere/python3.99", (3, 99, 0), "CPython",
                                         "/nowhere/python3.99", "forkserver")
        settings.set_pythons([mine, other])
        settings.query_one("#python", Select).value = "1"
        await pilot.pause()
        start = settings.query_one("#knob-start_method", Select)
        assert start.value == "forkserver"
        labels = {value: str(prompt) for prompt, value in start._options}
        assert labels["forkserver"] == "forkserver (default)"
        assert labels["fork"] == "fork"
        start.value = "spawn"  # the user's own choice is kept when the Python changes
        await pilot.pause()
        settings.query_one("#python", Select).value = "0"
        await pilot.pause()
        assert start.value == "spawn"
