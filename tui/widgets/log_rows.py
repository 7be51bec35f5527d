"""One row of the observation log: what an event says, laid out without a Rich Table, and cut
to a bounded size.

A row is the time, then one column per process; a row's text sits in its process's column, or
spans every column (the runner's and helpers' events, and the rows that stand for events not
drawn). Rich's `Table.grid` laid rows out the same way, at about ten times the cost: in a flood
the log draws thousands of rows, so rows are wrapped here, the columns placed exactly where
`Table.grid(expand=True, padding=(0, 1))` places them (the column headings are still such a
grid, drawn once per layout).

What one event shows is bounded: its text is cut to CELL_LINES lines (OUTPUT_LINES of what
a process printed) and CELL_CHARS characters, saying how much more there was, and a row takes
at most ROW_LINES lines of the terminal (OUTPUT_ROW_LINES for what a process printed), however
narrow its column. Only the display is cut: the event stays as it came in the run's
`RunState`, and so in the export.
"""

from __future__ import annotations

from math import ceil

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

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

TIME_WIDTH = 6  # the time column: "12.345"
GAP = 1  # between two columns
CELL_CHARS = 600  # characters of an event's text shown in its cell
CELL_LINES = 6  # lines of an event's text shown in its cell
OUTPUT_LINES = 4  # ...and of what a process printed (a flood is made of those)
ROW_LINES = 12  # terminal lines a row takes at most, once wrapped
OUTPUT_ROW_LINES = 6  # ...and a row of what a process printed
Line = list[Segment]


class Gap:
    """Events the log did not draw: they came faster than it draws (one row says how many)."""

    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        self.count = count

    @property
    def text(self) -> str:
        return (f"⋯ {self.count:,} events not shown here: they came faster than the log draws "
                "(the export (e) has what the run kept)")


def clip(text: str, lines: int = CELL_LINES, chars: int = CELL_CHARS) -> str:
    """The text as shown (without its last newlines): at most `lines` lines and `chars`
    characters, then how much more it had."""
    body = text.rstrip("\n")
    if len(body) <= chars and body.count("\n") < lines:
        return body
    shown = "\n".join(body[: chars + 1].split("\n", lines)[:lines])[:chars]
    more = body.count("\n") - shown.count("\n")
    if more:
        return (f"{shown}\n… {more:,} more line{'s' if more > 1 else ''} not shown here "
                f"({len(text):,} characters in all)")
    return f"{shown} … ({len(text):,} characters in all)"


def printed(event: Event) -> bool:
    """Is it what a process of the scenario printed (not the runner's own words)?"""
    return isinstance(event, Output) and event.role != "runner"


def held_for(event: Checkpoint, step: bool) -> str:
    """What lets a held checkpoint go on: a step, its pace (data.pace, in seconds, which the
    runner adds to a paced run's holds), or whichever comes first ("" if it is not held)."""
    if not event.hold:
        return ""
    pace = event.data.get("pace")
    if not isinstance(pace, (int, float)) or isinstance(pace, bool):
        return " — held: press s to step"
    return f" — held {pace:g} s, or until s" if step else f" — held {pace:g} s (paced)"


def describe(event: Event, colour: str, step: bool = False) -> Text:
    """One cell: what the event says, styled by its kind (colour: its process's). `step`: the
    run is in step mode (a paced hold then ends by a step too)."""
    text = clip(event.text, OUTPUT_LINES if printed(event) else CELL_LINES)
    if isinstance(event, Observe):
        return Text(text, style=colour)
    if isinstance(event, Checkpoint):
        held = held_for(event, step)
        return Text.assemble(("◆ ", "bold"), (f"{event.name}: ", "bold"),
                             (text, colour), (held, "bold reverse" if held else ""))
    if isinstance(event, Output):
        thread = f" [{event.thread}]" if event.thread else ""
        return Text.assemble((f" {event.stream}{thread} ", "bold reverse yellow"), " ",
                             (text, "yellow"))
    if isinstance(event, Error):
        tb = (event.traceback or "").strip().splitlines()
        extra = clip(event.where or (tb[-1] if tb else ""), lines=1)
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


def columns(width: int, n: int) -> list[tuple[int, int]]:
    """(x, width) of each of n process columns beside the time column, in a row `width` wide:
    where Rich's grid puts them (the time column and a gap, then n equal shares, the first
    ones a cell wider when the width does not divide, a gap after each but the last)."""
    spans: list[tuple[int, int]] = []
    x = TIME_WIDTH + GAP
    remaining, ratios = width - x, n
    for i in range(n):
        last = i == n - 1
        share = max(1 if last else 1 + GAP, ceil(remaining / ratios))
        spans.append((x, max(1, share - (0 if last else GAP))))
        x += share
        remaining -= share
        ratios -= 1
    return spans


def render(console: Console, stamp: Text, cell: Text, span: tuple[int, int],
           whole: int = 0, most: int = ROW_LINES) -> list[Line]:
    """The terminal lines of one row: the time stamp, then the cell's text wrapped into its
    column (x, width); at most `most` lines, the last saying that more was cut (and how long
    the event's text is, `whole` characters, if given)."""
    x, width = span
    room = most * (width + 1)  # more never fits (a line: its cells and a break): not wrapped
    longer = len(cell) > room
    wrapped = list((cell[:room] if longer else cell).wrap(console, width, justify="left",
                                                          overflow="fold"))
    cut = longer or len(wrapped) > most
    parts = wrapped[: most - 1] if cut else wrapped
    first = stamp.copy()
    first.truncate(TIME_WIDTH, overflow="ellipsis", pad=True)
    indent = " " * (x - TIME_WIDTH)
    blank = " " * TIME_WIDTH
    lines: list[Line] = []
    for i, part in enumerate(parts or [Text("")]):
        line = Text()
        line.append_text(first) if i == 0 else line.append(blank)
        line.append(indent)
        line.append_text(part)  # the part's own style becomes a span, as Rich's grid renders it
        lines.append(list(line.render(console)))
    if cut:
        note = "… cut" + (f": {whole:,} characters" if whole else "")
        lines.append([Segment(blank + indent), Segment(note[:width], Style(dim=True, italic=True))])
    return lines
