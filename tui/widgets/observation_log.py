"""The observation log: one column per process, in time order, each in its own colour.

Scenario processes get a column each (as many as fit; the rest share an
"others" column, prefixed with their role). The runner's events (run start,
findings, run end) and helper processes' events span the whole width.
`output` events (prints, tracebacks) and errors stand out. Roles and which
processes are helpers come from the run's `RunState`.

The log is bounded, whatever a run prints: it keeps the last MAX_LINES lines of the terminal
(its RichLog's `max_lines`) and, in its own list, the events of those rows and of the rows not
drawn yet, never more than MAX_LINES of them either (a row takes a line at least). A line
above the rows says how many earlier events are no longer shown; the export writes what the
run's `RunState` kept. 2,000 lines are some seventy screens of a 30-line terminal, far more than
a lesson's run says (20 to 200 events). What one event shows is cut too (log_rows.py).

Rows are drawn at once while they come slowly. Each drawing is one write to the RichLog (a
write makes the screen lay itself out again) of DRAW_BUDGET seconds of rows at most; rows that
come within TICK of the last drawing wait for the next one: in a flood the log draws four times
a second, some 30 ms each time with the layout, and keys are answered in between. When more
than SKIP_AT rows wait, the older ones are not drawn: one row in their place says how many.
A resize (or an event that comes late, before rows drawn) draws again the newest rows kept,
REDRAW_ROWS at most, at once: the older ones are then counted as not shown.
"""

from __future__ import annotations

import math
from bisect import insort
from collections import deque
from time import perf_counter
from typing import Any

from rich.console import RenderableType
from rich.segment import SegmentLines
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.timer import Timer
from textual.widgets import RichLog, Static

from scenarios.engine.protocol import Event, Output
from scenarios.engine.state import RunState
from tui.widgets.colours import Colours
from tui.widgets.log_rows import (
    OUTPUT_ROW_LINES,
    ROW_LINES,
    TIME_WIDTH,
    Gap,
    Line,
    columns,
    describe,
    printed,
    render,
)

MIN_COLUMN = 22
MAX_LINES = 2000  # lines of the terminal the log keeps (and events: a row takes one at least)
TICK = 0.25  # seconds: rows that come within this of the last drawing wait for the next
DRAW_BUDGET = 0.012  # seconds of rendering rows in one drawing at most
SKIP_AT = 200  # rows waiting to be drawn: past this, all but the newest SKIP_TO are skipped
SKIP_TO = 50
REDRAW_ROWS = 300  # rows drawn again at a resize, at most (and REDRAW_BUDGET seconds of them)
REDRAW_BUDGET = 0.03
Entry = tuple[float, int, "Event | Gap"]  # (t, order of arrival, what): the log's time order


def role_order(role: str, pid: int) -> tuple[int, int, str]:
    """Columns go parent, child, child-2, … child-10, then any other role by name: the same
    order in every run, whichever process spoke first."""
    if role == "parent":
        return (0, 0, "")
    head, _, n = role.rpartition("-")
    if role == "child" or (head == "child" and n.isdigit()):
        return (1, int(n) if role != "child" else 1, "")
    return (2, 0, role)


def weight(entry: Entry) -> int:
    """How many events a row stands for."""
    item = entry[2]
    return item.count if isinstance(item, Gap) else 1


class ObservationLog(Vertical):
    """A header with the process columns above a scrolling RichLog of rows."""

    def __init__(self, colours: Colours, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.colours = colours
        self.state = RunState()
        self.events: list[Entry] = []  # the rows kept, in time order: the drawn ones first
        self.heights: deque[int] = deque()  # lines each drawn row takes, oldest first
        self.drawn = 0  # rows drawn: events[:drawn]
        self.lines = 0  # lines they take (the body may hold the rest of a row cut at the top)
        self.hidden = 0  # earlier events of this run no longer kept
        self.columns: list[int] = []  # pids with a column of their own, in order of appearance
        self.stream_left_out = False  # the runner said it left events out of its stream
        self._order = 0
        self._layout: tuple[int, ...] = ()
        self._spans: list[tuple[int, int]] = []  # (x, width) of each column of the layout
        self._drawn_at = -math.inf  # when rows were last drawn (perf_counter)
        self._timer: Timer | None = None
        self._note: tuple[int, str] = (0, "")
        self.note = ""  # the line above the rows, as shown ("" while every event is shown)
        self.head_text = ""

    def compose(self) -> ComposeResult:
        yield Static(id="log-head")
        yield Static(id="log-note")
        yield RichLog(id="log-body", wrap=True, min_width=20, auto_scroll=True,
                      max_lines=MAX_LINES)

    @property
    def body(self) -> RichLog:
        return self.query_one("#log-body", RichLog)

    @property
    def settled(self) -> bool:
        """Every row kept is drawn."""
        return self.drawn == len(self.events)

    def hint(self, text: str) -> None:
        """A line shown while there is no run (what to press)."""
        if not self.events:
            body = self.body
            body.clear()
            body.max_lines = MAX_LINES
            body.write(Text(text, style="italic"), width=self._width_now())

    def reset(self) -> None:
        self.state = RunState()
        self.events.clear()
        self.heights.clear()
        self.drawn = self.lines = self.hidden = 0
        self.columns.clear()
        self.stream_left_out = False
        self._order = 0
        self._layout = ()
        self.body.clear()
        self.head_text = ""
        self.query_one("#log-head", Static).update("")
        self._show_note()

    # -- adding events ---------------------------------------------------------------------

    def add(self, events: list[Event], state: RunState) -> None:
        """Show these events (already folded into state, the current run's)."""
        self.state = state
        if not events:
            return
        rewrite = False
        kept = self.events
        for event in events:
            proc = state.processes.get(event.pid)
            if (proc is not None and not proc.helper and proc.role != "runner"
                    and event.role != "runner" and event.pid not in self.columns):
                self.columns.append(event.pid)  # in the roles' order: parent, child, child-2…
                self.columns.sort(key=lambda pid: role_order(state.processes[pid].role, pid))
            if isinstance(event, Output) and event.role == "runner" and "left_out" in event.data:
                self.stream_left_out = True
            self._order += 1
            entry = (event.t, self._order, event)
            if not kept or entry[:2] > kept[-1][:2]:
                kept.append(entry)
            else:  # a late event: in its place, and drawn rows after it are drawn again
                rewrite = rewrite or (self.drawn > 0 and entry[:2] < kept[self.drawn - 1][:2])
                insort(kept, entry, key=lambda e: e[:2])
        if len(kept) > MAX_LINES:
            self._forget(len(kept) - MAX_LINES)
        if rewrite or self._layout != self._current_layout():
            self.rewrite()
        else:
            self._draw()

    def _forget(self, n: int) -> None:
        """No longer keep the n earliest rows (drawn rows' lines go at the next write)."""
        self.hidden += sum(weight(entry) for entry in self.events[:n])
        del self.events[:n]
        gone = min(n, self.drawn)
        for _ in range(gone):
            self.lines -= self.heights.popleft()
        self.drawn -= gone

    def _width_now(self) -> int:
        return max(40, self.body.scrollable_content_region.width or self.size.width or 80)

    def _current_layout(self) -> tuple[int, ...]:
        width = self._width_now()
        fit = max(1, (width - TIME_WIDTH - 1) // MIN_COLUMN)
        shown = self.columns if len(self.columns) <= fit else [*self.columns[: fit - 1], 0]
        return (width, *shown)

    def rewrite(self) -> None:
        """Draw again, at once, the newest rows kept (REDRAW_ROWS, MAX_LINES lines or
        REDRAW_BUDGET seconds of them at most): the columns or the width changed, or an event
        came late. The older rows are no longer kept."""
        self._layout = self._current_layout()
        self._spans = columns(self._layout[0], len(self._layout) - 1)
        self._draw_head()
        start = perf_counter()
        rows: list[list[Line]] = []
        lines = 0
        for entry in reversed(self.events):
            if (len(rows) >= REDRAW_ROWS or lines >= MAX_LINES
                    or (rows and perf_counter() - start > REDRAW_BUDGET)):
                break
            rows.append(self._row_lines(entry))
            lines += len(rows[-1])
        rows.reverse()
        self._forget(len(self.events) - len(rows))
        self.body.clear()
        self.heights.clear()
        self.drawn = self.lines = 0
        if rows:
            self._write([line for row in rows for line in row], [len(row) for row in rows])
        self._drawn_at = perf_counter()
        self._show_note()

    def on_resize(self, event: Resize) -> None:
        if self.events and self._layout and self._layout[0] != self._width_now():
            self.rewrite()

    # -- drawing: at once when quiet, ten times a second at most in a flood -------------------

    def _draw(self, first: bool = False) -> None:
        """Draw rows not drawn yet: DRAW_BUDGET seconds of them at most, in one write (a write
        costs the screen a layout). Drawn less than TICK ago: in a moment, with those that come
        meanwhile. `first`: now."""
        start = perf_counter()
        if not first and start - self._drawn_at < TICK:
            self._draw_later(self._drawn_at + TICK - start)
            return
        waiting = len(self.events) - self.drawn
        if waiting > SKIP_AT:  # they come faster than they are drawn: the newest are shown
            skipped = self.events[self.drawn:len(self.events) - SKIP_TO]
            gap = (skipped[-1][0], skipped[-1][1], Gap(sum(weight(e) for e in skipped)))
            self.events[self.drawn:len(self.events) - SKIP_TO] = [gap]
        batch: list[Line] = []
        heights: list[int] = []
        while self.drawn + len(heights) < len(self.events) and len(batch) < MAX_LINES:
            if heights and perf_counter() - start >= DRAW_BUDGET:
                break
            lines = self._row_lines(self.events[self.drawn + len(heights)])
            batch += lines
            heights.append(len(lines))
        if heights:
            self._write(batch, heights)
        self._drawn_at = perf_counter()
        if not self.settled:
            self._draw_later(TICK)
        self._show_note()

    def _draw_later(self, delay: float) -> None:
        if self._timer is None:
            self._timer = self.set_timer(max(0.001, delay), self._next_draw)

    def _next_draw(self) -> None:
        self._timer = None
        self._draw(first=True)

    def _write(self, batch: list[Line], heights: list[int]) -> None:
        """Add these rows' lines to the body, and forget the earliest rows it makes room for."""
        body = self.body
        # the body keeps the rows kept and these: the lines of rows forgotten go now
        body.max_lines = min(MAX_LINES, self.lines + len(batch))
        body.write(SegmentLines(batch, new_lines=True), width=self._layout[0])
        self.heights.extend(heights)
        self.lines += len(batch)
        self.drawn += len(heights)
        while self.lines > MAX_LINES:  # the body made room: its earliest row is cut
            self.lines -= self.heights.popleft()
            self.drawn -= 1
            self.hidden += weight(self.events.pop(0))

    def _show_note(self) -> None:
        """The line above the rows: how many earlier events are not shown, and where they are."""
        left_out = bool(self.state.left_out) or self.stream_left_out
        where = "the export (e) has what the run kept" if left_out else "the export (e) has them"
        note = (self.hidden, where if self.hidden else "")
        if note == self._note:
            return
        self._note = note
        self.note = (f"▲ {self.hidden:,} earlier events not shown: {where} (the log keeps "
                     f"the last {MAX_LINES:,} lines)") if self.hidden else ""
        static = self.query_one("#log-note", Static)
        static.display = bool(self.hidden)
        static.update(Text(self.note, style="italic", no_wrap=True, overflow="ellipsis"),
                      layout=False)

    # -- rendering -------------------------------------------------------------------------

    def _grid(self) -> Table:
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(width=TIME_WIDTH, no_wrap=True)
        for _ in self._layout[1:]:
            grid.add_column(ratio=1, overflow="fold")
        return grid

    def _draw_head(self) -> None:
        grid = self._grid()
        cells: list[RenderableType] = [Text("t (s)", style="bold")]
        for pid in self._layout[1:]:
            if pid == 0:
                cells.append(Text("others", style="bold underline"))
            else:
                role = self.role(pid)
                style = f"bold underline {self.colours.of(pid, role)}"
                cells.append(Text(f"{role} {pid}", style=style, no_wrap=True,
                                  overflow="ellipsis"))
        grid.add_row(*cells)
        self.head_text = "  ".join(c.plain for c in cells if isinstance(c, Text))
        self.query_one("#log-head", Static).update(grid)

    def role(self, pid: int) -> str:
        proc = self.state.processes.get(pid)
        return proc.role if proc is not None else "?"

    def helper(self, pid: int) -> bool:
        proc = self.state.processes.get(pid)
        return proc is not None and proc.helper

    def _row_lines(self, entry: Entry) -> list[Line]:
        """The terminal lines of one row (log_rows: bounded)."""
        _, _, event = entry
        console = self.app.console
        stamp = Text(f"{entry[0]:6.3f}", style="dim")
        if isinstance(event, Gap):
            return render(console, stamp, Text(event.text, style="dim italic"),
                          columns(self._layout[0], 1)[0])
        pid, role = event.pid, event.role
        stepped = self.state is not None and bool(self.state.config.get("step"))
        cell = describe(event, self.colours.of(pid, role, self.helper(pid)), step=stepped)
        most = OUTPUT_ROW_LINES if printed(event) else ROW_LINES
        shown = self._layout[1:]
        column = pid if pid in shown else (0 if 0 in shown and pid in self.columns else None)
        if column is None or role == "runner":
            line = Text()
            if role != "runner":
                line.append(f"{role} {pid}: ", style=f"bold {self.colours.of(pid, role, True)}")
            line.append_text(cell)
            return render(console, stamp, line, columns(self._layout[0], 1)[0], len(event.text),
                          most)
        if column == 0:
            cell = Text.assemble((f"{role}: ", f"bold {self.colours.of(pid, role)}"), cell)
        return render(console, stamp, cell, self._spans[shown.index(column)], len(event.text),
                      most)

    def plain(self) -> str:
        """The text the log shows (header, the note on earlier events and the rows), for tests
        and the transcript."""
        lines = [strip.text.rstrip() for strip in self.body.lines]
        return "\n".join([self.head_text, *([self.note] if self.note else []), *lines])
