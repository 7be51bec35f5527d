"""The preferences file is untrusted input: whatever it holds, the app gets sane values or the
defaults, never an exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui import preferences
from tui.preferences import Preferences


def test_saved_preferences_load_again(tmp_path: Path) -> None:
    where = tmp_path / "p.json"
    prefs = Preferences(theme="textual-light", scenario="race",
                        options={"race": {"guard": "get_lock", "processes": "3"}},
                        python="/usr/bin/python3.12", pace=1.0)
    preferences.save(prefs, where)
    assert preferences.load(where) == prefs


def test_a_missing_or_huge_or_broken_file_gives_the_defaults(tmp_path: Path) -> None:
    assert preferences.load(tmp_path / "none.json") == Preferences()
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({"theme": "x" * (preferences.MAX_BYTES + 10)}))
    assert preferences.load(huge) == Preferences()
    broken = tmp_path / "broken.json"
    broken.write_bytes(b"\xff\xfe{not json")
    assert preferences.load(broken) == Preferences()
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 50_000 + "]" * 50_000)
    assert preferences.load(deep) == Preferences()


def test_fields_of_the_wrong_shape_are_dropped_one_by_one(tmp_path: Path) -> None:
    where = tmp_path / "p.json"
    where.write_text(json.dumps({"theme": 7, "scenario": "race\x1b[2J", "pace": 1e9,
                                 "python": ["x"], "options": {"race": {"guard": 3,
                                                                       "lock": "false"}}}))
    prefs = preferences.load(where)
    assert prefs.theme is None and prefs.scenario is None and prefs.python is None
    assert prefs.pace is None, "out of the pace's bounds"
    assert prefs.options == {"race": {"lock": "false"}}


json_values = st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                           lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                           max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_loads_to_preferences(value: object) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        where = Path(folder) / "p.json"
        where.write_text(json.dumps(value))
        prefs = preferences.load(where)
    assert isinstance(prefs, Preferences)
    assert prefs.pace is None or 0 < prefs.pace <= 10
    assert all(isinstance(v, str) for knobs in prefs.options.values() for v in knobs.values())


async def test_the_app_remembers_the_last_session(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A run saves the scenario, its settings, the pace and the theme; the next app started
    from the command line (remember=True) opens on them. Apps made by tests do not remember."""
    from tests.appsupport import opened, run_pids, until, wait_gone
    from tui.app import StatelabApp

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    first = StatelabApp("race", {"guard": "get_lock", "processes": "3", "iterations": "500"},
                        remember=True)
    try:
        async with opened(first, (120, 36)) as pilot:
            first.theme = "textual-light"
            first.action_set_pace(0.5)
            await first.action_run()
            await until(pilot, lambda: first.lab.state.ended and not first.lab.live,
                        what="the run")
            assert not wait_gone(run_pids(first.lab.state.events))
    finally:
        first.stop_run_now()
    saved = preferences.load(tmp_path / "statelab" / "preferences.json")
    assert saved.scenario == "race" and saved.pace == 0.5 and saved.theme == "textual-light"
    assert saved.options["race"]["guard"] == "get_lock"

    second = StatelabApp(remember=True)
    async with opened(second, (120, 36)):
        assert second.lab.scenario == "race"
        assert second.lab.settings.options()["processes"] == "3"
        assert second.pace == 0.5 and second.theme == "textual-light"
    third = StatelabApp()  # not from the command line: the defaults
    async with opened(third, (120, 36)):
        assert third.lab.scenario != "race" and third.pace is None
