"""Write a run's transcript into the current folder, never overwriting a file.

`statelab-<scenario>-<n>.md` (for people) and `statelab-<scenario>-<n>.jsonl`
(the events in their wire form, one per line, so the transcript loads again
with `protocol.decode`), with the first n for which neither file exists. Both
are built from the run's `RunState`; each finding reads as `verdict()` says.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios.engine.protocol import Event, Output
from scenarios.engine.state import KEEP_EVENTS, KEEP_OUTPUT, KEEP_PER_KEY, RunState, legend


@dataclass
class Transcript:
    state: RunState
    argv: list[str]
    processes: list[dict[str, str]]  # the process table as shown, one dict per row
    scenario: str = ""  # the file name's scenario: the state's, if it has one
    # the runner's reports of events it left out of its stream (a reader too slow), as read;
    # None: those the state kept (past its output bound it keeps no output, theirs included)
    stream_notes: list[Event] | None = field(default=None)

    @property
    def name(self) -> str:
        return self.state.scenario or self.scenario or "run"


EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _claim(folder: Path, scenario: str) -> tuple[tuple[Path, int], tuple[Path, int]]:
    """Create both files exclusively (O_EXCL: never an existing file, nor a symlink someone put
    in their place) and keep them open: everything is written through these descriptors, so
    no path is opened twice and a file swapped in after the claim is never written."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", scenario)[:40] or "run"
    n = 1
    while True:
        md, jsonl = folder / f"statelab-{stem}-{n}.md", folder / f"statelab-{stem}-{n}.jsonl"
        n += 1
        try:
            md_fd = os.open(md, EXCLUSIVE, 0o644)
        except FileExistsError:
            continue
        try:
            jsonl_fd = os.open(jsonl, EXCLUSIVE, 0o644)
        except FileExistsError:
            os.close(md_fd)
            md.unlink()
            continue
        return (md, md_fd), (jsonl, jsonl_fd)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def findings(state: RunState) -> list[str]:
    """The findings section: one item per finding, in the verdict's words."""
    lines: list[str] = []
    for f, v in state.verdicts():
        lines.append(f"- {v.mark} **{f.claim}**: {v.happened} in this run; {v.said}.  ")
        lines.append(f"  Evidence: {f.evidence}")
    return lines


def _count(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) else "some"


def stream_notes(events: list[Event]) -> list[Output]:
    """The runner's reports of events it left out of the stream it writes."""
    return [e for e in events
            if isinstance(e, Output) and e.role == "runner" and "left_out" in e.data]


def left_out(t: Transcript) -> list[str]:
    """What this transcript does not have, and why: what the run's state counted without
    keeping it, and what the runner left out of its stream for a slow reader."""
    lines: list[str] = []
    counted = dict(t.state.left_out)
    chars = counted.pop("output bytes", 0)
    if chars:
        lines.append(f"- Output past the first {KEEP_OUTPUT >> 20} MiB: {chars:,} more characters "
                     "were printed; they were counted, not kept.")
    seen = counted.pop("observations", 0)
    if seen:
        lines.append(f"- Observations past the first {KEEP_PER_KEY:,} of a kind in a process (or "
                     f"once the run had {KEEP_EVENTS:,} events): {seen:,} more were counted, not "
                     "kept. The findings were computed by the runner, which counted them too.")
    lines += [f"- {kind}: {n:,} counted, not kept." for kind, n in counted.items()]
    for note in stream_notes(t.state.events) if t.stream_notes is None else t.stream_notes:
        info = note.data["left_out"]
        info = info if isinstance(info, dict) else {}
        kinds = info.get("kinds")
        which = (" (" + ", ".join(f"{_count(n)} {kind}" for kind, n in kinds.items()) + ")"
                 if isinstance(kinds, dict) and kinds else "")
        span = ""
        if isinstance(info.get("from"), (int, float)) and isinstance(info.get("to"), (int, float)):
            span = f" from {info['from']:.2f} s to {info['to']:.2f} s"
        lines.append(f"- The runner's stream left out {_count(info.get('events'))} events{which}"
                     f"{span}, its reader "
                     "being slow: they are not here; the runner saw them, and its findings "
                     f"count them. Its words: \"{note.text}\"")
    if lines:
        lines[:0] = ["", "## Left out", "",
                     "The events below are those the run kept. What was left out:", ""]
    return lines


def markdown(t: Transcript) -> str:
    state = t.state
    info = state.interpreter
    lines = [f"# statelab transcript: {t.name}", ""]
    lines.append(f"Command: `python -m scenarios {' '.join(t.argv)}`  ")
    if info:
        where = f" ({info['executable']})" if info.get("executable") else ""
        lines.append(f"Interpreter: Python {info.get('python')}{where} on {info.get('platform')}, "
                     f"default start method {info.get('default_start_method')}  ")
    lines.append(f"Status: {state.status if state.ended else 'not ended'}")
    lines += left_out(t)
    lines += ["", "## Processes", "", "| role | pid | ppid | state | RSS | USS | PSS |",
              "|---|---|---|---|---|---|---|"]
    for row in t.processes:
        keys = ("role", "pid", "ppid", "state", "rss", "uss", "pss")
        lines.append("| " + " | ".join(_cell(row.get(k, "")) for k in keys) + " |")
    lines += ["", "## Events", "", "| t (s) | role | pid | kind | text |", "|---|---|---|---|---|"]
    for e in state.events:
        lines.append(f"| {e.t:.3f} | {_cell(e.role)} | {e.pid} | {e.kind} | {_cell(e.text)} |")
    if state.findings:
        lines += ["", "## Findings", "",
                  "Each finding says what happened in this run (holds, does not hold, not "
                  f"applicable, could not be checked) and whether {state.source} was right: "
                  + "; ".join(f"{mark} {words}" for mark, words, _ in legend(state.source))
                  + ".", ""]
        lines += findings(state)
    return "\n".join(lines) + "\n"


def jsonl(state: RunState) -> str:
    """The events in their wire form, one JSON line each (each under 4 KiB, as on the wire)."""
    return "".join(e.encode().decode() for e in state.events)


def export(t: Transcript, folder: Path | None = None) -> tuple[Path, Path]:
    """Write both files; return their paths."""
    (md, md_fd), (js, js_fd) = _claim(folder or Path.cwd(), t.name)
    with os.fdopen(md_fd, "w", encoding="utf-8") as md_file, \
            os.fdopen(js_fd, "w", encoding="utf-8") as js_file:
        md_file.write(markdown(t))
        js_file.write(jsonl(t.state))
    return md, js
