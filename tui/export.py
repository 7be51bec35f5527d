"""Write a run's transcript into the current folder, never overwriting a file.

`statelab-<scenario>-<n>.md` (for people) and `statelab-<scenario>-<n>.jsonl`
(the events exactly as the engine wrote them), with the first n for which
neither file exists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.messages import Event


@dataclass
class Transcript:
    scenario: str
    argv: list[str]
    events: list[Event]
    processes: list[dict[str, str]]  # the process table as shown, one dict per row
    source: str = "the lesson"  # where the claims come from: "common belief" beyond the lesson


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


def markdown(t: Transcript) -> str:
    start = next((e for e in t.events if e.get("kind") == "run-start"), None)
    end = next((e for e in t.events if e.get("kind") == "run-end"), None)
    info = ((start or {}).get("data") or {}).get("interpreter") or {}
    lines = [f"# statelab transcript: {t.scenario}", ""]
    lines.append(f"Command: `python -m scenarios {' '.join(t.argv)}`  ")
    if info:
        lines.append(f"Interpreter: Python {info.get('python')} on {info.get('platform')}, "
                     f"default start method {info.get('default_start_method')}  ")
    lines.append(f"Status: {(end or {}).get('status', 'not ended')}")
    lines += ["", "## Processes", "", "| role | pid | ppid | state | RSS | USS | PSS |",
              "|---|---|---|---|---|---|---|"]
    for row in t.processes:
        keys = ("role", "pid", "ppid", "state", "rss", "uss", "pss")
        lines.append("| " + " | ".join(_cell(row.get(k, "")) for k in keys) + " |")
    lines += ["", "## Events", "", "| t (s) | role | pid | kind | text |", "|---|---|---|---|---|"]
    for e in t.events:
        t_ = e.get("t")
        stamp = f"{t_:.3f}" if isinstance(t_, (int, float)) else "?"
        lines.append(f"| {stamp} | {_cell(e.get('role'))} | {e.get('pid')} | {e.get('kind')} | "
                     f"{_cell(e.get('text', ''))} |")
    findings = [e for e in t.events if e.get("kind") == "finding"]
    if findings:
        lines += ["", "## Findings", ""]
        for f in findings:
            holds = {True: "holds", False: "does not hold", None: "could not be checked"}[
                f.get("holds")]
            lesson = {True: "holds", False: "does not hold", None: "nothing"}[f.get("lesson")]
            lines.append(f"- **{f.get('claim')}**: {holds} ({t.source} says: {lesson}).  ")
            lines.append(f"  Evidence: {f.get('evidence')}")
    return "\n".join(lines) + "\n"


def jsonl(events: Iterable[Event]) -> str:
    return "".join(json.dumps({k: v for k, v in e.items() if not k.startswith("_")}) + "\n"
                   for e in events)


def export(t: Transcript, folder: Path | None = None) -> tuple[Path, Path]:
    """Write both files; return their paths."""
    md, js = _claim(folder or Path.cwd(), t.scenario)
    md.write_text(markdown(t), encoding="utf-8")
    js.write_text(jsonl(t.events), encoding="utf-8")
    return md, js
