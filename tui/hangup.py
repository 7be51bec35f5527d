"""Notice that the terminal went away, however the app was started.

A dropped SSH connection or `tmux kill-session` hangs up the terminal, but the
app does not always get SIGHUP: under `make run`, make is the session leader
and does not pass it on, and Textual's input thread then spins on a terminal
that reads as end of file. A thread here waits on the terminal for POLLHUP or
POLLERR only (it reads nothing, so it takes no key from Textual) and, when the
terminal is gone, sends the app the SIGHUP it should have had: one way out.
"""

from __future__ import annotations

import os
import select
import signal
import threading

GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL


def lost(fd: int) -> bool:
    """True if the terminal on fd has hung up or fails (without reading from it)."""
    poller = select.poll()
    poller.register(fd, 0)  # no events asked for: only hang-up and errors are reported
    return any(events & GONE for _, events in poller.poll(0))


def watch(fd: int, stop: threading.Event, every: float = 0.5) -> threading.Thread | None:
    """Start a daemon thread that sends this process SIGHUP once the terminal on fd is gone;
    None when fd is not a terminal (tests, a pipe)."""
    if not os.isatty(fd):
        return None

    def run() -> None:
        poller = select.poll()
        poller.register(fd, 0)
        while not stop.is_set():
            if any(events & GONE for _, events in poller.poll(every * 1000)):
                os.kill(os.getpid(), signal.SIGHUP)
                return

    thread = threading.Thread(target=run, name="statelab-terminal-watch", daemon=True)
    thread.start()
    return thread
