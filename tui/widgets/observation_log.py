"""The observation log: one column per process, in time order, each in its own colour.

Scenario processes get a column each (as many as fit; the rest share an
"others" column, prefixed with their role). The runner's events (run start,
findings, run end) and helper processes' events span the whole width.
`output` events (prints, tracebacks) and errors stand out. Roles and which
processes are helpers come from the run's `RunState`.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.widgets import RichLog, Static

from scenarios.engine.protocol import (
    Checkpoint,
    Error,
    Event,
    FindingEvent,
    Observe,
    Output,
    ProcessExit,
    ProcessStart,
    RunEnd,
)
from scenarios.engine.state import RunState
from tui.widgets.colours import Colours

TIME_WIDTH = 6
MIN_COLUMN = 22


class ObservationLog(Vertical):
    """A header with the process columns above a scrolling RichLog of rows."""

    def __init__(self, colours: Colours, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.colours = colours
        self.state = RunState()
        self.events: list[tuple[float, int, Event]] = []  # (t, order of arrival, event)
        self.columns: list[int] = []  # pids with a column of their own, in order of appearance
        self._order = 0
        self._last: tuple[float, int] = (-math.inf, 0)
        self._width = 0
        self._layout: tuple[int, ...] = ()
        self.head_text = ""

    def compose(self) -> ComposeResult:
        yield Static(id="log-head")
        yield RichLog(id="log-body", wrap=True, min_width=20, auto_scroll=True)

    @property
    def body(self) -> RichLog:
        return self.query_one("#log-body", RichLog)

    def hint(self, text: str) -> None:
        """A line shown while there is no run (what to press)."""
        if not self.events:
            body = self.body
            body.clear()
            body.write(Text(text, style="italic"), width=self._width_now())

    def reset(self) -> None:
        self.state = RunState()
        self.events.clear()
        self.columns.clear()
        self._order = 0
        self._last = (-math.inf, 0)
        self._layout = ()
        self.body.clear()
        self.head_text = ""
        self.query_one("#log-head", Static).update("")

    # -- adding events ---------------------------------------------------------------------

    def add(self, events: list[Event], state: RunState) -> None:
        """Show these events (already folded into state, the current run's)."""
        self.state = state
        rewrite = False
        fresh: list[tuple[float, int, Event]] = []
        for event in events:
            proc = state.processes.get(event.pid)
            if (proc is not None and not proc.helper and proc.role != "runner"
                    and event.role != "runner" and event.pid not in self.columns):
                self.columns.append(event.pid)
            self._order += 1
            entry = (event.t, self._order, event)
            if entry[:2] < self._last:
                rewrite = True
            self._last = max(self._last, entry[:2])
            self.events.append(entry)
            fresh.append(entry)
        if not fresh:
            return
        if rewrite or self._layout != self._current_layout():
            self.rewrite()
        else:
            for entry in fresh:
                self._write(entry[2])

    def _width_now(self) -> int:
        return max(40, self.body.scrollable_content_region.width or self.size.width or 80)

    def _current_layout(self) -> tuple[int, ...]:
        width = self._width_now()
        fit = max(1, (width - TIME_WIDTH - 1) // MIN_COLUMN)
        shown = self.columns if len(self.columns) <= fit else [*self.columns[: fit - 1], 0]
        return (width, *shown)

    def rewrite(self) -> None:
        """Render every row again: columns changed, the width changed or a late event came."""
        self._layout = self._current_layout()
        self.events.sort(key=lambda entry: entry[:2])
        self._draw_head()
        body = self.body
        body.clear()
        for _, _, event in self.events:
            self._write(event)
        body.scroll_end(animate=False, immediate=False)

    def on_resize(self, event: Resize) -> None:
        if self.events and self._layout and self._layout[0] != self._width_now():
            self.rewrite()

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

    def _write(self, event: Event) -> None:
        stamp = Text(f"{event.t:6.3f}", style="dim")
        pid, role = event.pid, event.role
        body = self.body
        width = self._layout[0] if self._layout else self._width_now()
        cell = self.describe(event)
        columns = list(self._layout[1:])
        column = pid if pid in columns else (0 if 0 in columns and pid in self.columns else None)
        if column is None or role == "runner":
            line = Text()
            if role != "runner":
                line.append(f"{role} {pid}: ", style=f"bold {self.colours.of(pid, role, True)}")
            line.append_text(cell)
            row = Table.grid(expand=True, padding=(0, 1))
            row.add_column(width=TIME_WIDTH, no_wrap=True)
            row.add_column(ratio=1, overflow="fold")
            row.add_row(stamp, line)
            body.write(row, width=width)
            return
        if column == 0:
            cell = Text.assemble((f"{role}: ", f"bold {self.colours.of(pid, role)}"), cell)
        grid = self._grid()
        grid.add_row(stamp, *(cell if c == column else Text("") for c in columns))
        body.write(grid, width=width)

    def describe(self, event: Event) -> Text:
        """One cell: what the event says, styled by its kind."""
        text = event.text.rstrip("\n")
        colour = self.colours.of(event.pid, event.role, self.helper(event.pid))
        if isinstance(event, Observe):
            return Text(text, style=colour)
        if isinstance(event, Checkpoint):
            held = " — held: press s to step" if event.hold else ""
            return Text.assemble(("◆ ", "bold"), (f"{event.name}: ", "bold"),
                                 (text, colour), (held, "bold reverse" if held else ""))
        if isinstance(event, Output):
            thread = f" [{event.thread}]" if event.thread else ""
            return Text.assemble((f" {event.stream}{thread} ", "bold reverse yellow"), " ",
                                 (text, "yellow"))
        if isinstance(event, Error):
            tb = (event.traceback or "").strip().splitlines()
            extra = event.where or (tb[-1] if tb else "")
            line = Text.assemble((" ERROR ", "bold reverse red"), " ", (text, "bold red"))
            if extra and extra not in text:
                line.append(f"\n{extra}", style="red")
            return line
        if isinstance(event, ProcessStart):
            return Text(text, style="dim " + colour)
        if isinstance(event, ProcessExit):
            return Text(text, style="bold red" if event.failed else "dim " + colour)
        if isinstance(event, FindingEvent):
            return Text.assemble(("finding ", "bold"), (text, "bold"))
        if isinstance(event, RunEnd):
            return Text(text, style="bold green" if event.status == "ok" else "bold red")
        return Text(text, style="dim")

    def plain(self) -> str:
        """The text the log shows (header and rows), for tests and the transcript."""
        lines = [strip.text.rstrip() for strip in self.body.lines]
        return self.head_text + "\n" + "\n".join(lines)
