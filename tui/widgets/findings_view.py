"""The Findings tab: each claim, what happened in this run, and what its source says.

Drawn from the run's `RunState`: each finding reads as `verdict()` says (the
same mark and words as `statelab run` and the export): what happened in a
neutral style, whatever it was; the mark, which says whether the lesson was
right, styled as colours.TONES says, loud only where the lesson is wrong.
`plain()` is the text of the very lines drawn.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from scenarios.engine.state import RunState
from tui.widgets.colours import HAPPENED, TONES

PLACEHOLDER = "No findings yet: run the scenario (r), or step through it (s)."


def blocks(state: RunState) -> list[tuple[Text | None, list[Text]]]:
    """The tab's blocks: a mark (or none) beside its lines, which wrap beside it."""
    found: list[tuple[Text | None, list[Text]]] = []
    if state.ended:
        style = "bold green" if state.status == "ok" else "bold red"
        head = [Text.assemble("run ended: ", (state.status, style))]
        if not state.findings:
            head.append(Text("This run reported no findings.", style="dim"))
        found.append((None, head))
    for finding, v in state.verdicts():
        tone = TONES[v.tone]
        found.append((Text(v.mark, style=tone), [
            Text(finding.claim, style="bold"),
            Text.assemble((v.happened, HAPPENED), " in this run; ",
                          (v.said, tone if v.tone == "differs" else "")),
            Text.assemble(("evidence: ", "bold"), finding.evidence),
            Text(f"id: {finding.id}", style="dim")]))
    return found


def draw(mark: Text | None, lines: list[Text]) -> RenderableType:
    if mark is None:
        return Group(*lines)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(mark, Group(*lines))
    return grid


class FindingsView(VerticalScroll):
    """The findings of the current run, one block each."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state: RunState | None = None
        self._shown: tuple[int, str | None] = (0, None)

    def compose(self) -> ComposeResult:
        yield Static(PLACEHOLDER, id="findings-body")

    def reset(self) -> None:
        self.state = None
        self._shown = (0, None)
        self.query_one("#findings-body", Static).update(PLACEHOLDER)

    def show(self, state: RunState) -> bool:
        """Draw the state's findings and end if they changed; True if they did."""
        shown = (len(state.findings), state.status if state.ended else None)
        if shown == self._shown and state is self.state:
            return False
        self.state = state
        self._shown = shown
        if shown == (0, None):
            self.query_one("#findings-body", Static).update(PLACEHOLDER)
            return False
        self.query_one("#findings-body", Static).update(self.render_findings())
        return True

    def render_findings(self) -> RenderableType:
        if self.state is None:
            return Text(PLACEHOLDER)
        parts: list[RenderableType] = []
        for mark, lines in blocks(self.state):
            if parts:
                parts.append(Text(""))
            parts.append(draw(mark, lines))
        return Group(*parts)

    def plain(self) -> str:
        """The tab's text, unwrapped: a mark, a space and the first line of its block, the
        other lines indented by two."""
        if self.state is None:
            return ""
        text: list[str] = []
        for mark, lines in blocks(self.state):
            if text:
                text.append("")
            first, *rest = lines
            text.append(f"{mark.plain} {first.plain}" if mark is not None else first.plain)
            text += [("  " if mark is not None else "") + line.plain for line in rest]
        return "\n".join(text)
