"""The one reader of /proc: what the kernel says about a process of the run.

Linux only. Every function returns None (or nothing) for a process that is
gone or cannot be read, never raises for it: processes end while we look.
"""

from __future__ import annotations

import os
import time
from collections.abc import Container

from scenarios.engine.fields import Fields

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

class Stat(Fields):
    """The fields of /proc/PID/stat the engine reads."""

    fields = ("state", "ppid", "pgid", "start_ticks")  # in the constructor's order
    __slots__ = fields

    state: str  # R, S, D, Z, T, ...
    ppid: int
    pgid: int
    start_ticks: int  # clock ticks after boot when the process started


def stat(pid: int) -> Stat | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    # the command name in parentheses may hold spaces and ")": the fields start after the last
    fields = text[text.rfind(")") + 2 :].split()
    try:
        return Stat(fields[0], int(fields[1]), int(fields[2]), int(fields[19]))
    except (IndexError, ValueError):
        return None


def cmdline(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None


def parent_of(pid: int) -> int | None:
    """The real parent of a process (under forkserver: the fork server)."""
    st = stat(pid)
    return st.ppid if st else None


def is_descendant(pid: int, root: int) -> bool:
    """Is pid a process below root (its child, its child's child, ...)? Walks the parent chain
    as the kernel gives it now: an orphan that the subreaper root adopted is its child, and
    under forkserver a child's parent is the fork server, itself below root. A process that is
    gone (or unreadable) is not."""
    seen: set[int] = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        st = stat(pid)
        if st is None:
            return False
        if st.ppid == root:
            return True
        pid = st.ppid
    return False


def alive(pid: int) -> bool:
    """A live process, not a zombie."""
    st = stat(pid)
    return st is not None and st.state != "Z"


def children(pid: int) -> list[int]:
    """The children of every thread of pid."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(k) for k in f.read().split())
        except (OSError, ValueError):
            continue
    return found


def descendants(root: int, known: Container[int] = ()) -> dict[int, str]:
    """Every live descendant of root and its command line; a `known` one is looked through
    (its descendants are found) but not returned, and its command line is not read."""
    found: dict[int, str] = {}
    seen: set[int] = set()
    todo = [root]
    while todo:
        for kid in children(todo.pop()):
            if kid in seen:
                continue
            if kid in known:
                seen.add(kid)
                todo.append(kid)
                continue
            line = cmdline(kid)
            if line is not None:
                seen.add(kid)
                found[kid] = line
                todo.append(kid)
    return found


def group_members(pgid: int) -> dict[int, str]:
    """Every live process of a process group and its command line."""
    found: dict[int, str] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = stat(int(name))
            if st is not None and st.pgid == pgid and st.state != "Z":
                line = cmdline(int(name))
                if line is not None:
                    found[int(name)] = line
    return found


def age(pid: int) -> float | None:
    """Seconds since the process started (to the kernel's clock tick)."""
    st = stat(pid)
    if st is None:
        return None
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME) - st.start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
