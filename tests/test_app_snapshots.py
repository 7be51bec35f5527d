"""Snapshots of the app at fixed sizes, fed recorded events and fixed samples.

The events were recorded once with `python -m scenarios shared-value ...` into
tests/data/; they reach the widgets through the same messages a live run's
events use (RunEvents, Samples, RunEnded), so the pictures are stable: no live
processes, no psutil. The interpreter line, the scenario list, the source and
the lesson text are pinned too, so a change elsewhere in the project does not
change these pictures.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from scenarios.engine import catalog
from scenarios.engine.protocol import Checkpoint, Event, ProcessExit, ProcessStart, RunStart
from tests.appsupport import DATA, recorded, until
from tui.app import StatelabApp
from tui.interpreters import Interpreter
from tui.messages import ProcSample, RunEnded, RunEvents, Samples
from tui.widgets.code_view import CodeView

INTERPRETER = {"python": "3.11.7", "platform": "Linux x86_64", "default_start_method": "fork"}
SIZES = [(80, 24), (100, 30), (160, 45)]
# the app's own Python as the settings list it, pinned (the tests may run on another 3.11)
OWN = Interpreter("/usr/bin/python3", (3, 11, 7), "CPython", "/usr/bin/python3", "fork",
                  own=True)
MB = 1024 * 1024


def make_app() -> StatelabApp:
    return StatelabApp("shared-value", interpreter=INTERPRETER, scenario_names=("shared-value",))


def samples_for(events: list[Event], step: int) -> dict[int, ProcSample]:
    """Fixed psutil figures for every process the events started (and the runner)."""
    found: dict[int, ProcSample] = {}
    for n, e in enumerate(e for e in events if isinstance(e, (RunStart, ProcessStart))):
        pid = e.pid
        ppid = e.ppid if isinstance(e, ProcessStart) and e.ppid is not None else 1000
        uss = (2 + n) * MB + step * 256 * 1024 * (n % 2)
        found[pid] = ProcSample(pid, ppid, "sleeping", 12 * MB + uss, uss, uss + 3 * MB,
                                0.0 if step else None, 1 + (n == 0), "")
    return found


async def ready(pilot: Pilot[Any]) -> None:
    """The settings, log and tabs are mounted just after the first frame: wait for them."""
    app = pilot.app
    assert isinstance(app, StatelabApp)
    await until(pilot, app.lab.complete.is_set, what="the whole screen")
    app.lab.settings.pythons = [OWN]
    app.lab.settings.set_pythons([OWN])


async def feed(pilot: Pilot[Any], name: str, *, upto: type[Event] | None = None) -> None:
    """Show a recorded run: events up to the first process exit, three sample passes, the rest."""
    app = pilot.app
    assert isinstance(app, StatelabApp)
    await ready(pilot)
    lab = app.lab
    events = recorded(name)
    if upto is not None:
        events = events[: next(i for i, e in enumerate(events) if isinstance(e, upto)) + 1]
    start = events[0]
    assert isinstance(start, RunStart)
    config = start.config
    cfg = catalog.configure("shared-value", {"start_method": config["start_method"],
                                             "typecode": config["typecode"],
                                             "lock": config["lock"]},
                            step=bool(config["step"]))
    lab.code_view.show_source((DATA / "shared_value_source.txt").read_text())
    await lab.lesson_view.show("shared-value", "pinned summary for the snapshot", "")
    run_id = lab.begin_run(cfg)
    lab.run_started(cfg)  # as a live run: a narrow screen gives the run the sidebar's width
    cut = next((i for i, e in enumerate(events) if isinstance(e, ProcessExit)), len(events))
    lab.post_message(RunEvents(run_id, events[:cut]))
    await pilot.pause()
    for step in range(3):
        lab.post_message(Samples(run_id, samples_for(events, step), frozenset()))
        await pilot.pause()
    if events[cut:]:
        lab.post_message(RunEvents(run_id, events[cut:]))
        lab.post_message(RunEnded(run_id, 0, ""))
    await pilot.pause()
    # rows that come just after others are drawn a moment later (in a flood, with others)
    await until(pilot, lambda: lab.log_view.settled, what="the log's rows")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_start_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        app = pilot.app
        app.query_one(CodeView).show_source((DATA / "shared_value_source.txt").read_text())
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_finished_run_findings(snap_compare: Any, size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await feed(pilot, "shared-value-spawn.jsonl")

    assert snap_compare(make_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_paused_run(snap_compare: Any, size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await feed(pilot, "shared-value-step.jsonl", upto=Checkpoint)

    assert snap_compare(make_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("tab", ["tab-code", "tab-lesson"])
def test_tabs(snap_compare: Any, size: tuple[int, int], tab: str) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await feed(pilot, "shared-value-fork.jsonl")
        pilot.app.query_one(TabbedContent).active = tab
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=before)


def test_help_screen(snap_compare: Any) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), press=["question_mark"],
                        run_before=ready)


def test_invalid_value_marked(snap_compare: Any) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        await pilot.click("#knob-value")
        await pilot.press(*"1.5")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=before)


def variants() -> list[Any]:
    """A sweep over start methods made of the recorded runs (no process is started)."""
    from scenarios.engine.state import RunState
    from tui.sweep import Variant

    made = []
    for method in ("fork", "spawn"):
        cfg = catalog.configure("shared-value", {"start_method": method})
        made.append(Variant(method, OWN, cfg, state=RunState(
            recorded(f"shared-value-{method}.jsonl")), ran=True, exit_code=0))
    return made


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sweep_matrix(snap_compare: Any, size: tuple[int, int]) -> None:
    from tui.screens.sweep import SweepScreen

    class Recorded(SweepScreen):
        async def _run(self, variant: Any) -> None:  # the runs were recorded: none is started
            return None

    async def before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        screen = Recorded("shared-value", "start-method", variants())
        await pilot.app.push_screen(screen)
        await until(pilot, screen.finished.is_set, what="the matrix")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_maximised_log(snap_compare: Any, size: tuple[int, int]) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await feed(pilot, "shared-value-fork.jsonl")
        await pilot.press("4", "m")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    from scenarios.engine.state import RunState
    from tui.history import RunRecord
    from tui.screens.compare import CompareScreen

    async def before(pilot: Pilot[Any]) -> None:
        await ready(pilot)
        fork, spawn = (RunRecord(RunState(recorded(f"shared-value-{m}.jsonl")),
                                 started=1_700_000_000.0 + n * 60, done=True)
                       for n, m in enumerate(("fork", "spawn")))
        await pilot.app.push_screen(CompareScreen(fork, spawn))
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=before)
