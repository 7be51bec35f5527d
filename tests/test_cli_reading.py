"""`statelab run` reads well: events in time order, wrapped text under its own column, and Ctrl-C
stops the run and still prints what was seen and the findings.

What is certain: the runner merges its processes' sockets as they become readable, so lines can
arrive out of time order (a child's 0.115 before the parent's 0.113); the terminal's Ctrl-C
sends SIGINT to the whole foreground process group, statelab and its runner alike.
"""

from __future__ import annotations

import io
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time

from rich.console import Console

from tests.runs import alive
from tui.timeline import Timeline


def event(t: float, pid: int, role: str, text: str) -> str:
    return json.dumps({"t": t, "pid": pid, "role": role, "kind": "observe", "text": text,
                       "data": {"what": "w"}}) + "\n"


def printed(console: Console) -> list[str]:
    out = console.file.getvalue()  # type: ignore[attr-defined]
    return [row for row in out.splitlines() if row.strip()]


def test_events_are_printed_in_time_order_not_arrival_order() -> None:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    timeline = Timeline(console, runner_pid=1)
    timeline.feed(event(0.115, 3, "child", "child read 3"))
    timeline.feed(event(0.113, 2, "parent", "parent wrote 3"))
    assert printed(console) == [], "both are within the hold: nothing is printed yet"
    timeline.feed(event(0.300, 2, "parent", "parent joined"))  # past the hold of the first two
    rows = printed(console)
    assert [r.split()[0] for r in rows] == ["0.113", "0.115"], rows
    timeline.tick()  # the stream went quiet: the rest is printed
    assert [r.split()[0] for r in printed(console)] == ["0.113", "0.115", "0.300"]


def test_a_long_text_wraps_under_its_own_column() -> None:
    console = Console(file=io.StringIO(), width=80, color_system=None)
    timeline = Timeline(console, runner_pid=1)
    words = " ".join(f"word{i}" for i in range(40))
    timeline.feed(event(0.5, 2, "parent", words))
    timeline.tick()
    rows = printed(console)
    assert len(rows) > 1
    column = rows[0].index("word0")
    for row in rows[1:]:
        assert row[:column].strip() == "" and row[column] != " ", rows


def test_ctrl_c_stops_the_run_and_still_prints_what_was_seen_and_the_findings() -> None:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="120")
    proc = subprocess.Popen([sys.executable, "-m", "tui", "run", "shared-value", "--step"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    assert proc.stdout is not None
    seen = ""
    fd = proc.stdout.fileno()  # read as it comes: a buffered readline could sit on a line
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        until = time.monotonic() + 60
        while "⏸" not in seen and time.monotonic() < until:
            if sel.select(until - time.monotonic()):
                chunk = os.read(fd, 65536).decode()
                if not chunk:
                    break
                seen += chunk
    assert "⏸" in seen, seen
    pids = {int(m[1]) for m in re.finditer(r"started: pid (\d+)", seen)}
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    rest, err = proc.communicate(timeout=60)
    out = seen + rest
    assert "stopping the run" in out
    assert "run stopped: the runner got SIGINT" in out
    assert "run ended: stopped" in out
    assert "Findings" in out and re.search(r"│ \? │", out), out
    assert out.count("⏸") == 1, out
    assert "Traceback" not in err
    assert pids and not [pid for pid in pids if alive(pid)], "every process of the run has ended"
