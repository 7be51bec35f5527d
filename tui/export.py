"""Write a run's transcript into the current folder, never overwriting a file.

`statelab-<scenario>-<n>.md` (for people) and `statelab-<scenario>-<n>.jsonl`
(the events in their wire form, one per line, so the transcript loads again
with `protocol.decode`), with the first n for which neither file exists. Both
are built from the run's `RunState`; each finding reads as `verdict()` says.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.engine.state import RunState


@dataclass
class Transcript:
    state: RunState
    argv: list[str]
    processes: list[dict[str, str]]  # the process table as shown, one dict per row
    scenario: str = ""  # the file name's scenario: the state's, if it has one

    @property
    def name(self) -> str:
        return self.state.scenario or self.scenario or "run"


def _claim(folder: Path, scenario: str) -> tuple[Path, Path]:
    """Create both files exclusively (O_EXCL), so two exports never overwrite each other."""
    n = 1
    while True:
        md = folder / f"statelab-{scenario}-{n}.md"
        jsonl = folder / f"statelab-{scenario}-{n}.jsonl"
        if not md.exists() and not jsonl.exists():
            try:
                os.close(os.open(md, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            except FileExistsError:
                n += 1
                continue
            try:
                os.close(os.open(jsonl, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            except FileExistsError:
                md.unlink()
                n += 1
                continue
            return md, jsonl
        n += 1


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def findings(state: RunState) -> list[str]:
    """The findings section: one item per finding, in the verdict's words."""
    lines: list[str] = []
    for f, v in state.verdicts():
        lines.append(f"- {v.mark} **{f.claim}**: {v.happened} in this run; {v.said}.  ")
        lines.append(f"  Evidence: {f.evidence}")
    return lines


def markdown(t: Transcript) -> str:
    state = t.state
    info = state.interpreter
    lines = [f"# statelab transcript: {t.name}", ""]
    lines.append(f"Command: `python -m scenarios {' '.join(t.argv)}`  ")
    if info:
        lines.append(f"Interpreter: Python {info.get('python')} on {info.get('platform')}, "
                     f"default start method {info.get('default_start_method')}  ")
    lines.append(f"Status: {state.status if state.ended else 'not ended'}")
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
                  f"✓ agrees with {state.source}, ✗ differs from it, ? could not be checked, "
                  f"• {state.source} says nothing about it.", ""]
        lines += findings(state)
    return "\n".join(lines) + "\n"


def jsonl(state: RunState) -> str:
    """The events in their wire form, one JSON line each (each under 4 KiB, as on the wire)."""
    return "".join(e.encode().decode() for e in state.events)


def export(t: Transcript, folder: Path | None = None) -> tuple[Path, Path]:
    """Write both files; return their paths."""
    md, js = _claim(folder or Path.cwd(), t.name)
    md.write_text(markdown(t), encoding="utf-8")
    js.write_text(jsonl(t.state), encoding="utf-8")
    return md, js
