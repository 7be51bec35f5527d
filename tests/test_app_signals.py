"""The app in a real terminal (a pty), killed while a run is paused: nothing of the run is left.

`statelab --scenario shared-value --run --step` pauses the run at its first
checkpoint. Then the app gets SIGHUP (the terminal went away, as when an SSH
connection drops) or SIGKILL; every process of the run (the runner and the
scenario's processes, found as descendants of the app) must be gone within
2 seconds.
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.test_app_support import alive, wait_gone

ROOT = Path(__file__).resolve().parent.parent
LAUNCH = "import sys; from tui.app import main; sys.exit(main(sys.argv[1:]))"


class AppInPty:
    def __init__(self, *args: str) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCH, *args], stdin=slave,
                                     stdout=slave, stderr=slave, cwd=ROOT, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.screen = bytearray()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:  # the terminal must be read, or the app blocks writing to it
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.screen += data

    def run_pids(self, timeout: float = 20.0) -> set[int]:
        """Wait until the run is paused (runner, parent and child all up); return their pids."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the app ended: {bytes(self.screen[-2000:])!r}"
            try:
                found = psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                found = []
            runner = [p for p in found if "scenarios" in " ".join(p.cmdline())]
            if runner and len(found) >= 3 and b"PAUSED" in self.screen:
                return {p.pid for p in found}
            time.sleep(0.05)  # polling with a deadline
        raise AssertionError("the run did not pause in time")

    def close(self) -> None:
        for pid in [self.proc.pid]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(5)
        os.close(self.master)


@pytest.fixture
def app_in_pty() -> Iterator[AppInPty]:
    app = AppInPty("--scenario", "shared-value", "--run", "--step")
    try:
        yield app
    finally:
        app.close()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGKILL], ids=["SIGHUP", "SIGKILL"])
def test_killing_the_app_leaves_no_process(app_in_pty: AppInPty, sig: signal.Signals) -> None:
    pids = app_in_pty.run_pids()
    assert len(pids) >= 3  # runner, the scenario's parent, its child
    os.kill(app_in_pty.proc.pid, sig)
    left = wait_gone(pids, timeout=2.0)
    assert not left, f"still alive 2 s after {sig.name}: {left}"
    app_in_pty.proc.wait(5)
