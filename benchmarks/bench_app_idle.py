"""The app's CPU while a paused run is on screen (target: at most 3% of one core).

Starts `statelab --scenario shared-value --run --step` in a pty (100x30), waits
until the run is paused at its first checkpoint, lets it settle, then measures
the app process's CPU time (all its threads: the event loop, the sampler
worker, Textual's writer and input threads) over a window. Then the same with
50 processes: `--scenario race --processes 50 --iterations 10000 --run --step`, paused at the gate
with 50 workers waiting (the sampler reads 50+ processes twice a second).

    .venv/bin/python benchmarks/bench_app_idle.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ptyapp import AppInPty  # the app in a pty, as the signal tests use it

TARGET = 3.0


def cpu_percent(pid: int, seconds: float) -> float:
    proc = psutil.Process(pid)
    before = proc.cpu_times()
    t0 = time.monotonic()
    time.sleep(seconds)  # the measurement window itself
    after = proc.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return 100.0 * used / (time.monotonic() - t0)


def measure(label: str, args: list[str], processes: int, seconds: float) -> float | None:
    app = AppInPty(*args)
    try:
        found = len(app.wait_paused(processes))
        time.sleep(2.0)  # settle: the first samples, the first frames
        percent = cpu_percent(app.proc.pid, seconds)
    finally:
        app.quit()
    print(f"{label}: {percent:.2f}% of one core over {seconds:g} s "
          f"({found} processes of the run on screen)")
    return percent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    options = parser.parse_args()
    small = measure("paused shared-value run", ["--scenario", "shared-value", "--run", "--step"],
                    3, options.seconds)
    verdict = "within" if small is not None and small <= TARGET else "OVER"
    print(f"  target: at most {TARGET:g}%: {verdict}")
    from scenarios.engine import catalog

    try:
        catalog.load("race")
    except Exception as e:  # the race scenario is not there yet
        print(f"50 processes: not measured, the race scenario cannot be loaded ({e})")
        return 0
    measure("paused race run, 50 processes",
            ["--scenario", "race", "--processes", "50", "--iterations", "10000", "--run",
             "--step"], 52, options.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
