"""The history screen, on `h`: this session's runs and the saved ones, newest first.

Choosing a run (enter) closes the screen with it, and the app shows it in the
lab screen as it ended (`p`: at its recorded pace). `m` marks a run; choosing
another then compares the two; `c` compares the highlighted run with the one
before it. The saved transcripts are listed from their first lines, read in a
thread worker; a saved run is read whole (tui/replay.py) only when chosen.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tui import history
from tui.history import RunRecord, Session, Summary
from tui.replay import TranscriptError, read

if TYPE_CHECKING:
    from tui.screens.lab import LabScreen

COLUMNS = (("mark", " "), ("time", "time"), ("scenario", "scenario"), ("method", "start"),
           ("python", "python"), ("status", "status"), ("marks", "findings"), ("where", ""))


async def show_past(lab: LabScreen, record: RunRecord | None, paced: bool = False) -> None:
    """Show a recorded run in the lab screen, unless a run is going (it is left alone)."""
    await lab.complete.wait()
    if record is None:
        return
    if getattr(lab.app, "running", False):  # the App's (never imported here)
        lab.notify("A run is in progress: x stops it; then the history can show past runs.",
                   severity="warning")
        return
    lab.show_recorded(record.config(), record.label, record.timeline(), paced=paced)
    if record.notes:  # lines of the file that were skipped
        lab.notify("\n".join(record.notes[:5]), title="lines skipped", severity="warning")


def when(started: float) -> str:
    local = time.localtime(started)
    if local[:3] == time.localtime()[:3]:
        return time.strftime("%H:%M:%S", local)
    return time.strftime("%m-%d %H:%M", local)


NO_RUN = "No run yet: close this (escape) and press r to run one."


class HistoryScreen(Screen[None]):
    """The runs, one row each."""

    CSS_PATH = "history.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,h", "close", "back"),
        Binding("enter", "show", "show it"),
        Binding("p", "show(True)", "replay at its pace"),
        Binding("m", "mark", "mark for compare"),
        Binding("c", "compare_previous", "compare with the previous run"),
    ]

    def __init__(self, session: Session, lab: LabScreen, folder: Path | None = None) -> None:
        super().__init__()
        self.session = session
        self.lab = lab
        self.folder = folder
        self.entries: list[tuple[Summary, RunRecord | None]] = session.summaries()
        self.marked: Summary | None = None  # the run marked for compare

    def compose(self) -> ComposeResult:
        yield Static(self.title_text(), id="history-title")
        table: DataTable[Text | str] = DataTable(id="history-table", cursor_type="row")
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static("", id="history-status")
        yield Footer()

    def title_text(self) -> str:
        return (" Runs, newest first: enter shows one as it ended, p replays it, m marks it, "
                "then enter on another compares them; c compares with the run before it")

    def on_mount(self) -> None:
        self.draw()
        self.table.focus()
        self.load_saved()

    @property
    def table(self) -> DataTable[Text | str]:
        return self.query_one("#history-table", DataTable)

    def say(self, text: str) -> None:
        self.query_one("#history-status", Static).update(text)

    @work(thread=True, group="history-list", exit_on_error=False)
    def load_saved(self) -> None:
        found = history.saved(self.folder)  # reads a line of each file: off the event loop
        self.app.call_from_thread(self.add_saved, found)

    def add_saved(self, found: list[Summary]) -> None:
        known = {s.path for s, _ in self.entries if s.path is not None}
        extra: list[tuple[Summary, RunRecord | None]] = [
            (s, None) for s in found if s.path not in known]
        if not extra:
            return
        cursor = self.table.cursor_row
        self.entries = sorted(self.entries + extra, key=lambda e: e[0].started, reverse=True)
        self.draw()
        self.table.move_cursor(row=min(cursor, len(self.entries) - 1))

    def draw(self) -> None:
        table = self.table
        table.clear()
        for i, (s, record) in enumerate(self.entries):
            where = "this session" if record is not None else "saved"
            status = Text(s.status, style="green" if s.status == "ok" else (
                "yellow" if s.status == "running" else "red"))
            table.add_row("●" if s is self.marked else " ", when(s.started), s.scenario,
                          s.start_method, s.python, status, s.marks or "-",
                          Text(where, style="dim"), key=str(i))
        if not self.entries:
            self.say(NO_RUN)
        elif str(self.query_one("#history-status", Static).render()) == NO_RUN:
            self.say("")  # the saved runs came after all

    # -- choosing --------------------------------------------------------------------------

    def marked_index(self) -> int | None:
        return next((i for i, (s, _) in enumerate(self.entries) if s is self.marked), None)

    def highlighted(self) -> int | None:
        return self.table.cursor_row if self.entries else None

    async def record_of(self, index: int) -> RunRecord | None:
        summary, record = self.entries[index]
        if record is not None:
            return record
        assert summary.path is not None
        self.say(f"reading {summary.path.name}…")
        try:
            record = await asyncio.to_thread(read, summary.path)
        except TranscriptError as e:
            self.say(str(e))
            return None
        self.entries[index] = (summary, record)
        self.say("")
        return record

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_show()

    @work(group="history-choose", exclusive=True, exit_on_error=False)
    async def action_show(self, paced: bool = False) -> None:
        index = self.highlighted()
        if index is None:
            return
        marked = self.marked_index()
        if marked is not None and marked != index:
            await self.compare(marked, index)
            return
        record = await self.record_of(index)
        if record is not None:
            self.dismiss(None)
            self.lab.run_worker(show_past(self.lab, record, paced), group="show-past")

    def action_mark(self) -> None:
        index = self.highlighted()
        if index is None:
            return
        summary = self.entries[index][0]
        self.marked = None if self.marked is summary else summary
        self.draw()
        self.table.move_cursor(row=index)
        if self.marked is not None:
            self.say(f"marked {summary.label}: enter on another run compares them")
        else:
            self.say("")

    @work(group="history-choose", exclusive=True, exit_on_error=False)
    async def action_compare_previous(self) -> None:
        index = self.highlighted()
        if index is None or index + 1 >= len(self.entries):
            self.say("There is no run before this one to compare it with.")
            return
        await self.compare(index + 1, index)

    async def compare(self, older: int, newer: int) -> None:
        from tui.screens.compare import CompareScreen

        first, second = await self.record_of(older), await self.record_of(newer)
        if first is not None and second is not None:
            await self.app.push_screen(CompareScreen(first, second))

    def action_close(self) -> None:
        self.dismiss(None)
