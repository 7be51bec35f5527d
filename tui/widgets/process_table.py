"""The live process table: one row per process of the run, kept after it ends.

Rows come from the run's typed events and its `RunState` (roles, which
process is held at a checkpoint) and from the sampler's passes (helpers found
as descendants of the runner). A pass only updates the cells whose text
changed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from scenarios.engine.protocol import Event, Observe, ProcessExit, ProcessStart, RunEnd, RunStart
from scenarios.engine.state import RunState
from tui.messages import ProcSample
from tui.widgets.colours import Colours

# (key, heading, width): cells carry their own one-space gap (the table has no cell padding)
COLUMNS = (("role", "role", 12), ("pid", "pid", 7), ("ppid", "ppid", 7), ("state", " state", 9),
           ("rss", "RSS", 5), ("uss", "USS", 5), ("pss", "PSS", 5), ("cpu", "CPU%", 5),
           ("threads", "thr", 4), ("spark", " USS trend", 11))
NUMERIC = ("rss", "uss", "pss", "cpu", "threads", "pid", "ppid")
SHORT_ROLES = {"resource-tracker": "res.tracker"}
BARS = "▁▂▃▄▅▆▇█"
SPARK_LEN = 10


def size(n: int | None) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "K", "M", "G"):
        if value < 1000 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "B" or value >= 9.95 else f"{value:.1f}{unit}"
        value /= 1024
    return str(n)


def sparkline(values: list[int]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    if high - low <= 0.02 * high:  # steady: page-level noise is not a trend
        return BARS[1] * len(values)
    return "".join(BARS[min(7, int((v - low) * 8 / (high - low)))] for v in values)


@dataclass
class Row:
    pid: int
    role: str
    helper: bool = False
    ppid: int | None = None
    ended: str | None = None  # "exit 0", "SIGKILL": the process is gone
    failed: bool = False
    history: deque[int] = field(default_factory=lambda: deque(maxlen=SPARK_LEN))
    cells: dict[str, str] = field(default_factory=dict)  # the text shown, per column


class ProcessTable(DataTable[Any]):
    """role, pid, ppid, state, RSS, USS, PSS, CPU %, threads, a USS sparkline."""

    def __init__(self, colours: Colours, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, cell_padding=0, **kwargs)
        self.colours = colours
        self.rows_by_pid: dict[int, Row] = {}
        self.held: dict[int, str] = {}  # pid -> checkpoint: the run state's, as last shown

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            heading = Text(label, justify="right") if key in NUMERIC else Text(label)
            self.add_column(heading, key=key, width=width)

    def reset(self) -> None:
        self.clear()
        self.rows_by_pid.clear()
        self.held = {}

    # -- events ----------------------------------------------------------------------------

    def apply_events(self, events: list[Event], state: RunState) -> None:
        """Show what these events (already folded into state) changed."""
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
                row = self._ensure(pid, proc.role, helper=proc.helper)  # the role may be news
                if isinstance(event, Observe) and isinstance(event.data.get("uss"), int):
                    # measured by the process itself, at the very moment it matters
                    self._reported_memory(row, event.data)
        self.show_held(state.held)

    def show_held(self, held: Mapping[int, str]) -> None:
        """Mark the processes held at a checkpoint (the run state's `held`), and only those."""
        changed = set(self.held) ^ set(held)
        self.held = dict(held)
        for pid in changed:
            row = self.rows_by_pid.get(pid)
            if row is not None:
                self._draw(row)

    def _reported_memory(self, row: Row, data: dict[str, Any]) -> None:
        """A process's own reading of its memory (copy-on-write reports USS and PSS before and
        after touching the object): shown and added to the trend like a sample, so even a
        run too quick for the sampler shows its memory."""
        row.history.append(int(data["uss"]))
        texts = {"uss": size(data["uss"]), "spark": sparkline(list(row.history))}
        for key in ("rss", "pss"):
            if isinstance(data.get(key), int):
                texts[key] = size(data[key])
        for key, text in texts.items():
            if row.cells.get(key) != text:
                row.cells[key] = text
                self.update_cell(str(row.pid), key, self._cell(row, key, text))

    # -- samples ---------------------------------------------------------------------------

    def apply_samples(self, samples: dict[int, ProcSample], gone: frozenset[int]) -> None:
        for pid, sample in samples.items():
            row = self.rows_by_pid.get(pid)
            if row is None:
                row = self._ensure(pid, sample.guess or "process", helper=True)
            if sample.ppid is not None:
                row.ppid = sample.ppid
            if sample.uss is not None:
                row.history.append(sample.uss)
            self._draw(row, sample)
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
            texts["state"] = sample.state
        if sample is not None and row.ended is None:
            texts.update(rss=size(sample.rss), uss=size(sample.uss), pss=size(sample.pss),
                         cpu="" if sample.cpu is None else f"{sample.cpu:.0f}",
                         threads="" if sample.threads is None else str(sample.threads),
                         spark=sparkline(list(row.history)))
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
        for key, text in self._texts(row, sample).items():
            if row.cells.get(key) == text:
                continue
            row.cells[key] = text
            self.update_cell(str(row.pid), key, self._cell(row, key, text))
