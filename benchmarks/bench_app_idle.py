"""The app while a paused run is on screen: its CPU (target: at most 1.5% of one core) and the
bytes it sends to the terminal (target: under 3,000 bytes/s), issue 10's "Speed".

Starts `statelab --scenario shared-value --start-method spawn --step --run` in a pty (100x30),
waits until the run is paused at its first checkpoint, lets it settle, then measures over one
window both the app process's CPU time (all its threads: the event loop, the sampler worker,
Textual's writer and input threads) and the bytes the app wrote to the pty (every byte read from
the pty's master side during the window). Then the same with the issue's many processes:
`--scenario race --processes 64 --start-method spawn --iterations 10000 --step --run` (64 is the
race's most), paused at the gate with 64 workers waiting, plus the runner and the resource tracker
(the sampler reads them all, every 2 s at this many). The number of processes of the run is
printed with each case.

    .venv/bin/python benchmarks/bench_app_idle.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ptyapp import AppInPty  # the app in a pty, as the signal tests use it

TARGET_CPU = 1.5  # % of one core
TARGET_BYTES = 3000.0  # bytes/s sent to the terminal
RACE_PROCESSES = 64  # the race scenario's most (scenarios/race.py, MAX_PROCESSES)


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def wait_paused(app: AppInPty, processes: int, timeout: float = 120.0) -> None:
    """app.wait_paused, again when a process it looked at ended under it (a short-lived child of
    the app can be a zombie when it reads its command line)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            app.wait_paused(processes, timeout=max(0.1, deadline - time.monotonic()))
            return
        except psutil.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # polling with a deadline


def measure(label: str, args: list[str], processes: int, seconds: float) -> tuple[float, float]:
    """(% of one core, bytes/s to the terminal) of the app paused on a run, over one window."""
    app = AppInPty(*args)
    run: list[psutil.Process] = []
    try:
        wait_paused(app, processes)
        time.sleep(2.0)  # settle: the first samples, the first frames
        proc = psutil.Process(app.proc.pid)
        before, sent, t0 = proc.cpu_times(), app.received, time.monotonic()
        time.sleep(seconds)  # the measurement window itself
        after, sent, wall = proc.cpu_times(), app.received - sent, time.monotonic() - t0
        run = descendants(app.proc.pid)
    finally:
        run = run or descendants(app.proc.pid)
        app.quit()
        leftover = psutil.wait_procs(run, timeout=5)[1]
        for p in leftover:  # the app should have ended its run: never leave one behind
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        if leftover:
            print(f"  ({len(leftover)} processes of the run were left after q: killed)")
    used = (after.user - before.user) + (after.system - before.system)
    percent, rate = 100.0 * used / wall, sent / wall
    print(f"{label} ({len(run)} processes of the run: the app's descendants):")
    print(f"  CPU: {percent:.2f}% of one core over {wall:.1f} s "
          f"(target: at most {TARGET_CPU:g}%: {'within' if percent <= TARGET_CPU else 'OVER'})")
    print(f"  sent to the terminal: {rate:,.0f} bytes/s ({sent:,} bytes) "
          f"(target: under {TARGET_BYTES:,.0f} bytes/s: "
          f"{'within' if rate < TARGET_BYTES else 'OVER'})")
    return percent, rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    options = parser.parse_args()
    # a kill of the benchmark still quits the app (the finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    measure("paused shared-value run (spawn)",
            ["--scenario", "shared-value", "--start-method", "spawn", "--run", "--step"],
            3, options.seconds)
    from scenarios.engine import catalog

    try:
        catalog.load("race")
    except Exception as e:  # the race scenario is not there
        print(f"{RACE_PROCESSES} processes: not measured, the race scenario cannot be loaded ({e})")
        return 0
    # the workers, the runner and the resource tracker; --timeout: starting 64 spawned
    # interpreters on a busy machine may take a while before the gate (pauses move the deadline)
    measure(f"paused race run, {RACE_PROCESSES} workers (spawn)",
            ["--scenario", "race", "--processes", str(RACE_PROCESSES), "--iterations", "10000",
             "--start-method", "spawn", "--timeout", "120", "--run", "--step"],
            RACE_PROCESSES + 2, options.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
