"""Two runs side by side: what differs between, say, a fork run and a spawn run.

`aligned()` (pure, tested without a screen) lines the two runs up: their
settings, status and interpreter; their findings by id (the claim, and for
each run what happened, in the verdict's words); their observations by
`what` (per role, the values each process observed). A line whose two sides
differ is marked `≠`; `d` shows only those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from scenarios.engine.state import RunState
from tui.history import RunRecord

NONE = "—"  # the run has no such finding or observation
SHOWN_VALUES = 3  # values of one process shown in a cell; more are counted


@dataclass(frozen=True)
class Line:
    section: str  # "run", "findings", "observations"
    title: str  # the setting, the finding's claim, the observation's `what`
    left: str
    right: str
    differs: bool


def _short(value: Any) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _settings(state: RunState) -> dict[str, str]:
    shown = {k: _short(v) for k, v in state.config.items() if k not in ("step",)}
    shown["status"] = state.status if state.ended else "not ended"
    shown["python"] = _short(state.interpreter.get("python", "?"))
    return shown


def _findings(state: RunState) -> dict[str, tuple[str, str, bool | None]]:
    """id -> (claim, what happened with its mark, holds)."""
    return {f.id: (f.claim, f"{v.mark} {v.happened}", f.holds) for f, v in state.verdicts()}


def _observations(state: RunState) -> dict[str, dict[str, list[str]]]:
    """what -> role -> the values observed, in the order they came."""
    seen: dict[str, dict[str, list[str]]] = {}
    for event in state.of_kind("observe"):
        what = str(event.data.get("what"))
        value = event.data.get("value", event.text)
        seen.setdefault(what, {}).setdefault(event.role, []).append(_short(value))
    return seen


def _values(by_role: dict[str, list[str]] | None) -> str:
    if not by_role:
        return NONE
    cells = []
    for role, values in by_role.items():
        shown = ", ".join(values[:SHOWN_VALUES])
        if len(values) > SHOWN_VALUES:
            shown += f", … ({len(values):,} values)"
        cells.append(f"{role}: {shown}")
    return "; ".join(cells)


def _union(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    return list(first) + [k for k in second if k not in first]


def aligned(a: RunState, b: RunState) -> list[Line]:
    """The two runs line by line: settings, findings by id, observations by `what`."""
    lines: list[Line] = []
    sa, sb = _settings(a), _settings(b)
    for key in _union(sa, sb):
        left, right = sa.get(key, NONE), sb.get(key, NONE)
        lines.append(Line("run", key.replace("_", " "), left, right, left != right))
    fa, fb = _findings(a), _findings(b)
    for fid in _union(fa, fb):
        claim = (fa.get(fid) or fb[fid])[0]
        left = fa[fid][1] if fid in fa else NONE
        right = fb[fid][1] if fid in fb else NONE
        differs = fid not in fa or fid not in fb or fa[fid][2] != fb[fid][2]
        lines.append(Line("findings", claim, left, right, differs))
    oa, ob = _observations(a), _observations(b)
    for what in _union(oa, ob):
        left, right = _values(oa.get(what)), _values(ob.get(what))
        lines.append(Line("observations", what, left, right, oa.get(what) != ob.get(what)))
    return lines


def compare_last(app: App[Any], runs: list[RunRecord]) -> None:
    """`c` in the lab: the session's last run beside the one before it."""
    if len(runs) < 2:
        app.notify("Compare needs two runs: run again, or mark two in the history (h).")
    elif not isinstance(app.screen, CompareScreen):
        app.push_screen(CompareScreen(runs[-2], runs[-1]))


class CompareScreen(Screen[None]):
    """Two runs, side by side."""

    CSS_PATH = "history.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,c", "close", "back"),
        Binding("d", "differences", "only the differences"),
    ]

    def __init__(self, first: RunRecord, second: RunRecord) -> None:
        super().__init__()
        self.first = first
        self.second = second
        self.lines = aligned(first.state, second.state)
        self.only_differences = False

    def compose(self) -> ComposeResult:
        differ = sum(1 for line in self.lines if line.differs)
        yield Static(f" Compare: {differ} of {len(self.lines)} lines differ (≠); d shows only "
                     "those", id="compare-title")
        with VerticalScroll(id="compare-body"):
            yield Static(self.render_table(), id="compare-table")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#compare-body").focus()

    def render_table(self) -> Table:
        table = Table(expand=True, show_edge=False, pad_edge=False, header_style="bold")
        table.add_column("", width=1, no_wrap=True)
        table.add_column("", ratio=3)
        table.add_column(Text(f"A: {self.first.label}"), ratio=2)
        table.add_column(Text(f"B: {self.second.label}"), ratio=2)
        section = ""
        for line in self.lines:
            if self.only_differences and not line.differs:
                continue
            if line.section != section:
                section = line.section
                table.add_row("", Text(section, style="bold underline"), "", "")
            mark = Text("≠", style="bold yellow") if line.differs else Text(" ")
            style = "bold" if line.differs else ""
            table.add_row(mark, Text(line.title), Text(line.left, style=style),
                          Text(line.right, style=style))
        return table

    def plain(self) -> str:
        """The comparison as text, for tests."""
        return "\n".join(f"{'≠' if x.differs else ' '} {x.section} | {x.title} | {x.left} | "
                         f"{x.right}" for x in self.lines
                         if x.differs or not self.only_differences)

    def action_differences(self) -> None:
        self.only_differences = not self.only_differences
        self.query_one("#compare-table", Static).update(self.render_table())

    def action_close(self) -> None:
        self.dismiss(None)
