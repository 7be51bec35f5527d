"""Time to first frame: statelab against a bare Textual app with a header, a table, a log, a footer.

Both start the same way (a fresh interpreter in a pty, 100x30) and are timed
from the spawn until their first frame is on the terminal: the first write
that carries the process table's heading, "role" (both apps have the table). Runs alternate, in the same
process, so both see the same machine; the medians and their ratio are printed
(target: at most 1.1x, issue 10's "Speed"). Also printed: when statelab's screen is complete (the
scenario chosen, its settings and source shown).

    .venv/bin/python benchmarks/bench_app_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.1
STATELAB = "import sys; from tui.launch import main; sys.exit(main())"  # what `statelab` runs
BARE = """
from textual.app import App
from textual.widgets import DataTable, Footer, Header, Log

class Bare(App):
    BINDINGS = [("q", "quit", "quit")]

    def compose(self):
        yield Header()
        yield DataTable()
        yield Log()
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("role", "pid", "ppid", "state", "RSS", "USS", "PSS", "CPU%", "thr")
        self.query_one(Log).write_line("ready")

Bare().run()
"""


def first_frame(code: str, marker: bytes, complete: bytes | None = None,
                timeout: float = 30.0, cwd: Path = ROOT) -> tuple[float, float | None]:
    """Seconds from spawn to the first frame with marker (and to the frame with complete)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave,
                            stderr=slave, cwd=cwd, env=env, start_new_session=True)
    os.close(slave)
    seen = bytearray()
    first: float | None = None
    whole: float | None = None
    deadline = t0 + timeout
    try:
        while time.perf_counter() < deadline:
            if not select.select([master], [], [], 0.5)[0]:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            seen += data
            now = time.perf_counter() - t0
            if first is None and marker in seen:
                first = now
            if complete is not None and whole is None and complete in seen:
                whole = now
            if first is not None and (complete is None or whole is not None):
                break
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)
    if first is None:
        raise SystemExit(f"no frame seen: {bytes(seen[-500:])!r}")
    return first, whole


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", type=Path, help="an earlier checkout, timed alongside")
    options = parser.parse_args()
    bare: list[float] = []
    lab: list[float] = []
    ready: list[float] = []
    old: list[float] = []
    first_frame(BARE, b"role")  # warm the disk cache for all
    first_frame(STATELAB, b"role")
    # a checkout from before tui/launch.py started the app through tui.cli
    earlier = STATELAB if options.before and (options.before / "tui" / "launch.py").exists() \
        else "import sys; from tui.cli import main; sys.exit(main(sys.argv[1:]))"
    if options.before:
        first_frame(earlier, b"role", cwd=options.before)
    for _ in range(options.runs):
        bare.append(first_frame(BARE, b"role")[0])
        t, whole = first_frame(STATELAB, b"role", b"Press r to run it")
        lab.append(t)
        if whole is not None:
            ready.append(whole)
        if options.before:
            old.append(first_frame(earlier, b"role", cwd=options.before)[0])
    b, s = statistics.median(bare), statistics.median(lab)
    print(f"bare Textual app (Header, DataTable, Log, Footer): first frame, median of {len(bare)}: "
          f"{b * 1000:.0f} ms")
    print(f"statelab: first frame, median of {len(lab)}: {s * 1000:.0f} ms")
    if ready:
        print(f"statelab: screen complete (scenario, settings, source): "
              f"{statistics.median(ready) * 1000:.0f} ms")
    ratio = s / b
    # each statelab start against the bare start just before it: a drift of the machine's speed
    # over the minute the benchmark takes moves both alike
    pairs = sorted(x / y for x, y in zip(lab, bare, strict=True))
    quartiles = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else [pairs[0]] * 3
    print(f"statelab / bare, start by start: median {statistics.median(pairs):.2f}x "
          f"(middle half {quartiles[0]:.2f}x to {quartiles[2]:.2f}x)")
    if old:
        print(f"before ({options.before}): first frame, median of {len(old)}: "
              f"{statistics.median(old) * 1000:.0f} ms ({statistics.median(old) / b:.2f}x)")
    print(f"ratio: {ratio:.2f}x (target at most {TARGET:g}x: "
          f"{'within' if ratio <= TARGET else 'OVER'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
