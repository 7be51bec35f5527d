"""The statelab app in a real terminal (a pty), for the signal tests and the benchmarks of the
app idle and under a flood."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
LAUNCH = "import sys; from tui.launch import main; sys.exit(main())"  # what `statelab` runs
Marker = bytes | Callable[[bytearray, int], bool]  # what shows on the screen: bytes, or a test


def command_of(proc: psutil.Process) -> list[str]:
    """Its command line; none if it has just ended (a zombie has none to read)."""
    try:
        return list(proc.cmdline())
    except psutil.Error:
        return []


class AppInPty:
    received = 0  # bytes read from the pty so far (a class default: the reader starts in __init__)

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
            self.received += len(data)  # every byte, for the benchmarks (screen keeps the last)
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
            runner = [p for p in found if "scenarios" in " ".join(command_of(p))]
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


class Term:
    """The app in a pty, its screen read in the caller's thread (no reader thread to wait for),
    for timing what a key does (benchmarks/bench_app_flood.py). `tree`: the checkout whose app
    runs; its tests/fixtures/chatter.py is a scenario of it."""

    def __init__(self, tree: Path, *args: str, size: tuple[int, int] = (100, 30)) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(size[0]),
               "LINES": str(size[1]), "STATELAB_EXTRA_SCENARIOS": "chatter=tests.fixtures.chatter",
               "PYTHONPATH": str(tree)}
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCH, *args], stdin=slave,
                                     stdout=slave, stderr=slave, cwd=tree, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.data = bytearray()  # everything the app wrote, from `base` on
        self.base = 0
        self.peak_kib = 0

    @property
    def end(self) -> int:
        return self.base + len(self.data)

    def pump(self, timeout: float) -> bool:
        """Read what the app wrote within timeout seconds; False once the terminal is closed."""
        if not select.select([self.master], [], [], max(0.0, timeout))[0]:
            return True
        try:
            chunk = os.read(self.master, 1 << 16)
        except OSError:
            return False
        self.data += chunk
        if len(self.data) > 4 << 20:  # keep the last MiB (markers are searched near the end)
            cut = len(self.data) - (1 << 20)
            del self.data[:cut]
            self.base += cut
        return bool(chunk)

    def find(self, marker: Marker, since: int) -> bool:
        """Has marker been drawn after the offset since? (bytes, or a test of the bytes)"""
        if callable(marker):
            return marker(self.data, max(0, since - self.base))
        return self.data.find(marker, max(0, since - self.base - len(marker))) >= 0

    def expect(self, marker: Marker, timeout: float, since: int | None = None) -> float | None:
        """Seconds until marker is drawn (after the offset since); None if it never was."""
        start = self.end if since is None else since
        t0 = time.perf_counter()
        while not self.find(marker, start):
            left = t0 + timeout - time.perf_counter()
            if left <= 0 or not self.pump(min(left, 0.05)):
                return None
            self.sample_memory()
        return time.perf_counter() - t0

    def press(self, key: bytes, marker: Marker, timeout: float = 15.0) -> float | None:
        """Press a key; seconds until its effect (marker) is on the terminal."""
        self.drain()
        since = self.end
        os.write(self.master, key)
        return self.expect(marker, timeout, since)

    def drain(self) -> None:
        while select.select([self.master], [], [], 0)[0] and self.pump(0):
            pass

    def idle(self, seconds: float) -> None:
        until = time.perf_counter() + seconds
        while (left := until - time.perf_counter()) > 0:
            self.pump(min(left, 0.05))
        self.sample_memory()

    def sample_memory(self) -> None:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_kib = max(self.peak_kib, int(line.split()[1]))

    def quit(self, timeout: float = 30.0) -> tuple[float, list[int]]:
        """Press q; seconds until the app has exited, and the pids of the run still alive."""
        self.sample_memory()
        try:
            run = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            run = []
        self.drain()
        t0 = time.perf_counter()
        os.write(self.master, b"q")
        while self.proc.poll() is None and time.perf_counter() - t0 < timeout:
            self.pump(0.01)
        took = time.perf_counter() - t0
        deadline = time.monotonic() + 5
        while (left := alive(run)) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling with a deadline
        return took, left

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        os.close(self.master)


def alive(processes: list[psutil.Process]) -> list[int]:
    found = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    return found
