"""A run's events as a readable Rich timeline, for `statelab run`.

Everything here reads typed events and the run's `RunState`; each finding
reads as `state.verdict()` says, with its tone coloured in one place (TONES).
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from scenarios.engine.protocol import (
    Checkpoint,
    Error,
    Event,
    FindingEvent,
    Output,
    ProcessExit,
    ProcessStart,
    RunEnd,
    RunStart,
)
from scenarios.engine.state import LESSON, RunState
from tui.lines import LineReader

PALETTE = ("cyan", "green", "magenta", "yellow", "bright_blue", "bright_red", "bright_green",
           "bright_magenta")
FIXED = {"runner": "dim", "parent": "bold blue", "resource-tracker": "yellow3",
         "forkserver": "yellow3", "manager": "yellow3"}
# a verdict's tone as a colour: green agrees, red differs, yellow unchecked, dim unsaid
TONES = {"agrees": "bold green", "differs": "bold red", "unchecked": "bold yellow",
         "unsaid": "dim"}
KIND_STYLES: dict[type[Event], str] = {Error: "bold red", Checkpoint: "bold", ProcessStart: "dim",
                                       ProcessExit: "dim", RunStart: "bold", RunEnd: "bold"}


class Colours:
    """One colour per process, stable for the whole run."""

    def __init__(self) -> None:
        self.by_role: dict[str, str] = {}

    def __call__(self, role: str) -> str:
        if role in FIXED:
            return FIXED[role]
        if role not in self.by_role:
            self.by_role[role] = PALETTE[len(self.by_role) % len(PALETTE)]
        return self.by_role[role]


# frames of the engine and of a child's start-up: the same in every stack, never the answer
PLUMBING = re.compile(r'File "[^"]*(?:/scenarios/(?:engine/[^"]*|__main__)\.py|'
                      r'/multiprocessing/(?:process|popen_\w+|context|spawn|forkserver)\.py|'
                      r'<frozen runpy>)"')


def trim_stack(stack: str) -> str:
    """A faulthandler stack without the frames every stack shares."""
    kept, hidden = [], 0
    for row in stack.splitlines():
        if PLUMBING.search(row):
            hidden += 1
        else:
            kept.append(row)
    if hidden:
        kept.append(f"  ({hidden} frames of statelab and of multiprocessing's start-up not shown)")
    return "\n".join(kept)


def line(event: Event, colour: Colours) -> Text:
    style = colour(event.role)
    head = Text(f"{event.t:7.3f} ", style="dim")
    head.append(f"{event.role:<16.16}", style=style)
    head.append(f"{event.pid:>7} ", style="dim")
    text = event.text.rstrip("\n")
    if isinstance(event, Output):
        where = event.stream + (f" {event.thread}" if event.thread else "")
        head.append(f"{where}\n", style="bold yellow")
        head.append(Text("\n".join("    │ " + row for row in text.splitlines()), style="yellow"))
        return head
    head.append(f"{event.kind:<13} ", style="dim")
    head.append(text, style=KIND_STYLES.get(type(event), style))
    if isinstance(event, Error) and event.stack:
        stack = trim_stack(event.stack)
        head.append("\n" + "\n".join("    │ " + r for r in stack.splitlines()), style="red")
    return head


def interpreter_line(info: dict[str, object]) -> Text:
    """Which Python ran the run, as its run-start reported it (--python may name another)."""
    impl = {"cpython": "CPython"}.get(str(info.get("implementation")), info.get("implementation"))
    text = f"        on {impl or 'Python'} {info.get('python', '?')}"
    if info.get("executable"):
        text += f", {info['executable']}"
    if info.get("default_start_method"):
        text += f" (its default start method: {info['default_start_method']})"
    return Text(text, style="dim")


def findings_table(state: RunState) -> Table:
    table = Table(title="Findings", show_lines=True, expand=True, title_justify="left")
    table.add_column("", width=1)
    table.add_column("claim", ratio=2)
    table.add_column("in this run", ratio=1)
    table.add_column("lesson" if state.source == LESSON else "common belief", ratio=1)
    table.add_column("evidence", ratio=3)
    for f, v in state.verdicts():
        table.add_row(Text(v.mark, style=TONES[v.tone]), escape(f.claim),
                      Text(v.happened, style=TONES[v.tone]), Text(v.said), escape(f.evidence))
    return table


def render(events: list[Event], console: Console) -> None:
    """Print a whole run (used when events were collected first)."""
    colour = Colours()
    for event in events:
        if not isinstance(event, FindingEvent):
            console.print(line(event, colour))
        if isinstance(event, RunStart):
            console.print(interpreter_line(event.interpreter))
    print_findings(RunState(events), console)


def print_findings(state: RunState, console: Console) -> None:
    if state.findings:
        console.print()
        console.print(findings_table(state))
        marks = [v.mark for _, v in state.verdicts()]
        console.print(f"{marks.count('✓')} agree with {state.source}, {marks.count('✗')} do not.",
                      style="bold")


class Timeline:
    """`statelab run`'s view of one run: each line of the runner is decoded, folded into the
    run's RunState and printed as it comes; the findings are printed at the end."""

    def __init__(self, console: Console, runner_pid: int) -> None:
        self.console = console
        self.colour = Colours()
        self.reader = LineReader(runner_pid)
        self.state = RunState()

    def feed(self, raw: str | bytes) -> None:
        event = self.reader.read(raw)
        if event is None:
            return
        self.state.apply(event)
        if not isinstance(event, FindingEvent):
            self.console.print(line(event, self.colour))
        if isinstance(event, RunStart):
            self.console.print(interpreter_line(event.interpreter))
        if isinstance(event, Checkpoint) and event.hold:
            self.console.print("        ⏸  paused — press Enter to step", style="bold yellow")

    def finish(self) -> None:
        print_findings(self.state, self.console)
