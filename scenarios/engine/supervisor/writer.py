"""The runner's output: whole lines, in order, written without ever waiting for the reader.

The stream goes to a non-blocking file descriptor of its own (a pipe or a terminal is opened
again through /proc, so the O_NONBLOCK flag does not reach the file description the runner's
caller and the other processes share). What the reader does not take at once waits in a
queue and is written when the fd is writable again; one line is finished before the next
starts, so lines never interleave. A line that may be left out (`droppable`) is dropped once
more than `limit` bytes wait, and from then on until the owner has said what was left out
(`forget_left_out()`, which it calls once the queue has `drained()` to half the bound).
"""

from __future__ import annotations

import os
import select
import stat
import time
from collections import deque

QUEUE_LIMIT = 8 * 1024 * 1024  # bytes waiting for the reader before output is left out
FLUSH_LIMIT = 30.0  # seconds the end of a run waits for a reader that does not read


def open_nonblocking(fd: int) -> tuple[int, str]:
    """A non-blocking descriptor for writing to fd, and what was done to get it: "reopened"
    (a private one), "as is" (a regular file: its writes never wait for a reader) or
    "flagged" (fd itself made non-blocking: give it back blocking at the end)."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return fd, "as is"
    if stat.S_ISREG(mode) or stat.S_ISBLK(mode):
        return fd, "as is"
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        try:
            flags = os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
            return os.open(f"/proc/self/fd/{fd}", flags), "reopened"
        except OSError:
            pass  # no /proc, or a FIFO with no reader left: the write will tell
    try:
        os.set_blocking(fd, False)
    except OSError:
        return fd, "as is"
    return fd, "flagged"


class Writer:
    def __init__(self, fd: int, limit: int = QUEUE_LIMIT) -> None:
        self.original = fd
        self.fd, self.how = open_nonblocking(fd)
        self.limit = limit
        self.queue: deque[bytes] = deque()
        self.head = 0  # bytes of queue[0] already written
        self.queued = 0  # bytes in the queue, not yet written
        self.broken = False  # the reader is gone
        self.dropping = False
        self.dropped = 0  # lines left out since forget_left_out()
        self.dropped_bytes = 0

    def write(self, line: bytes, droppable: bool = False) -> bool:
        """Queue one line and write what the reader takes now; False if it was left out."""
        if self.broken:
            return True
        if droppable and (self.dropping or self.queued + len(line) > self.limit):
            self.dropping = True
            self.dropped += 1
            self.dropped_bytes += len(line)
            return False
        self.queue.append(line)
        self.queued += len(line)
        if len(self.queue) == 1:
            self.flush()
        return True

    def flush(self, wait: float | None = 0.0) -> bool:
        """Write the queue as far as the reader takes it. `wait`: seconds to wait for the
        reader in all (0: not at all; None: as long as it takes). True if the queue is empty."""
        until = None if wait is None else time.monotonic() + wait
        while self.queue and not self.broken:
            line = self.queue[0]
            try:
                n = os.write(self.fd, memoryview(line)[self.head :])
            except BlockingIOError:
                left = None if until is None else until - time.monotonic()
                if wait == 0 or (left is not None and left <= 0):
                    return False
                try:
                    select.select([], [self.fd], [], left)
                except (OSError, ValueError):
                    return False
                continue
            except OSError:  # EPIPE: whoever read us is gone
                self.broken = True
                self.queue.clear()
                self.queued = self.head = 0
                return True
            self.head += n
            if self.head == len(line):
                self.queue.popleft()
                self.queued -= len(line)
                self.head = 0
        return not self.queue

    def drained(self) -> bool:
        """Has the queue come down to half its bound (output is kept again)?"""
        return self.queued <= self.limit // 2

    def forget_left_out(self) -> tuple[int, int]:
        """How many lines (and bytes) were left out since the last call; lines are kept again."""
        counts = self.dropped, self.dropped_bytes
        self.dropped = self.dropped_bytes = 0
        self.dropping = False
        return counts

    def close(self) -> None:
        if self.how == "reopened":
            os.close(self.fd)
        elif self.how == "flagged":
            try:
                os.set_blocking(self.fd, True)
            except OSError:
                pass
        self.how = "closed"
