"""How the front ends read a run: every line through protocol.decode, a bad line shown (never
fatal), and a transcript exported from the RunState loads again."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from scenarios.engine import catalog
from scenarios.engine.protocol import Error, Observe, Output, decode
from scenarios.engine.state import RunState
from tests.appsupport import DATA, opened, recorded, until
from tui import export
from tui.app import StatelabApp
from tui.lines import LineReader
from tui.messages import RunEvents
from tui.timeline import Timeline

RUNNER = 4242
GOOD = '{"t": 0.5, "pid": 7, "role": "child", "kind": "observe", "text": "child reads 1", ' \
       '"data": {"what": "child-read", "value": 1}}'
BROKEN = '{"t": 0.6, "pid": 7, "role": "child", "kind": "observe", "text": "no what"}'
NOT_JSON = "Traceback (most recent call last): something printed on the runner's stdout"


def test_a_line_that_is_not_an_event_is_shown_as_the_runners() -> None:
    reader = LineReader(RUNNER)
    assert reader.read(b"\n") is None
    good = reader.read(GOOD.encode())
    assert isinstance(good, Observe) and good.what == "child-read"
    text = reader.read(NOT_JSON + "\n")
    assert isinstance(text, Output) and text.text == NOT_JSON
    assert (text.pid, text.role, text.t) == (RUNNER, "runner", 0.5)  # placed after the last one
    bad = reader.read(BROKEN.encode())
    assert isinstance(bad, Error) and (bad.pid, bad.role) == (RUNNER, "runner")
    assert "not a valid event" in bad.text and "data.what must be a string" in bad.text
    huge = reader.read("x" * 10_000)
    assert huge is not None and len(huge.encode()) < 4096, "what is shown of it stays an event"


def test_statelab_run_shows_a_bad_line_and_goes_on() -> None:
    console = Console(file=io.StringIO(), record=True, width=120, color_system=None)
    timeline = Timeline(console, RUNNER)
    lines = [e.encode().decode() for e in recorded("shared-value-fork.jsonl")]
    for line in [*lines[:3], NOT_JSON, BROKEN, *lines[3:]]:
        timeline.feed(line)
    timeline.finish()
    out = console.export_text()
    assert NOT_JSON in out and "not a valid event" in out
    assert "2 agree with the lesson, 0 do not." in out
    assert timeline.state.status == "ok"


async def test_the_app_shows_a_bad_line_and_goes_on() -> None:
    app = StatelabApp("shared-value")
    async with opened(app, (120, 40)) as pilot:
        lab = app.lab
        reader = LineReader(RUNNER)
        lines = (DATA / "shared-value-fork.jsonl").read_text().splitlines()
        events = [e for e in (reader.read(line) for line in [*lines[:3], NOT_JSON, BROKEN,
                                                              *lines[3:]]) if e is not None]
        run_id = lab.begin_run(catalog.configure("shared-value", {"start_method": "fork"}))
        lab.post_message(RunEvents(run_id, events))
        await until(pilot, lambda: lab.state.ended and lab.log_view.settled,
                    what="the events to be shown")
        log = lab.log_view.plain()
        assert "not a valid event" in log and "Traceback (most recent call last)" in log
        assert "✓ The child sees the parent's change to the Value" in lab.findings.plain()


def test_an_exported_transcript_loads_again(tmp_path: Path) -> None:
    state = RunState(recorded("shared-value-spawn.jsonl"))
    md, jsonl = export.export(export.Transcript(state, ["shared-value"], []), tmp_path)
    assert md.name == "statelab-shared-value-1.md"
    again = [decode(line) for line in jsonl.read_text().splitlines()]
    assert again == state.events
    text = md.read_text()
    assert "Status: ok" in text
    assert ("- ✓ **The Value has the same id() in parent and child**: does not hold in this "
            "run; the lesson says it does not hold, and it is right.") in text
