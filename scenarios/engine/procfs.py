"""The one reader of /proc: what the kernel says about a process of the run.

Linux only. Every function returns None (or nothing) for a process that is
gone or cannot be read, never raises for it: processes end while we look.
"""

from __future__ import annotations

import os
import time

from scenarios.engine.fields import Fields

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

ROLLUP = "/proc/self/smaps_rollup"
# the lines of smaps_rollup a reading needs, and the word each becomes (USS: clean + dirty)
_ROLLUP = {b"Rss:": "rss", b"Pss:": "pss", b"Private_Clean:": "clean", b"Private_Dirty:": "dirty"}

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


def tree(root: int) -> list[int]:
    """Every descendant of root, as the kernel lists them now (its children first)."""
    found: list[int] = []
    seen: set[int] = set()
    todo = [root]
    while todo:
        for kid in children(todo.pop()):
            if kid not in seen:
                seen.add(kid)
                found.append(kid)
                todo.append(kid)
    return found


def device_of(path: str) -> int | None:
    """The device of the file system at path (/dev/shm's tmpfs), None if there is none."""
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


def held_on(pid: int, dev: int) -> set[int]:
    """The inodes of the files on the device `dev` that pid has mapped (/proc/PID/maps) or
    open (/proc/PID/fd). By inode, not name: a semaphore's creator maps the file glibc made
    under a temporary name (shown as deleted) and then linked as sem.mp-...; a segment may be
    unlinked and its name made again."""
    found: set[int] = set()
    tag = f" {os.major(dev):02x}:{os.minor(dev):02x} ".encode()
    try:
        with open(f"/proc/{pid}/maps", "rb") as f:
            maps = f.read()
    except OSError:
        return found
    if tag in maps:
        for line in maps.split(b"\n"):
            if tag in line:
                fields = line.split(None, 5)  # address, perms, offset, dev, inode, path
                if len(fields) >= 5 and fields[3] == tag.strip() and fields[4].isdigit():
                    found.add(int(fields[4]))
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for fd in fds:
        try:
            st = os.stat(f"/proc/{pid}/fd/{fd}")  # the file the descriptor is open on
        except OSError:
            continue
        if st.st_dev == dev:
            found.add(st.st_ino)
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


def memory(path: str = ROLLUP) -> dict[str, int] | None:
    """A process's RSS, PSS and USS in bytes (USS: the pages only it maps, Private_Clean +
    Private_Dirty), from smaps_rollup (Linux 4.14+): what a scenario process reads of itself
    when it sends an event. None when the file is missing, unreadable or lacks a field: no
    guess. One read of about 1 KB, no regular expression (see test_memory_points for the cost)."""
    try:
        with open(path, "rb", buffering=0) as f:
            text = f.read()
    except OSError:
        return None
    kib: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(b" ")
        key = _ROLLUP.get(name)
        if key is not None:
            value = rest.split()
            if len(value) == 2 and value[0].isdigit() and value[1] == b"kB":
                kib[key] = int(value[0]) * 1024
    if len(kib) != len(_ROLLUP):
        return None
    return {"rss": kib["rss"], "pss": kib["pss"], "uss": kib["clean"] + kib["dirty"]}
