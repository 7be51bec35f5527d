"""The Findings tab: each claim, what happened in this run, and what the lesson says."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.messages import Event

PLACEHOLDER = "No findings yet: run the scenario (r), or step through it (s)."


def verdict(finding: Event) -> tuple[str, str]:
    holds = finding.get("holds")
    if holds is None:
        return "? could not be checked", "bold yellow"
    return ("✔ holds", "bold green") if holds else ("✘ does not hold", "bold red")


def agreement(finding: Event, source: str = "the lesson") -> tuple[str, str]:
    """Does what happened agree with the source of the claim (the lesson, or common belief)?"""
    holds, lesson = finding.get("holds"), finding.get("lesson")
    if lesson is None:
        return f"{source} says nothing about it", "dim"
    said = "holds" if lesson else "does not hold"
    if holds is None:
        return f"{source} says it {said}", "dim"
    if holds == lesson:
        return f"agrees with {source} (it says it {said})", "green"
    return f"DIFFERS from {source} (it says it {said})", "bold reverse yellow"


class FindingsView(VerticalScroll):
    """The findings of the last run, one block each."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.findings: list[Event] = []
        self.status: str | None = None
        self.source = "the lesson"  # where the claims come from: "common belief" beyond it

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(PLACEHOLDER, id="findings-body")

    def reset(self) -> None:
        self.findings = []
        self.status = None
        self.query_one("#findings-body", Static).update(PLACEHOLDER)

    def add(self, events: list[Event]) -> bool:
        """Take the finding and run-end events; True if anything changed."""
        changed = False
        for event in events:
            if event.get("kind") == "finding":
                self.findings.append(event)
                changed = True
            elif event.get("kind") == "run-end":
                self.status = str(event.get("status") or (event.get("data") or {}).get("status"))
                changed = True
        if changed:
            self.query_one("#findings-body", Static).update(self.render_findings())
        return changed

    def render_findings(self) -> RenderableType:
        parts: list[RenderableType] = []
        if self.status is not None:
            style = "bold green" if self.status == "ok" else "bold red"
            parts.append(Text.assemble("run ended: ", (self.status, style)))
        if not self.findings and self.status is not None:
            parts.append(Text("This run reported no findings.", style="dim"))
        for finding in self.findings:
            word, style = verdict(finding)
            agree, agree_style = agreement(finding, self.source)
            parts.append(Text(""))
            claim = str(finding.get("claim", ""))
            parts.append(Text.assemble((word, style), "  ", (claim, "bold")))
            details = Text.assemble((agree, agree_style), "\n", ("evidence: ", "bold"),
                                    str(finding.get("evidence", "")), "\n",
                                    (f"id: {finding.get('id', '')}", "dim"))
            parts.append(Padding(details, (0, 0, 0, 2)))
        return Group(*parts)

    def plain(self) -> str:
        lines: list[str] = []
        for finding in self.findings:
            lines.append(f"{verdict(finding)[0]}  {finding.get('claim', '')}")
            lines.append(f"  {agreement(finding, self.source)[0]}")
            lines.append(f"  evidence: {finding.get('evidence', '')}")
        if self.status is not None:
            lines.insert(0, f"run ended: {self.status}")
        return "\n".join(lines)
