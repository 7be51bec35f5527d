"""The live process table: one row per process of the run, kept after it ends.

Rows come from the run's typed events and its `RunState` (roles, which
process is held at a checkpoint) and from the sampler's passes (helpers found
as descendants of the runner). A pass only updates the cells whose text
changed.

Memory comes from the run state's points for each process: the readings each
process takes of itself at its start, each checkpoint and its end (so a 30 ms
run shows them too), and the sampler's between. The cells show the latest,
whichever took it, and stay after the process ends; the trend plots them on a
scale from zero to the largest, which it shows ("▁▁█ 12M"), so noise is flat.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from scenarios.engine.protocol import Event, ProcessExit, ProcessStart, RunEnd, RunStart
from scenarios.engine.state import MemoryPoint, RunState
from tui.messages import ProcSample
from tui.widgets.colours import Colours

# (key, heading, width): cells carry their own one-space gap (the table has no cell padding)
COLUMNS = (("role", "role", 12), ("pid", "pid", 7), ("ppid", "ppid", 7), ("state", " state", 9),
           ("rss", "RSS", 5), ("uss", "USS", 5), ("pss", "PSS", 5), ("cpu", "CPU%", 5),
           ("threads", "thr", 4), ("spark", " USS trend", 14))
NUMERIC = ("rss", "uss", "pss", "cpu", "threads", "pid", "ppid")
SHORT_ROLES = {"resource-tracker": "res.tracker"}
# psutil's states that do not fit the column (" " + 8): the short word ps would suggest
SHORT_STATES = {"disk-sleep": "D-sleep", "tracing-stop": "traced", "wake-kill": "wakekill"}
BARS = "▁▂▃▄▅▆▇█"
SPARK_LEN = 7  # bars; then a space and the scale's top (at most 5 characters: "1023K")
KEEP_UNNAMED = 200  # memory points kept for a process the events never named (a helper)


def size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "K", "M", "G"):
        if value < 1000 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "B" or value >= 9.95 else f"{value:.1f}{unit}"
        value /= 1024
    return str(n)


def sparkline(values: Sequence[int], width: int = SPARK_LEN) -> str:
    """The values as bars on a scale from zero to the largest, followed by that largest:
    "▂▂█ 12M". More values than bars: each bar is the largest of its share, in order."""
    if not values:
        return ""
    if len(values) > width:
        n = len(values)
        values = [max(values[i * n // width:(i + 1) * n // width]) for i in range(width)]
    top = max(values)
    if top <= 0:
        return BARS[0] * len(values) + " 0B"
    return "".join(BARS[round(v * 7 / top)] for v in values) + " " + size(top)


def state_word(state: str) -> str:
    return SHORT_STATES.get(state, state if len(state) <= 8 else state[:7] + "…")


@dataclass
class Row:
    pid: int
    role: str
    helper: bool = False
    ppid: int | None = None
    ended: str | None = None  # "exit 0", "SIGKILL": the process is gone
    failed: bool = False
    history: list[int] = field(default_factory=list)  # the USS values the trend plots now
    points: list[MemoryPoint] = field(default_factory=list)  # only if the run state has none
    cells: dict[str, str] = field(default_factory=dict)  # the text shown, per column


class ProcessTable(DataTable[Any]):
    """role, pid, ppid, state, RSS, USS, PSS, CPU %, threads, a USS sparkline."""

    def __init__(self, colours: Colours, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, cell_padding=0, **kwargs)
        self.colours = colours
        self.rows_by_pid: dict[int, Row] = {}
        self.held: dict[int, str] = {}  # pid -> checkpoint: the run state's, as last shown
        self.state: RunState | None = None  # the run's, whose processes' memory points it shows
        self.spark_len = SPARK_LEN  # bars in the trend: more where the table has the room

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            heading = Text(label, justify="right") if key in NUMERIC else Text(label)
            self.add_column(heading, key=key, width=width)

    def on_resize(self) -> None:
        """The trend takes the room the other columns leave: 3 bars beside the settings at 100
        columns, up to 60 on a wide screen. Its scale (the largest value) always shows."""
        others = sum(width for key, _, width in COLUMNS if key != "spark")
        bars = max(3, min(60, self.size.width - others - 8))  # the scale always shows
        if bars == self.spark_len or "spark" not in self.columns:
            return
        self.spark_len = bars
        self.columns[ColumnKey("spark")].width = bars + 7  # " " + bars + " " + "1023K"
        for row in self.rows_by_pid.values():
            self._draw_memory(row)
        self._clear_caches()
        self._require_update_dimensions = True
        self.refresh()

    def reset(self) -> None:
        self.clear()
        self.rows_by_pid.clear()
        self.held = {}
        self.state = None

    # -- events ----------------------------------------------------------------------------

    def apply_events(self, events: list[Event], state: RunState) -> None:
        """Show what these events (already folded into state) changed."""
        self.state = state
        for event in events:
            pid = event.pid
            proc = state.processes.get(pid)
            if isinstance(event, RunStart) and state.runner_pid is not None:
                self._ensure(state.runner_pid, "runner")
            elif isinstance(event, RunEnd):
                runner_row = self.rows_by_pid.get(pid)
                if runner_row is not None and runner_row.role == "runner":
                    runner_row.ended = event.status
                    self._draw(runner_row)
            elif proc is None:
                continue
            elif isinstance(event, ProcessStart):
                row = self._ensure(pid, proc.role, helper=proc.helper)
                row.ppid = proc.ppid if proc.ppid is not None else row.ppid
                self._draw(row)
            elif isinstance(event, ProcessExit):
                row = self._ensure(pid, proc.role, helper=proc.helper)
                row.ended, row.failed = event.how, event.failed
                self._draw(row)
            elif pid in self.rows_by_pid:
                self._ensure(pid, proc.role, helper=proc.helper)  # the role may be news
            shown = self.rows_by_pid.get(pid)
            if shown is not None and not isinstance(event, ProcessExit) \
                    and event.memory is not None:  # its own reading, folded into its points
                self._draw_memory(shown)
        self.show_held(state.held)

    def show_held(self, held: Mapping[int, str]) -> None:
        """Mark the processes held at a checkpoint (the run state's `held`), and only those."""
        changed = set(self.held) ^ set(held)
        self.held = dict(held)
        for pid in changed:
            row = self.rows_by_pid.get(pid)
            if row is not None:
                self._draw(row)

    # -- memory ----------------------------------------------------------------------------

    def points(self, row: Row) -> list[MemoryPoint]:
        """The memory points of a row's process: the run state's, else the row's own."""
        proc = self.state.processes.get(row.pid) if self.state is not None else None
        return proc.memory if proc is not None and proc.memory else row.points

    def _draw_memory(self, row: Row) -> None:
        points = self.points(row)
        if not points:
            return
        last = points[-1]
        row.history = [p.uss for p in points if p.uss is not None]
        self._set(row, {"rss": size(last.rss), "uss": size(last.uss), "pss": size(last.pss),
                        "spark": sparkline(row.history, self.spark_len)})

    # -- samples ---------------------------------------------------------------------------

    def apply_samples(self, samples: dict[int, ProcSample], gone: frozenset[int],
                      state: RunState | None = None) -> None:
        """One pass of the sampler: its memory readings go into the run state's points (or the
        row's, for a process no event named), the rest straight to the cells."""
        at = time.monotonic()  # a clock every process shares: placed on the run's time line
        if state is not None:
            self.state = state
        for pid, sample in samples.items():
            row = self.rows_by_pid.get(pid)
            if row is None:
                row = self._ensure(pid, sample.guess or "process", helper=True)
            if sample.ppid is not None:
                row.ppid = sample.ppid
            if sample.rss is not None or sample.uss is not None:
                known = self.state is not None and pid in self.state.processes
                if known and self.state is not None:
                    self.state.sampled(pid, at, sample.rss, sample.pss, sample.uss)
                else:
                    t = row.points[-1].t if row.points else 0.0
                    row.points.append(MemoryPoint(t, sample.rss, sample.pss, sample.uss, "sampler"))
                    del row.points[:-KEEP_UNNAMED]
            self._draw(row, sample)
            self._draw_memory(row)
        for pid in gone:
            row = self.rows_by_pid.get(pid)
            if row is not None and row.ended is None:
                row.ended = "gone"
                self._draw(row)

    # -- drawing ---------------------------------------------------------------------------

    def _ensure(self, pid: int, role: str, helper: bool = False) -> Row:
        row = self.rows_by_pid.get(pid)
        if row is None:
            row = Row(pid, role, helper)
            self.rows_by_pid[pid] = row
            self.add_row(*(self._cell(row, k, "") for k, _, _ in COLUMNS), key=str(pid))
            self._draw(row)
            # in the order the processes were made (children start at once, report in any order)
            self.sort("pid", key=lambda cell: int(str(cell) or 0))
        elif role not in ("?", "process") and row.role != role:
            row.role = role
            row.helper = helper  # the run state says, once an event names the process
            self._draw(row)
        return row

    def _texts(self, row: Row, sample: ProcSample | None) -> dict[str, str]:
        texts = {"role": SHORT_ROLES.get(row.role, row.role), "pid": str(row.pid),
                 "ppid": "" if row.ppid is None else str(row.ppid)}
        if row.ended is not None:
            texts["state"] = row.ended
        elif row.pid in self.held:
            texts["state"] = "held"
        elif sample is not None:
            texts["state"] = state_word(sample.state)
        if sample is not None and row.ended is None:
            texts.update(cpu="" if sample.cpu is None else f"{sample.cpu:.0f}",
                         threads="" if sample.threads is None else str(sample.threads))
        return texts

    def _cell(self, row: Row, key: str, text: str) -> Text:
        if key == "role":
            return Text(text, style=self.colours.of(row.pid, row.role, row.helper) + " bold",
                        no_wrap=True, overflow="ellipsis")
        if key == "state":
            if row.ended is not None:
                return Text.assemble(" ", (text, "bold red" if row.failed else "dim"))
            if row.pid in self.held:
                return Text.assemble(" ", ("held", "bold reverse"))
            return Text(" " + text)
        if key in NUMERIC:
            return Text(text, justify="right")
        if key == "spark":
            return Text(" " + text, style=self.colours.of(row.pid, row.role, row.helper))
        return Text(text)

    def _draw(self, row: Row, sample: ProcSample | None = None) -> None:
        self._set(row, self._texts(row, sample))

    def _set(self, row: Row, texts: dict[str, str]) -> None:
        for key, text in texts.items():
            if row.cells.get(key) == text:
                continue
            row.cells[key] = text
            self.update_cell(str(row.pid), key, self._cell(row, key, text))
