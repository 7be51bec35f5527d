"""The app under a flood: the log stays bounded and says what it no longer shows, one huge event
is cut for display, and the export says what the run left out.

The events are generated (typed events of scenarios.engine.protocol around a recorded run) and
reach the screen through `RunEvents`, as a live run's do. Speed is not asserted here: it is
measured by benchmarks/bench_app_flood.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from scenarios.engine import catalog
from scenarios.engine.protocol import Event, Output, ProcessStart, from_wire
from scenarios.engine.state import KEEP_OUTPUT, RunState
from tests.appsupport import opened, recorded, until
from tui import export
from tui.app import StatelabApp
from tui.messages import RunEvents
from tui.widgets.log_rows import (
    OUTPUT_ROW_LINES,
    ROW_LINES,
    TIME_WIDTH,
    Gap,
    clip,
    columns,
    render,
)
from tui.widgets.observation_log import MAX_LINES, REDRAW_ROWS, ObservationLog, weight

SIZE = (120, 40)
LEFT_OUT = {"events": 15000, "bytes": 60_000_000, "kinds": {"output": 14990, "observe": 10},
            "from": 0.5, "to": 2.0}


def around(flood: list[Output]) -> list[Event]:
    """A recorded shared-value run with the flood printed by its child, once the child started
    (the rest of the run comes after it)."""
    events = recorded("shared-value-fork.jsonl")
    cut = next(i for i, e in enumerate(events)
               if isinstance(e, ProcessStart) and e.role == "child") + 1
    child = events[cut - 1]
    shifted = [from_wire({**o.to_wire(), "t": child.t + (i + 1) * 1e-5, "pid": child.pid,
                          "role": "child"}) for i, o in enumerate(flood)]
    after = shifted[-1].t if shifted else child.t
    rest = [from_wire({**e.to_wire(), "t": e.t + after}) for e in events[cut:]]
    return [*events[:cut], *shifted, *rest]


def output(text: str) -> Output:
    return Output(0.0, 0, "child", text, {"stream": "stdout"})


async def show(app: StatelabApp, pilot: Pilot[Any], events: list[Event], batch: int = 500,
               one_by_one: bool = False) -> None:
    """Feed the events to the screen in batches, as the run client posts them (one_by_one:
    each handled before the next is posted), and wait until the run's end is folded and every
    row kept is drawn."""
    lab = app.lab
    run_id = lab.begin_run(catalog.configure("shared-value", {"start_method": "fork"}))
    for i in range(0, len(events), batch):
        lab.post_message(RunEvents(run_id, events[i:i + batch]))
        if one_by_one:
            await pilot.pause()
    await until(pilot, lambda: lab.state.ended and lab.log_view.settled, timeout=60,
                what="the flood to be shown")


def bounded(log: ObservationLog, posted: int) -> None:
    """The log keeps at most MAX_LINES lines and rows, and counts every event it dropped."""
    assert len(log.events) <= MAX_LINES
    assert len(log.body.lines) <= MAX_LINES
    assert log.lines == sum(log.heights) <= MAX_LINES
    assert log.hidden + sum(weight(e) for e in log.events) == posted, \
        "every event is shown, or counted (above the rows, or in a row of its own)"


@pytest.fixture
def app() -> StatelabApp:
    return StatelabApp("shared-value")


async def test_the_log_keeps_the_last_rows_and_says_how_many_it_does_not_show(
        app: StatelabApp) -> None:
    events = around([output(f"flood line {i:05d}\n") for i in range(10_000)])
    async with opened(app, SIZE) as pilot:
        log = app.lab.log_view
        await show(app, pilot, events)
        bounded(log, len(events))
        assert log.hidden > 0
        shown = log.plain()
        assert "flood line 09999" in shown and "run ended: ok" in shown, "the newest rows"
        assert "flood line 00000" not in shown
        # the state kept every event (10,000 short prints): the export has them all
        assert not app.lab.state.left_out
        assert log.note == (f"▲ {log.hidden:,} earlier events not shown: the export (e) has "
                            f"them (the log keeps the last {MAX_LINES:,} lines)")
        assert app.query_one("#log-note", Static).display
        assert log.note in shown

        # a narrower log draws again what it keeps, and no more
        await pilot.resize_terminal(110, 40)  # narrower, not compact: the log stays on screen
        await until(pilot, lambda: log.settled and log._layout[0] == log._width_now(),
                    what="the log drawn again")
        bounded(log, len(events))
        assert len(log.events) <= REDRAW_ROWS, "a resize draws the newest rows again"
        assert "run ended: ok" in log.plain()
        assert log.note.startswith(f"▲ {log.hidden:,} earlier events not shown")

        # a new run starts with an empty log, and no note
        await show(app, pilot, recorded("shared-value-fork.jsonl"))
        assert log.hidden == 0 and log.note == ""
        assert not app.query_one("#log-note", Static).display


async def test_rows_that_come_faster_than_drawn_are_skipped_and_counted(
        app: StatelabApp) -> None:
    events = around([output(f"flood line {i:05d}\n") for i in range(5_000)])
    async with opened(app, SIZE) as pilot:
        log = app.lab.log_view
        await show(app, pilot, events, one_by_one=True)
        bounded(log, len(events))
        gaps = [e[2].count for e in log.events if isinstance(e[2], Gap)]
        assert gaps, "batches of 500 rows: the older rows of each are not drawn"
        shown = log.plain()
        assert f"⋯ {gaps[-1]:,} events not shown here: they came faster than the log draws" \
            in shown.replace("\n       ", " ")
        assert "flood line 04999" in shown and "run ended: ok" in shown


async def test_one_oversized_output_event_is_cut_for_display(app: StatelabApp) -> None:
    many_lines = "".join(f"line {i:09d} {'.' * 84}\n" for i in range(40))  # 4,000 characters
    one_line = "x" * 100_000
    async with opened(app, SIZE) as pilot:
        log = app.lab.log_view
        await show(app, pilot, around([output(many_lines), output(one_line)]))
        rows = {e[2].text: n for e, n in zip(log.events, log.heights, strict=True)}
        assert rows[many_lines] <= OUTPUT_ROW_LINES and rows[one_line] <= OUTPUT_ROW_LINES
        shown = log.plain()
        assert "line 000000000" in shown and "line 000000004" not in shown
        assert "… cut: 4,000 characters" in shown
        assert "… cut: 100,000 characters" in shown
        assert "x" * 700 not in shown.replace("\n", "").replace(" ", "")
        # only the display is cut: the run keeps the events whole
        assert [e.text for e in app.lab.state.of_kind("output", "child")] == [many_lines,
                                                                             one_line]


async def test_the_export_says_what_the_run_left_out(app: StatelabApp, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    chunk = "".join(f"line {i:09d} {'.' * 84}\n" for i in range(40))
    flood = [output(chunk) for _ in range(KEEP_OUTPUT // len(chunk) + 100)]
    events = around(flood)
    end = next(i for i, e in enumerate(events) if e.kind == "process-exit")
    runner = events[0]
    note = Output(events[end].t, runner.pid, "runner", "the reader of this stream was slow: "
                  "14990 output and 10 observe event(s) (60000000 bytes) from 0.50 s to 2.00 s "
                  "were left out of it", {"stream": "runner", "left_out": LEFT_OUT})
    events.insert(end, note)
    monkeypatch.chdir(tmp_path)
    async with opened(app, SIZE) as pilot:
        lab = app.lab
        await show(app, pilot, events)
        left = lab.state.left_out["output bytes"]
        assert left >= 100 * len(chunk), "the state counted the output it did not keep"
        assert "the export (e) has what the run kept" in lab.log_view.note
        await pilot.press("e")
        await until(pilot, lambda: app.last_export is not None, what="the export")
    md = (tmp_path / "statelab-shared-value-1.md").read_text()
    assert "## Left out" in md
    assert (f"- Output past the first {KEEP_OUTPUT >> 20} MiB: {left:,} more characters were "
            "printed; they were counted, not kept.") in md
    assert ("- The runner's stream left out 15,000 events (14,990 output, 10 observe) from "
            "0.50 s to 2.00 s, its reader being slow") in md
    assert md.count("The runner's stream left out") == 1
    assert md.index("## Left out") < md.index("## Events")


def test_a_transcript_with_nothing_left_out_says_nothing_of_it() -> None:
    state = RunState(recorded("shared-value-fork.jsonl"))
    assert "Left out" not in export.markdown(export.Transcript(state, ["shared-value"], []))


def test_a_runners_report_the_state_kept_is_exported_once() -> None:
    events = around([])
    events.insert(-1, Output(events[-1].t, events[0].pid, "runner", "left out",
                             {"stream": "runner", "left_out": LEFT_OUT}))
    md = export.markdown(export.Transcript(RunState(events), ["shared-value"], []))
    assert md.count("The runner's stream left out 15,000 events") == 1


def test_clip_keeps_short_texts_and_says_how_much_more_a_long_one_had() -> None:
    assert clip("the child reads 3") == "the child reads 3"
    assert clip("a\nb\nc", lines=3) == "a\nb\nc"
    assert clip("a\nb\nc\nd", lines=2) == "a\nb\n… 2 more lines not shown here (7 characters in all)"
    long = clip("y" * 5000)
    assert long == "y" * 600 + " … (5,000 characters in all)"


@pytest.mark.parametrize("width", [40, 41, 57, 80, 99, 120, 161, 200])
@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_rows_are_laid_out_where_richs_grid_puts_them(width: int, count: int) -> None:
    """The log's rows (log_rows.render) and its column headings (a Rich grid) line up: each
    row is what Rich's Table.grid(expand=True, padding=(0, 1)) draws, cell for cell."""
    console = Console(width=300, color_system="truecolor")
    stamp = Text(" 1.234", style="dim")
    cell = Text.assemble((" stdout ", "bold reverse yellow"), " ",
                         ("the child reads 3 from the Value, id(var) = 0x7f2ec4f95ed0 " * 2,
                          "#aabbcc"))

    def cells(lines: list[list[Segment]]) -> list[list[tuple[str, object]]]:
        return [[(ch, seg.style or None) for seg in Segment.adjust_line_length(line, width)
                 for ch in seg.text] for line in lines]

    for column in range(count):
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(width=TIME_WIDTH, no_wrap=True)
        for _ in range(count):
            grid.add_column(ratio=1, overflow="fold")
        grid.add_row(stamp, *(cell if c == column else Text("") for c in range(count)))
        want = list(Segment.split_lines(console.render(grid, console.options.update_width(width))))
        got = render(console, stamp, cell, columns(width, count)[column])
        if len(want) <= ROW_LINES:
            assert cells(got) == cells(want)


def test_queued_batches_merge_in_order() -> None:
    a, b, c = (RunEvents(1, [output(n)]) for n in "abc")
    assert a.can_replace(b) and b.can_replace(c)
    assert [e.text for e in c.events] == ["a", "b", "c"]
    assert not c.can_replace(RunEvents(2, [output("d")])), "another run's batch stays apart"
