"""The app under a flood: key latency, peak memory and quitting while a run prints ~50 MB.

    .venv/bin/python benchmarks/bench_app_flood.py [--megabytes 50] [--rounds 3] [--before DIR]

Runs `statelab --scenario chatter --megabytes N` in a pty (100x30; chatter is the test fixture
tests/fixtures/chatter.py, a child that prints N MiB in 100-byte lines). `b` twice (not timed)
gives the process table the focus, `r` starts the run, and once its output shows in the log a
key is pressed every ~0.5 s until the run's end is on the screen, each timed from the press
until its effect is read back from the pty. Each pair of keys has floods of its own (--rounds
each): `down` and `up` move the process table's cursor (the row it reaches is drawn in the
cursor's style: two rows change); `b` hides the sidebar and shows it again (the screen's second
row is drawn from its first column: the process table's heading, or the scenario list: the
whole screen is laid out again); `?` opens the help (its heading is drawn) and `escape` closes
it (the lab's header is drawn undimmed). Then one more flood, and `q` pressed 1 s into it: timed
until the app has exited, and every process of the run must be gone. The app's peak RSS is its
VmHWM. The same keys are timed in a quiet run (chatter printing nothing, ended) as the
baseline, in the same invocation, and `q` there too.

Targets (issue 9): a key answered within 100 ms during the flood (the cursor keys, the worst
press; `b` and the help take about that long or longer in a quiet app, so for them the figure
is what the flood adds to the quiet run's median), the app's peak RSS bounded (here: at most
200 MiB whatever the run prints), quitting within 2 s with nothing left running.
With `--before DIR` (an earlier checkout of the tree) that tree's app is measured alike.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ptyapp import ROOT, Marker, Term  # the app in a pty, its screen read in this thread

SIZE = (100, 30)
HELP = b"what processes really see"  # the help screen's heading
HEADER = b"\x1b[1;1H"  # the header line is drawn from the top left corner
KEY_MS = 100.0
RSS_MIB = 200.0
QUIT_S = 2.0
PRESS_TIMEOUT = 10.0  # seconds a key's effect is waited for
FLOOD_LIMIT = 60.0  # seconds of keys at most in one flood
FAMILIES = ("cursor", "sidebar", "help")  # pairs of keys, each timed in floods of its own
CURSOR = re.compile(rb"\x1b\[(\d+);(\d+)H")
SGR = re.compile(rb"\x1b\[[0-9;]*m")


def drawn_at(data: bytearray, since: int, row: int, col: int) -> list[str]:
    """The texts drawn from row, col on (after the offset since), in order, styles stripped."""
    texts = []
    for m in CURSOR.finditer(data, since):
        if int(m[1]) == row and int(m[2]) == col:
            stop = data.find(b"\r\n", m.end())
            text = SGR.sub(b"", bytes(data[m.end():stop if stop >= 0 else len(data)]))
            texts.append(text.split(b"\x1b")[0].decode(errors="replace"))
    return texts


def either(*markers: bytes) -> Callable[[bytearray, int], bool]:
    return lambda data, since: any(data.find(m, since) >= 0 for m in markers)


def sidebar(shown: bool) -> Callable[[bytearray, int], bool]:
    """The screen's second row, from its first column, is drawn with the sidebar hidden (it
    starts with the process table's heading) or shown (the scenario list)."""
    def test(data: bytearray, since: int) -> bool:
        texts = drawn_at(data, since, 2, 1)
        return any(t.startswith("role") != shown for t in texts)
    return test


@dataclass
class Figures:
    cursor: list[float] = field(default_factory=list)  # down / up: the table's cursor moves
    sidebar: list[float] = field(default_factory=list)  # b: the sidebar hides or shows
    help: list[float] = field(default_factory=list)  # ? / escape: the help opens or closes
    missed: int = 0  # presses whose effect never showed (within PRESS_TIMEOUT)
    peak_mib: float = 0.0
    quit_s: float = 0.0
    left: list[int] = field(default_factory=list)
    flood_s: float = 0.0  # the longest time from the first output shown to the run's end shown


def table_rows(term: Term) -> tuple[int, dict[str, int]]:
    """Where the process table is drawn: its column, and the screen row of each role's row."""
    x = 0
    rows: dict[str, int] = {}
    for m in CURSOR.finditer(term.data):
        text = SGR.sub(b"", bytes(term.data[m.end():m.end() + 400])).split(b"\x1b")[0]
        if text.startswith(b"role ") and b"pid" in text:
            x = int(m[2])
        elif x and int(m[2]) == x:
            for role in (b"runner", b"parent"):
                if text.startswith(role + b" "):
                    rows[role.decode()] = int(m[1])
    return x, rows


def styles_at(data: bytearray, since: int, where: bytes) -> list[bytes]:
    """The style each write at `where` (a cursor position) starts with, after the offset since."""
    found = []
    at = data.find(where, since)
    while at >= 0:
        start = at + len(where)
        if data[start:start + 2] == b"\x1b[":
            found.append(bytes(data[start:data.find(b"m", start) + 1]))
        at = data.find(where, start)
    return found


def cursor_style(term: Term, x: int, rows: dict[str, int]) -> bytes:
    """The style the table's cursor row is drawn in: press down (from the runner's row to the
    parent's) on the focused table: the parent's row is drawn in a style it had not."""
    where = f"\x1b[{rows['parent']};{x}H".encode()
    term.idle(0.5)
    before = set(styles_at(term.data, 0, where))
    since = term.end
    if term.press(b"\x1b[B", lambda data, at: bool(set(styles_at(data, at, where)) - before),
                  PRESS_TIMEOUT) is None:
        raise SystemExit("the table's cursor did not move")
    style = next(s for s in styles_at(term.data, since - term.base, where) if s not in before)
    term.press(b"\x1b[A", f"\x1b[{rows['runner']};{x}H".encode() + style, PRESS_TIMEOUT)
    return style


def header_marker(term: Term) -> bytes:
    """How this app draws the start of its header, undimmed (read from its first frame)."""
    at = term.data.find(HEADER + b"\x1b[")
    stop = term.data.find(b" statelab ", at)
    if at < 0 or stop < 0:
        raise SystemExit(f"no header seen: {bytes(term.data[-500:])!r}")
    return bytes(term.data[at:stop + len(b" statelab ")])


def start(tree: Path, megabytes: int, run: bool) -> tuple[Term, bytes]:
    term = Term(tree, "--scenario", "chatter", "--megabytes", str(megabytes), "--timeout",
                "120", *(["--run"] if run else []))
    ready = either(b"running chatter", b"chatter: ") if run else b"Press r to run it"
    if term.expect(ready, 60) is None:
        term.close()
        raise SystemExit(f"the app did not start: {bytes(term.data[-800:])!r}")
    return term, header_marker(term)


def focus_table(term: Term) -> None:
    """b twice, not timed: the sidebar had the focus, the process table has it now (the first
    move of the focus builds the footer again: a few hundred ms, quiet or not)."""
    for shown in (False, True):
        if term.press(b"b", sidebar(shown), PRESS_TIMEOUT) is None:
            raise SystemExit("b did not hide or show the sidebar")
    term.idle(1.0)


def family_keys(family: str, term: Term, header: bytes, cursor: bytes,
                figures: Figures) -> list[tuple[bytes, Marker, list[float]]]:
    """A pair of keys, each with what shows its effect and where its times go."""
    if family == "cursor":
        x, rows = table_rows(term)
        if not x or set(rows) != {"runner", "parent"}:
            raise SystemExit(f"the process table was not found: {x} {rows}")
        return [(b"\x1b[B", f"\x1b[{rows['parent']};{x}H".encode() + cursor, figures.cursor),
                (b"\x1b[A", f"\x1b[{rows['runner']};{x}H".encode() + cursor, figures.cursor)]
    if family == "sidebar":
        return [(b"b", sidebar(False), figures.sidebar), (b"b", sidebar(True), figures.sidebar)]
    return [(b"?", HELP, figures.help), (b"\x1b", header, figures.help)]


def press_keys(term: Term, keys: list[tuple[bytes, Marker, list[float]]], figures: Figures,
               until: Callable[[int], bool]) -> None:
    """The keys in turn, one every ~0.5 s, until `until(presses so far)`."""
    done = 0
    while not until(done):
        tick = time.perf_counter()
        key, marker, into = keys[done % len(keys)]
        since = term.end
        took = term.press(key, marker, PRESS_TIMEOUT)
        if took is None:
            figures.missed += 1
            drawn = (styles_at(term.data, since - term.base, marker[:marker.index(b"H") + 1])
                     if isinstance(marker, bytes) and b"H" in marker else "")
            print(f"  (no effect of {key!r} seen within {PRESS_TIMEOUT:g} s {drawn!r})",
                  file=sys.stderr)
            return  # the screen is not in the state the next key expects
        into.append(took)
        done += 1
        term.idle(max(0.0, 0.5 - (time.perf_counter() - tick)))


def quiet_case(tree: Path, presses: int) -> tuple[Figures, bytes]:
    """A run that prints nothing, ended: each pair of keys, `presses` presses; then q."""
    figures = Figures()
    term, header = start(tree, 0, run=True)
    try:
        term.expect(b"chatter: ", 60, since=0)
        focus_table(term)
        x, rows = table_rows(term)
        cursor = cursor_style(term, x, rows)
        for family in FAMILIES:
            keys = family_keys(family, term, header, cursor, figures)
            press_keys(term, keys, figures, lambda done: done >= presses)
        figures.quit_s, figures.left = term.quit()
        figures.peak_mib = term.peak_kib / 1024
    finally:
        term.close()
    return figures, cursor


def one_flood(tree: Path, megabytes: int, family: str, cursor: bytes, figures: Figures) -> None:
    """The table gets the focus, r starts the run, and once its output shows, the pair of keys
    is pressed until the run's end shows (or FLOOD_LIMIT s)."""
    term, header = start(tree, megabytes, run=False)
    try:
        focus_table(term)
        since = term.end
        os.write(term.master, b"r")
        if term.expect(b"line 0", 60, since) is None:
            raise SystemExit(f"no output shown: {bytes(term.data[-800:])!r}")
        t0 = time.perf_counter()
        keys = family_keys(family, term, header, cursor, figures)
        press_keys(term, keys, figures, lambda _: term.find(b"chatter: ", since)
                   or time.perf_counter() - t0 > FLOOD_LIMIT)
        figures.flood_s = max(figures.flood_s, time.perf_counter() - t0)
        term.sample_memory()
        figures.peak_mib = max(figures.peak_mib, term.peak_kib / 1024)
    finally:
        term.close()


def flood_case(tree: Path, megabytes: int, rounds: int, cursor: bytes) -> Figures:
    """`rounds` floods for each pair of keys; then one more, and q 1 s into it."""
    figures = Figures()
    for family in FAMILIES:
        for _ in range(rounds):
            one_flood(tree, megabytes, family, cursor, figures)
    term, _ = start(tree, megabytes, run=True)
    try:
        term.expect(b"line 0", 60, since=0)
        term.idle(1.0)  # well into the flood
        figures.quit_s, figures.left = term.quit()
        figures.peak_mib = max(figures.peak_mib, term.peak_kib / 1024)
    finally:
        term.close()
    return figures


def spread(seconds: list[float]) -> str:
    if not seconds:
        return "none measured"
    ms = sorted(k * 1000 for k in seconds)
    return f"median {statistics.median(ms):.0f} ms, worst {ms[-1]:.0f} ms ({len(ms)} presses)"


def report(label: str, f: Figures) -> None:
    missed = f" ({f.missed} presses never showed their effect)" if f.missed else ""
    left = f"; STILL ALIVE: {f.left}" if f.left else ""
    print(f"{label}{missed}\n  down / up (the table's cursor) to screen: {spread(f.cursor)}\n"
          f"  b (sidebar) to screen: {spread(f.sidebar)}\n"
          f"  ? / escape (help) to screen: {spread(f.help)}\n"
          f"  peak RSS {f.peak_mib:.0f} MiB; q to exit: {f.quit_s:.2f} s{left}")


def verdict(flood: Figures, quiet: Figures) -> None:
    worst = max(flood.cursor, default=float("inf")) * 1000
    checks = [("a key (down / up) answered within 100 ms, the worst press",
               worst <= KEY_MS and not flood.missed),
              (f"peak RSS at most {RSS_MIB:g} MiB", flood.peak_mib <= RSS_MIB),
              (f"quit within {QUIT_S:g} s, nothing left", flood.quit_s <= QUIT_S and not flood.left)]
    for name, ok in checks:
        print(f"  target {name}: {'within' if ok else 'OVER'}")
    for name, during, before in (("down / up", flood.cursor, quiet.cursor),
                                 ("b", flood.sidebar, quiet.sidebar),
                                 ("? / escape", flood.help, quiet.help)):
        if during and before:
            added = (statistics.median(during) - statistics.median(before)) * 1000
            print(f"  {name}: the flood adds {added:.0f} ms to the median "
                  f"({statistics.median(during) / statistics.median(before):.1f}x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3,
                        help="floods whose keys are timed, for each pair of keys")
    parser.add_argument("--before", type=Path, help="an earlier checkout, measured alike")
    options = parser.parse_args()
    print(f"statelab app in a {SIZE[0]}x{SIZE[1]} pty; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    trees = [("now", ROOT), *([("before", options.before)] if options.before else [])]
    for name, tree in trees:
        quiet, cursor = quiet_case(tree, 8)
        report(f"[{name}] quiet run (chatter --megabytes 0), the baseline", quiet)
        flood = flood_case(tree, options.megabytes, options.rounds, cursor)
        report(f"[{name}] flood (chatter --megabytes {options.megabytes}; {options.rounds} "
               f"floods for each pair of keys, the longest {flood.flood_s:.1f} s of keys)", flood)
        verdict(flood, quiet)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
