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
import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
LAUNCH = "import sys; from tui.app import main; sys.exit(main(sys.argv[1:]))"
TARGET = 3.0


class AppInPty:
    def __init__(self, args: list[str], size: tuple[int, int] = (100, 30)) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {**os.environ, "TERM": "xterm-256color"}
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCH, *args], stdin=slave,
                                     stdout=slave, stderr=slave, cwd=ROOT, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.screen = bytearray()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.screen += data
            del self.screen[:-200_000]

    def wait_paused(self, processes: int, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        app = psutil.Process(self.proc.pid)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the app ended: {bytes(self.screen[-1500:])!r}")
            found = app.children(recursive=True)
            if len(found) >= processes and b"PAUSED" in self.screen:
                return len(found)
            time.sleep(0.05)
        raise SystemExit("the run did not pause in time")

    def quit(self) -> None:
        os.write(self.master, b"q")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


def cpu_percent(pid: int, seconds: float) -> float:
    proc = psutil.Process(pid)
    before = proc.cpu_times()
    t0 = time.monotonic()
    time.sleep(seconds)  # the measurement window itself
    after = proc.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return 100.0 * used / (time.monotonic() - t0)


def measure(label: str, args: list[str], processes: int, seconds: float) -> float | None:
    app = AppInPty(args)
    try:
        found = app.wait_paused(processes)
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
    from scenarios import catalog

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
