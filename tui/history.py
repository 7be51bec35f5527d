"""Every run of the session, kept, and saved when it ends: the history.

A run the app starts is recorded from its first event: its `RunState` (the
lab screen's own, folded once), the psutil samples the process table received
(with their time), and, when it ends, the process table's rows as shown. The
session keeps the newest runs in memory; each is saved when it ends in the
user's data folder, `$XDG_DATA_HOME/statelab/runs/` (by default
`~/.local/share/statelab/runs/`), as `YYYYMMDD-HHMMSS-<scenario>-<start method>.jsonl`.
The folder keeps the newest `KEEP_FILES` transcripts; older ones are removed.

The file format (a transcript, version 1), one JSON object per line:

- the first line `{"statelab": {"transcript": 1, "argv": [...], "started": EPOCH,
  "scenario", "start_method", "python", "status", "marks", "left_out": {KIND: N},
  "samples_left_out": N}}`: what the history lists without reading the rest, and
  what the run counted without keeping it;
- the run's events, each line the wire form the engine writes (`Event.encode()`:
  `protocol.decode` reads it back as the same event);
- `{"sample": {"t": SECONDS, "procs": [{"pid", "ppid", "state", "rss", "uss", "pss",
  "cpu", "threads", "guess"}, ...], "gone": [PID, ...], "after": N}}`: one sampling
  pass, `t` on the events' clock, received after the first N events of the file;
- the last line `{"rows": [{COLUMN: TEXT, ...}, ...]}`: the process table as shown.

Lines that are not events have no `kind` and one key (`statelab`, `sample`,
`rows`): readers of events skip them (tui/replay.py). So `python -m scenarios`
output and the export's `.jsonl` files are transcripts too (events only).
What is saved is bounded: the events the run's `RunState` kept (the export's
bounds: the first 4 MiB of output, 2,000 observations of a kind per process),
`KEEP_SAMPLES` sampling passes of at most `KEEP_SAMPLED` processes each.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scenarios.engine.knobs import Config
from scenarios.engine.protocol import Event
from scenarios.engine.state import RunState
from tui.messages import ProcSample

if TYPE_CHECKING:
    from textual.app import App

VERSION = 1
KEEP_FILES = 200  # transcripts kept in the data folder; the oldest go first
KEEP_SESSION = 30  # runs kept in memory (older ones of the session are read back from disk)
KEEP_SAMPLES = 2000  # sampling passes saved per run (at 2 Hz: over 16 minutes)
KEEP_SAMPLED = 200  # processes saved per pass
MAX_HEADER = 1 << 16  # bytes of a first line read for the listing
NAME = re.compile(r"^\d{8}-\d{6}-[A-Za-z0-9_-]*\.jsonl$")  # the files this module writes
SAMPLE_FIELDS = ("pid", "ppid", "state", "rss", "uss", "pss", "cpu", "threads", "guess")
EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def runs_folder() -> Path:
    """$XDG_DATA_HOME/statelab/runs (a relative XDG_DATA_HOME is ignored, as the spec says)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "statelab" / "runs"


@dataclass
class Sampled:
    """One sampling pass as the table received it, at `t` seconds on the events' clock."""

    t: float
    samples: dict[int, ProcSample]
    gone: frozenset[int] = frozenset()
    after: int | None = None  # how many of the run's kept events the table had then


    def to_line(self) -> str:
        procs = [{k: getattr(s, k) for k in SAMPLE_FIELDS}
                 for s in list(self.samples.values())[:KEEP_SAMPLED]]
        return json.dumps({"sample": {"t": round(self.t, 6), "procs": procs, "after": self.after,
                                      "gone": sorted(self.gone)[:KEEP_SAMPLED]}},
                          ensure_ascii=False) + "\n"


@dataclass
class Summary:
    """What the history lists of a run: from a record, or from a saved file's first line."""

    started: float
    scenario: str
    start_method: str
    python: str
    status: str
    marks: str
    path: Path | None = None

    @property
    def label(self) -> str:
        return label(self.scenario, self.start_method, self.started)


def label(scenario: str, start_method: str, started: float) -> str:
    """`shared-value under spawn, 12:03:41` (a day other than today is named)."""
    when = time.localtime(started)
    today = time.localtime()
    clock = time.strftime("%H:%M:%S", when)
    if when[:3] != today[:3]:
        clock = time.strftime("%Y-%m-%d ", when) + clock
    return f"{scenario or '?'} under {start_method or '?'}, {clock}"


@dataclass
class RunRecord:
    """One run: as it is being recorded, or as read back from a transcript."""

    state: RunState
    argv: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)  # wall clock, for names and labels
    samples: list[Sampled] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    path: Path | None = None  # the file it was saved to, or read from
    notes: list[str] = field(default_factory=list)  # what reading it found wrong
    samples_left_out: int = 0
    done: bool = False  # its runner ended (or it was read from a file)
    _anchor: tuple[float, float] = (0.0, 0.0)  # (monotonic, event t) when events last came

    # -- recording -------------------------------------------------------------------------

    def heard(self, events: list[Event]) -> None:
        """A batch of events arrived: samples taken after it are timed from its last event."""
        if events:
            self._anchor = (time.monotonic(), events[-1].t)

    def sampled(self, samples: dict[int, ProcSample], gone: frozenset[int]) -> None:
        if len(self.samples) >= KEEP_SAMPLES:
            self.samples_left_out += 1
            return
        mono, t = self._anchor
        t = t + (time.monotonic() - mono) if mono else 0.0
        if self.samples:
            t = max(t, self.samples[-1].t)
        self.samples.append(Sampled(t, dict(samples), gone, len(self.state.events)))

    def finish(self, rows: list[dict[str, str]]) -> None:
        self.rows = rows
        self.done = True

    # -- what it is ------------------------------------------------------------------------

    def config(self) -> Config:
        """The configuration the run reported in its run-start (or the one it was given)."""
        cfg = dict(self.state.config)
        scenario = str(cfg.pop("scenario", "") or (self.argv[0] if self.argv else "run"))
        method = str(cfg.pop("start_method", ""))
        timeout = cfg.pop("timeout", 10.0)
        step = bool(cfg.pop("step", False))
        pace = cfg.pop("pace", None)  # Config.to_json names it only for a paced run
        return Config(scenario, method, float(timeout) if number(timeout) else 10.0, step, cfg,
                      pace=float(pace) if number(pace) else None)

    def summary(self) -> Summary:
        state = self.state
        status = state.status if state.ended else ("running" if not self.done else "not ended")
        return Summary(self.started, state.scenario or self.config().scenario,
                       state.start_method, str(state.interpreter.get("python", "?")), status,
                       "".join(v.mark for _, v in state.verdicts()), self.path)

    @property
    def label(self) -> str:
        return self.summary().label

    def timeline(self) -> list[Event | Sampled]:
        """Events and samples in the order the table received them: a sample after the events
        the table had when it came (`after`), or, not known, after the events of its time."""
        items: list[Event | Sampled] = list(self.state.events)
        if not self.samples:
            return items
        merged: list[Event | Sampled] = []
        samples = iter(self.samples)
        nxt = next(samples, None)
        for n, event in enumerate(items):
            while nxt is not None and (nxt.t < event.t if nxt.after is None else nxt.after <= n):
                merged.append(nxt)
                nxt = next(samples, None)
            merged.append(event)
        while nxt is not None:
            merged.append(nxt)
            nxt = next(samples, None)
        return merged

    # -- saving ----------------------------------------------------------------------------

    def lines(self) -> Iterable[str]:
        s = self.summary()
        yield json.dumps({"statelab": {
            "transcript": VERSION, "argv": self.argv, "started": self.started,
            "scenario": s.scenario, "start_method": s.start_method, "python": s.python,
            "status": s.status, "marks": s.marks, "left_out": self.state.left_out,
            "samples_left_out": self.samples_left_out}}, ensure_ascii=False) + "\n"
        for event in self.state.events:
            yield event.encode().decode()
        for sample in self.samples:
            yield sample.to_line()
        yield json.dumps({"rows": self.rows}, ensure_ascii=False) + "\n"

    def save(self, folder: Path | None = None) -> Path:
        """Write the transcript (a new file, never an existing one); prune the folder."""
        folder = folder or runs_folder()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        s = self.summary()
        stem = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.started))
        name = re.sub(r"[^A-Za-z0-9_-]+", "-", f"{s.scenario}-{s.start_method}")[:60]
        n = 1
        while True:
            path = folder / f"{stem}-{name}{'' if n == 1 else f'-{n}'}.jsonl"
            try:
                fd = os.open(path, EXCLUSIVE, 0o600)
                break
            except FileExistsError:
                n += 1
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(self.lines())
        self.path = path
        prune(folder)
        return path


def save_later(app: App[Any], record: RunRecord) -> None:
    """Save a finished run in one of the app's thread workers (it outlives any screen); a
    folder that cannot be written is said as a warning."""
    say = partial(app.call_from_thread, app.notify, severity="warning")
    app.run_worker(partial(save_or_say, record, say), thread=True, group="save",
                   exit_on_error=False)


def save_or_say(record: RunRecord, say: Callable[[str], object]) -> None:
    """Save the run (in a thread worker); a folder that cannot be written is said, once."""
    try:
        record.save()
    except OSError as e:
        say(f"This run was not saved in the history: {e.strerror or e}")


def prune(folder: Path, keep: int | None = None) -> list[Path]:
    """Remove all but the newest `keep` transcripts this module wrote (by name: the name
    starts with the time). Returns those removed."""
    try:
        names = sorted((n for n in os.listdir(folder) if NAME.match(n)), reverse=True)
    except OSError:
        return []
    removed = []
    for name in names[KEEP_FILES if keep is None else keep:]:
        try:
            (folder / name).unlink()
        except OSError:
            continue
        removed.append(folder / name)
    return removed


def number(value: object) -> bool:
    """A number in JSON (true and false are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value: Any, default: str = "?") -> str:
    return value[:80] if isinstance(value, str) and value else default


def _from_run_start(wire: dict[str, Any]) -> dict[str, Any] | None:
    """A transcript without the header (an export, `python -m scenarios` output) starts with
    its run-start: what it says stands in for the header."""
    data = wire.get("data")
    if wire.get("kind") != "run-start" or not isinstance(data, dict):
        return None
    config, info = data.get("config"), data.get("interpreter")
    config = config if isinstance(config, dict) else {}
    info = info if isinstance(info, dict) else {}
    return {"scenario": config.get("scenario"), "start_method": config.get("start_method"),
            "python": info.get("python")}


def read_summary(path: Path) -> Summary | None:
    """The listing of a saved transcript, from its first line alone (bounded); None if that
    line is not a statelab header."""
    try:
        with open(path, "rb") as f:
            first = f.readline(MAX_HEADER)
        wire = json.loads(first)
        head = wire.get("statelab") if "kind" not in wire else _from_run_start(wire)
    except (OSError, ValueError, AttributeError, TypeError, RecursionError):
        return None
    if not isinstance(head, dict):
        return None
    started = head.get("started")
    if isinstance(started, (int, float)) and not isinstance(started, bool) and started >= 0:
        when = float(started)
    else:
        try:
            when = path.stat().st_mtime
        except OSError:
            when = 0.0
    return Summary(when, _text(head.get("scenario")), _text(head.get("start_method")),
                   _text(head.get("python")), _text(head.get("status")),
                   _text(head.get("marks"), ""), path)


def saved(folder: Path | None = None) -> list[Summary]:
    """The transcripts in the data folder, newest first (a file that is not one is left out).
    Reads files: call it off the event loop."""
    folder = folder or runs_folder()
    try:
        names = sorted((n for n in os.listdir(folder) if NAME.match(n)), reverse=True)
    except OSError:
        return []
    found = (read_summary(folder / n) for n in names[:KEEP_FILES])
    return [s for s in found if s is not None]


class Session:
    """The runs of this session, oldest first; the newest `KEEP_SESSION` stay in memory."""

    def __init__(self) -> None:
        self.runs: list[RunRecord] = []
        self.dropped: list[Summary] = []  # older runs of the session, saved, no longer held

    def begin(self, config: Config, state: RunState) -> RunRecord:
        record = RunRecord(state, config.to_argv())
        self.runs.append(record)
        while len(self.runs) > KEEP_SESSION:
            old = self.runs.pop(0)
            if old.path is not None:
                self.dropped.append(old.summary())
        return record

    def summaries(self) -> list[tuple[Summary, RunRecord | None]]:
        """This session's runs, newest first (a record where it is still held)."""
        held = [(r.summary(), r) for r in reversed(self.runs)]
        return held + [(s, None) for s in reversed(self.dropped)]
