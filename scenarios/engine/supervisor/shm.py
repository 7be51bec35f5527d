"""Which /dev/shm entries are this run's: those its processes held.

POSIX shared memory and named semaphores are files in /dev/shm, and a file there does not say
who made it: on a machine where other Python programs run, entries come and go all the time.
So the runner watches what the run's own processes hold: the /dev/shm files each has mapped
(/proc/PID/maps) or open (/proc/PID/fd), by inode. It looks at every process of the run at the
scans the supervisor already makes (every 0.25 s, when a process starts or ends, before the
kill ladder) and at a process that speaks: at each checkpoint, otherwise at most every
SPOKE_EVERY seconds (before its event goes on: once a reader sees the event, it was looked at). Only the
runner reads /proc: the scenario's processes run no extra thread and make no extra call.

At the end of the run, an entry is the run's, and reported as left by it, if its name was not
in /dev/shm when the run began and its inode is one the run's processes held. An entry only
another program made is never reported. The watch can miss an entry a process made and let go
of (unmapped and closed, or died) between two looks: such an entry is not reported, never one
that is not the run's. Under fork a semaphore's name is unlinked at once: nothing to report.
"""

from __future__ import annotations

import os
import time

from scenarios.engine import procfs

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from collections.abc import Iterable

SHM_DIR = "/dev/shm"
SPOKE_EVERY = 0.1  # seconds between two looks at a process that keeps sending events


def entries() -> set[str]:
    """The names in /dev/shm now."""
    try:
        return set(os.listdir(SHM_DIR))
    except OSError:
        return set()


class ShmWatch:
    """What the run's processes hold in /dev/shm, and what of it is left at the end."""

    def __init__(self) -> None:
        self.before = entries()
        self.dev = procfs.device_of(SHM_DIR)
        self.held: set[int] = set()  # inodes of /dev/shm files the run's processes held
        self.looked: dict[int, float] = {}  # pid -> when a process that spoke was looked at

    def sample(self, pids: Iterable[int]) -> None:
        """Look at what these processes (the run's, live now) hold."""
        if self.dev is None:
            return
        for pid in pids:
            self.held |= procfs.held_on(pid, self.dev)

    def spoke(self, pid: int, always: bool = False) -> None:
        """A process of the run sent an event: it was alive a moment ago. Look at it, unless it
        was looked at less than SPOKE_EVERY seconds ago and not `always` (a checkpoint: a
        moment the lesson points at, and few)."""
        now = time.monotonic()
        if not always and now - self.looked.get(pid, 0.0) < SPOKE_EVERY:
            return
        self.looked[pid] = now
        if procfs.is_descendant(pid, os.getpid()):  # still ours, not a pid used again
            self.sample((pid,))

    def left(self) -> list[str]:
        """The entries this run left in /dev/shm: new since it began, held by its processes."""
        found = []
        for name in sorted(entries() - self.before):
            try:
                st = os.stat(os.path.join(SHM_DIR, name), follow_symlinks=False)
            except OSError:
                continue  # removed while we looked
            if st.st_dev == self.dev and st.st_ino in self.held:
                found.append(name)
        return found
