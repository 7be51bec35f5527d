"""A run's events as a readable Rich timeline, for `statelab run`."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

PALETTE = ("cyan", "green", "magenta", "yellow", "bright_blue", "bright_red", "bright_green",
           "bright_magenta")
FIXED = {"runner": "dim", "parent": "bold blue", "resource-tracker": "yellow3",
         "forkserver": "yellow3", "manager": "yellow3"}


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


def verdict(event: dict[str, Any]) -> tuple[str, str]:
    """A mark and its style: does what happened agree with the lesson?"""
    holds, lesson = event.get("holds"), event.get("lesson")
    if holds is None:
        return "?", "yellow"
    if lesson is None:
        return "•", "cyan"
    return ("✓", "green") if holds == lesson else ("✗", "bold red")


def line(event: dict[str, Any], colour: Colours) -> Text:
    role, kind = str(event["role"]), str(event["kind"])
    style = colour(role)
    head = Text(f"{float(event['t']):7.3f} ", style="dim")
    head.append(f"{role:<16.16}", style=style)
    head.append(f"{event['pid']:>7} ", style="dim")
    text = str(event["text"]).rstrip("\n")
    if kind == "output":
        data = event.get("data") or {}
        where = data.get("stream", "output") + (f" {data['thread']}" if data.get("thread") else "")
        head.append(f"{where}\n", style="bold yellow")
        head.append(Text("\n".join("    │ " + row for row in text.splitlines()), style="yellow"))
        return head
    styles = {"error": "bold red", "checkpoint": "bold", "process-start": "dim",
              "process-exit": "dim", "run-start": "bold", "run-end": "bold"}
    head.append(f"{kind:<13} ", style="dim")
    head.append(text, style=styles.get(kind, style))
    if kind == "error" and (event.get("data") or {}).get("stack"):
        stack = trim_stack(event["data"]["stack"])
        head.append("\n" + "\n".join("    │ " + r for r in stack.splitlines()), style="red")
    return head


def findings_table(findings: list[dict[str, Any]], source: str = "the lesson") -> Table:
    table = Table(title="Findings", show_lines=True, expand=True, title_justify="left")
    table.add_column("", width=1)
    table.add_column("claim", ratio=2)
    table.add_column("in this run", ratio=1)
    table.add_column("lesson" if source == "the lesson" else "common belief", ratio=1)
    table.add_column("evidence", ratio=3)
    for f in findings:
        mark, style = verdict(f)
        holds = {True: "holds", False: "does not hold", None: "not checked"}[f.get("holds")]
        lesson = {True: "says it holds", False: "says it doesn't", None: "says nothing"}[
            f.get("lesson")]
        table.add_row(Text(mark, style=style), escape(str(f["claim"])), holds, lesson,
                      escape(str(f.get("evidence", ""))))
    return table


def render(events: list[dict[str, Any]], console: Console) -> None:
    """Print a whole run (used when events were collected first)."""
    colour = Colours()
    for event in events:
        if event["kind"] != "finding":
            console.print(line(event, colour))
    print_findings(events, console)


def print_findings(events: list[dict[str, Any]], console: Console, source: str = "the lesson") -> None:
    found = [e for e in events if e["kind"] == "finding"]
    if found:
        console.print()
        console.print(findings_table(found, source))
        agree = sum(1 for f in found if verdict(f)[0] == "✓")
        differ = sum(1 for f in found if verdict(f)[0] == "✗")
        console.print(f"{agree} agree with {source}, {differ} do not.", style="bold")
