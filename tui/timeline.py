"""A run's events as a readable Rich timeline, for `statelab run`.

Everything here reads typed events and the run's `RunState`; each finding
reads as `state.verdict()` says: what happened in a neutral style (HAPPENED),
its mark styled by its tone (TONES), the same words as the app and the export.
"""

from __future__ import annotations

import heapq
import os
import re
import threading
from typing import IO

from rich.console import Console, Group
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
from scenarios.engine.state import LESSON, RunState, legend
from tui.lines import LineReader

PALETTE = ("cyan", "green", "magenta", "yellow", "bright_blue", "bright_red", "bright_green",
           "bright_magenta")
FIXED = {"runner": "dim", "parent": "bold blue", "resource-tracker": "yellow3",
         "forkserver": "yellow3", "manager": "yellow3"}
# a verdict's tone as its mark's style, and what happened, neutral: as in the app (colours.py)
TONES = {"agrees": "blue", "differs": "bold red", "unchecked": "bold magenta", "unsaid": "dim",
         "n/a": "dim"}
HAPPENED = "bold"
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




def line(event: Event, colour: Colours) -> Table | Group:
    """One event: its time, process and kind, then its text, which wraps under itself; a stack
    or what a process printed follows as a block of its own."""
    style = colour(event.role)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=7, justify="right", style="dim")
    grid.add_column(width=16, no_wrap=True, overflow="ellipsis", style=style)
    grid.add_column(width=7, justify="right", style="dim")
    grid.add_column(width=13, no_wrap=True, style="dim")
    grid.add_column(overflow="fold")
    text = event.text.rstrip("\n")
    block: Text | None = None
    if isinstance(event, Output):
        where = event.stream + (f" {event.thread}" if event.thread else "")
        grid.add_row(f"{event.t:.3f}", event.role, str(event.pid), event.kind,
                     Text(where, style="bold yellow"))
        block = Text("\n".join("    │ " + row for row in text.splitlines()), style="yellow")
    else:
        grid.add_row(f"{event.t:.3f}", event.role, str(event.pid), event.kind,
                     Text(text, style=KIND_STYLES.get(type(event), style)))
        if isinstance(event, Error) and event.stack:
            stack = trim_stack(event.stack)
            block = Text("\n".join("    │ " + r for r in stack.splitlines()), style="red")
    return grid if block is None else Group(grid, block)


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
                      Text(v.happened, style=HAPPENED),
                      Text(v.said, style=TONES[v.tone] if v.tone == "differs" else ""),
                      escape(f.evidence))
    return table


def print_findings(state: RunState, console: Console) -> None:
    if state.findings:
        console.print()
        console.print(findings_table(state))
        marks = [v.mark for _, v in state.verdicts()]
        console.print(f"{marks.count('✓')} agree with {state.source}, {marks.count('✗')} do not.",
                      style="bold")
        console.print(Text("   ".join(f"{mark} {words}" for mark, words, _ in
                                      legend(state.source) if mark in marks), style="dim"))


class Timeline:
    """`statelab run`'s view of one run: each line of the runner is decoded and folded into the
    run's RunState as it comes, and printed in time order: the runner merges its processes'
    sockets as they become readable, so a child's line at 0.115 can come before the parent's at
    0.113. An event is held until one HOLD later in run time has come, or the stream has been
    quiet for HOLD (`tick()`); the findings are printed at the end."""

    HOLD = 0.02  # seconds

    def __init__(self, console: Console, runner_pid: int) -> None:
        self.console = console
        self.colour = Colours()
        self.reader = LineReader(runner_pid)
        self.state = RunState()
        self.held: list[tuple[float, int, Event]] = []
        self.count = 0
        self.listed: tuple[str, ...] = ()  # the held processes' roles, as last numbered on screen

    def feed(self, raw: str | bytes) -> None:
        event = self.reader.read(raw)
        if event is None:
            return
        self.state.apply(event)
        if isinstance(event, FindingEvent):
            return
        self.count += 1
        heapq.heappush(self.held, (event.t, self.count, event))
        self.release(event.t - self.HOLD)

    def tick(self) -> None:
        """The stream has been quiet: print everything held."""
        self.release(float("inf"))

    def release(self, until: float) -> None:
        while self.held and self.held[0][0] <= until:
            self.show(heapq.heappop(self.held)[2])

    def show(self, event: Event) -> None:
        self.console.print(line(event, self.colour))
        if isinstance(event, RunStart):
            self.console.print(interpreter_line(event.interpreter))
        if isinstance(event, Checkpoint) and event.hold:
            pace = paced(event)
            if pace is not None and not self.state.config.get("step"):
                self.console.print(f"        ⏸  paced: {event.role} is held {pace:g} s at "
                                   f"{event.name}, then goes on by itself", style="yellow")
            else:
                self.show_paused(pace)

    def show_paused(self, pace: float | None = None) -> None:
        """List the processes held now, numbered: a number typed then lets that one go on
        (`command()`); say which others are still on their way, and what each said last (one
        blocked on a lock says so before it asks). With a pace too, each goes on after it."""
        state = self.state
        held = sorted(((state.processes[pid].role, name) for pid, name in state.held.items()),
                      key=lambda held: in_order(held[0]))
        if not held:
            return  # let go already: the run went on
        self.listed = tuple(role for role, _ in held)
        rows = ", ".join(f"{n} {role} at {name}" for n, (role, name) in enumerate(held, 1))
        self.console.print(f"        ⏸  paused — held: {rows}; type a number and Enter to let "
                           "that one go on, Enter alone lets all go on"
                           + (f" (or each goes on {pace:g} s after its checkpoint)"
                              if pace is not None else ""), style="bold yellow")
        for proc in state.processes.values():
            if proc.held or proc.ended or proc.helper or proc.role in ("runner", "?"):
                continue
            last = next((e.text for e in reversed(state.events) if e.pid == proc.pid
                         and e.kind in ("observe", "checkpoint", "process-start")), "")
            last = last if len(last) <= 90 else last[:87] + "..."
            self.console.print(f"           {proc.role} is not at a checkpoint"
                               + (f"; it said last: {last}" if last else ""), style="yellow")

    def command(self, typed: str) -> str | None:
        """What a line typed in step mode asks of the runner: a number lets the process listed
        with it go on (`step ROLE`); anything else goes as typed (Enter alone: every held
        process; `step ROLE`, `stop`). None: nothing to send (a number not listed)."""
        typed = typed.strip()
        if not typed.isdigit():
            return typed
        listed = self.listed
        if 1 <= int(typed) <= len(listed):
            return f"step {listed[int(typed) - 1]}"
        shown = ", ".join(f"{n} {role}" for n, role in enumerate(listed, 1)) or "none yet"
        self.console.print(f"        no process is listed as {typed[:20]}; listed: {shown}",
                           style="bold yellow")
        return None

    def finish(self) -> None:
        self.tick()
        print_findings(self.state, self.console)


def paced(event: Checkpoint) -> float | None:
    """How long the runner holds this checkpoint for the pace (None: it does not)."""
    pace = event.data.get("pace")
    return float(pace) if isinstance(pace, int | float) and not isinstance(pace, bool) else None


def in_order(role: str) -> tuple[str, int]:
    """child, child-2, ..., child-10: the order the lab names the children it starts."""
    name, _, n = role.rpartition("-")
    return (name, int(n)) if name and n.isdigit() and len(n) < 6 else (role, 1)


def relay(to_runner: IO[str], timeline: Timeline | None) -> threading.Thread:
    """Step mode: pass each line typed in the terminal on to the runner's stdin, in a thread (the
    main thread reads the runner), a number made `step ROLE` by the timeline (as typed, with no
    timeline: --json). The end of the typing closes the runner's stdin: it stops the run."""
    def run() -> None:
        # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader holds its
        # lock, and the interpreter's shutdown would then fail to close it
        pending = b""
        try:
            while chunk := os.read(0, 4096):
                *typed, pending = (pending + chunk).split(b"\n")
                pending = pending[-4096:]  # no command is longer: the rest can wait unread
                for raw in typed:
                    text = raw.decode(errors="replace")
                    command = timeline.command(text) if timeline is not None else text.strip()
                    if command is not None:
                        to_runner.write(command + "\n")
                        to_runner.flush()
        except (OSError, ValueError):  # the runner is gone: nothing left to step
            pass
        finally:
            try:
                to_runner.close()
            except (OSError, ValueError):
                pass

    thread = threading.Thread(target=run, name="statelab-steps", daemon=True)
    thread.start()
    return thread
