"""Reading a transcript file back into a run, and playing it to the lab screen.

Any transcript: one the history saved, an export's `.jsonl`, `python -m scenarios`
output. Every byte of the file is untrusted: it is read line by line with a
bound on a line (`MAX_LINE`), on the file (`MAX_BYTES`, `MAX_LINES`), and on
what is kept (the `RunState`'s own bounds, the history's sample bounds). A
malformed line becomes a note ("line 12: not JSON") and is skipped, never
fatal; a file that is missing, unreadable, empty, or has no event among its
first `SNIFF` lines is refused with one line (`TranscriptError`). The format is
described in tui/history.py.

Playing posts the same `RunEvents` and `Samples` messages the run client and
the sampler post, at the events' `t` offsets (`play`, an asyncio worker), or
all of them in order at once (`batches`). Nothing is started: a replay only
draws what was recorded.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from scenarios.engine.protocol import LINE_LIMIT, Event, ProtocolError, from_wire
from scenarios.engine.state import RunState
from tui.history import KEEP_SAMPLED, KEEP_SAMPLES, RunRecord, Sampled
from tui.messages import ProcSample, RunEvents, Samples

MAX_LINE = 1 << 16  # bytes: a sample of KEEP_SAMPLED processes fits; an event is under 4 KiB
MAX_BYTES = 128 << 20  # bytes read of one file at most
MAX_LINES = 400_000  # lines read at most (a run keeps about 100,000 events)
SNIFF = 200  # non-blank lines with no event among them: not a transcript
KEEP_NOTES = 20  # notes kept about bad lines; the rest are counted
KEEP_ROWS = 500
MAX_GAP = 5.0  # seconds: a longer pause in a transcript (a stepped run) is shortened to this
FRAME = 0.02  # seconds: events this close together are posted as one batch


class TranscriptError(Exception):
    """The file cannot be shown: the message is one line saying why."""


def shown(path: Path | str) -> str:
    text = str(path)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _lines(f: IO[bytes], notes: Callable[[int, str], None]) -> Iterator[tuple[int, bytes]]:
    """Numbered lines; a line over MAX_LINE is skipped (read through, not kept)."""
    total = 0
    for number in range(1, MAX_LINES + 1):
        raw = f.readline(MAX_LINE + 1)
        if not raw:
            return
        total += len(raw)
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while True:  # the rest of this line, a piece at a time
                piece = f.readline(MAX_LINE)
                total += len(piece)
                if not piece or piece.endswith(b"\n") or total > MAX_BYTES:
                    break
            notes(number, f"longer than {MAX_LINE >> 10} KiB: skipped")
        else:
            yield number, raw
        if total > MAX_BYTES:
            notes(number, f"the file goes on past {MAX_BYTES >> 20} MiB: not read further")
            return
    if f.readline(1):
        notes(MAX_LINES, f"the file goes on past {MAX_LINES:,} lines: not read further")


def _number(value: Any, *, whole: bool = False) -> bool:
    kinds = (int,) if whole else (int, float)
    return isinstance(value, kinds) and not isinstance(value, bool)


def _sample(body: Any) -> Sampled:
    if not isinstance(body, dict) or not _number(body.get("t")) or not body["t"] >= 0:
        raise ValueError("a sample needs t, seconds since the run started")
    procs, gone = body.get("procs"), body.get("gone", [])
    if not isinstance(procs, list) or not isinstance(gone, list):
        raise ValueError("a sample's procs and gone are lists")
    samples: dict[int, ProcSample] = {}
    for p in procs[:KEEP_SAMPLED]:
        if not isinstance(p, dict) or not _number(p.get("pid"), whole=True) or p["pid"] <= 0:
            raise ValueError("a sampled process needs a positive pid")
        sizes = [p.get(k) for k in ("ppid", "rss", "uss", "pss", "threads")]
        if any(v is not None and not _number(v, whole=True) for v in sizes):
            raise ValueError("a sampled process's ppid, sizes and threads are whole numbers")
        cpu, state, guess = p.get("cpu"), p.get("state", ""), p.get("guess", "")
        if (cpu is not None and not _number(cpu)) or not isinstance(state, str) or \
                not isinstance(guess, str):
            raise ValueError("a sampled process's cpu is a number, its state and guess text")
        samples[p["pid"]] = ProcSample(p["pid"], sizes[0], state[:20], sizes[1], sizes[2],
                                       sizes[3], None if cpu is None else float(cpu),
                                       sizes[4], guess[:40])
    pids = frozenset(g for g in gone[:KEEP_SAMPLED] if _number(g, whole=True))
    after = body.get("after")
    return Sampled(float(body["t"]), samples, pids,
                   after if isinstance(after, int) and not isinstance(after, bool) else None)


def _rows(body: Any) -> list[dict[str, str]]:
    if not isinstance(body, list):
        raise ValueError("rows is a list")
    rows = []
    for row in body[:KEEP_ROWS]:
        if not isinstance(row, dict) or not all(isinstance(v, str) for v in row.values()):
            raise ValueError("a row maps column names to text")
        rows.append({str(k)[:20]: v[:200] for k, v in list(row.items())[:20]})
    return rows


def read(path: Path) -> RunRecord:
    """The run a transcript holds; TranscriptError (one line) if it cannot be shown.
    Reads the file: call it off the event loop."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise TranscriptError(f"{shown(path)}: no such file") from None
    except OSError as e:
        raise TranscriptError(f"{shown(path)} cannot be read: {e.strerror or e}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise TranscriptError(f"{shown(path)} is not a file: a transcript is a .jsonl file")
    with os.fdopen(fd, "rb") as f:
        try:
            record = _parse(f, info.st_mtime)
        except OSError as e:
            raise TranscriptError(f"{shown(path)} cannot be read: {e.strerror or e}") from None
        except TranscriptError as e:
            raise TranscriptError(f"{shown(path)} {e}") from None
    record.path = path
    return record


def _parse(f: IO[bytes], mtime: float) -> RunRecord:
    record = RunRecord(RunState(), started=mtime, done=True)
    bad = 0

    def note(number: int, reason: str) -> None:
        nonlocal bad
        bad += 1
        if len(record.notes) < KEEP_NOTES:
            record.notes.append(f"line {number}: {reason}")

    nonblank = events = 0
    for number, raw in _lines(f, note):
        if not raw.strip():
            continue
        nonblank += 1
        if nonblank > SNIFF and events == 0:
            raise TranscriptError(f"is not a transcript: none of its first {SNIFF} lines is an "
                                  "event (JSON lines, as `python -m scenarios` writes)")
        try:
            wire = json.loads(raw)
        except (ValueError, RecursionError):
            note(number, "not JSON: skipped")
            continue
        if isinstance(wire, dict) and "kind" not in wire and len(wire) == 1:
            try:
                _extra(record, *next(iter(wire.items())))
            except ValueError as e:
                note(number, f"{e}: skipped")
            continue
        if len(raw) > LINE_LIMIT:
            note(number, f"an event is under {LINE_LIMIT} bytes: skipped")
            continue
        try:
            event = from_wire(wire)
        except ProtocolError as e:
            note(number, f"{e}: skipped")
            continue
        record.state.apply(event)
        events += 1
    if nonblank == 0 and bad == 0:
        raise TranscriptError("is empty: a transcript has one event per line")
    if events == 0:
        raise TranscriptError("is not a transcript: none of its lines is an event")
    if bad > len(record.notes):
        record.notes.append(f"{bad - len(record.notes):,} more lines were skipped")
    return record


def _extra(record: RunRecord, key: str, body: Any) -> None:
    """A line that is not an event: the header, a sample, the rows."""
    if key == "statelab":
        if not isinstance(body, dict):
            raise ValueError("the statelab header is an object")
        argv, started = body.get("argv"), body.get("started")
        if isinstance(argv, list) and all(isinstance(a, str) for a in argv):
            record.argv = [a[:200] for a in argv[:100]]
        if isinstance(started, (int, float)) and not isinstance(started, bool) \
                and 0 <= started < 1e11:
            record.started = float(started)
        left_out, samples = body.get("left_out"), body.get("samples_left_out")
        if isinstance(left_out, dict):  # what the run counted, not kept: the export says so
            record.state.left_out.update({str(k)[:40]: n for k, n in list(left_out.items())[:20]
                                          if _number(n, whole=True) and n >= 0})
        if isinstance(samples, int) and not isinstance(samples, bool) and samples >= 0:
            record.samples_left_out += samples
    elif key == "sample":
        if len(record.samples) >= KEEP_SAMPLES:
            record.samples_left_out += 1
            return
        record.samples.append(_sample(body))
    elif key == "rows":
        record.rows = _rows(body)
    else:
        raise ValueError("an object with no kind is not an event")


def batches(items: Sequence[Event | Sampled], run_id: int,
            frame: float | None = None) -> list[tuple[float, RunEvents | Samples]]:
    """The messages that show these items, with the time each is due: consecutive events in
    one `RunEvents` (within `frame` seconds of the batch's first, if given), each sample its
    own `Samples`."""
    out: list[tuple[float, RunEvents | Samples]] = []
    pending: list[Event] = []
    for item in items:
        if isinstance(item, Sampled):
            if pending:
                out.append((pending[0].t, RunEvents(run_id, pending)))
                pending = []
            out.append((item.t, Samples(run_id, item.samples, item.gone)))
            continue
        if pending and frame is not None and item.t - pending[0].t > frame:
            out.append((pending[0].t, RunEvents(run_id, pending)))
            pending = []
        pending.append(item)
    if pending:
        out.append((pending[0].t, RunEvents(run_id, pending)))
    return out


async def play(items: Sequence[Event | Sampled], run_id: int,
               post: Callable[[RunEvents | Samples], object]) -> None:
    """Post the items at their recorded pace (a pause longer than MAX_GAP is shortened)."""
    loop = asyncio.get_running_loop()
    clock = loop.time()
    last = 0.0
    for t, message in batches(items, run_id, FRAME):
        clock += min(max(t - last, 0.0), MAX_GAP)
        last = max(last, t)
        delay = clock - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)  # the recorded pace, not a synchronisation
        post(message)
