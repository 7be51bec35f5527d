"""The statelab app in a real terminal (a pty), for the signal tests and the idle-CPU benchmark."""

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
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
LAUNCH = "import sys; from tui.cli import main; sys.exit(main(sys.argv[1:]))"


class AppInPty:
    def __init__(self, *args: str, size: tuple[int, int] = (100, 30)) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(size[0]),
               "LINES": str(size[1])}
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
            del self.screen[:-200_000]

    def wait_paused(self, processes: int, timeout: float = 60.0) -> set[int]:
        """Wait until a run is paused with at least `processes` processes under the app (the
        runner among them); return their pids."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the app ended: {bytes(self.screen[-2000:])!r}"
            try:
                found = psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                found = []
            runner = [p for p in found if "scenarios" in " ".join(p.cmdline())]
            if runner and len(found) >= processes and b"PAUSED" in self.screen:
                return {p.pid for p in found}
            time.sleep(0.05)  # polling with a deadline
        raise AssertionError("the run did not pause in time")

    def quit(self) -> None:
        """Press q, as a person does; kill the app only if it does not leave."""
        os.write(self.master, b"q")
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.hang_up()

    def hang_up(self) -> None:
        """The terminal goes away (an SSH connection drops, tmux kill-session): the master side
        of the pty is closed, and no signal is sent."""
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    def close(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
        self.hang_up()
