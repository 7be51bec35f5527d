"""The processes the interpreter starts for itself (resource tracker, fork server): found
among the supervisor's descendants, named by their command line and their place in the run,
reported as started, and credited with what they print.

A command line alone does not name a helper: every child the fork server forks carries the
fork server's command line (it is forked, not started afresh). So:

- the *fork server* is a process whose command line names it and whose parent is the
  scenario's parent, which starts it, or which the run's own processes name as their parent
  (it may be orphaned before a scan sees it). A forkserver child's parent is the fork server,
  once that is gone, the runner: neither is the scenario's parent, and a child is nobody's
  parent;
- a *resource tracker* is a process whose command line names it (no scenario process can
  carry it: they are forked from the parent, the fork server or each other, or spawned). One
  the scenario's parent started is named at once. One a child started is announced by that
  child (probe.trackers_started: it knows the pid, and the tracker may live too briefly for a
  scan to see it), so a scan only remembers it; if it is still unnamed when the runner reaps
  it (its starter died without a word), it is named then, from what the scan saw.

A process that announces itself (a scenario process) is never named here: it is in `roles`
from its hello on, and RunState keeps the role a process gave itself (state.py).
"""

from __future__ import annotations

import os
import time

from scenarios.engine import procfs
from scenarios.engine.protocol import ProcessStart

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

if TYPE_CHECKING:
    from scenarios.engine.supervisor.core import Core

HELPERS = (("resource_tracker", "resource-tracker"), ("forkserver", "forkserver"))
TRACKER, FORKSERVER = "resource-tracker", "forkserver"


def helper_role(cmdline: str) -> str | None:
    """The helper a command line names (a process forked from a helper carries it too)."""
    for marker, role in HELPERS:
        if f"multiprocessing.{marker}" in cmdline or f"{marker} import main" in cmdline:
            return role
    return None


class Seen:
    """A helper a scan saw but did not name yet: what it will be named with."""

    __slots__ = ("cmdline", "ppid", "role", "started")

    def __init__(self, role: str, started: float, ppid: int, cmdline: str) -> None:
        self.role = role
        self.started = started
        self.ppid = ppid
        self.cmdline = cmdline


class Helpers:
    """Finds and names the interpreter's helpers among the run's processes."""

    def __init__(self, sup: Core) -> None:
        self.sup = sup
        self.last_scan = time.monotonic()  # at the start there is nothing to find yet
        self.seen: dict[int, Seen] = {}  # helpers by command line, at first sight

    def scan(self, force: bool) -> None:
        """Name the processes the interpreter started for itself (resource tracker, fork server)."""
        sup = self.sup
        now = time.monotonic()
        if not force and len(sup.roles) > 8 and now - self.last_scan < 0.05:
            return
        self.last_scan = now
        pids = procfs.tree(os.getpid())
        sup.shm.sample(pids)  # what the run's processes hold in /dev/shm (shm.py)
        for pid in pids:
            cmdline = None if pid in sup.roles else procfs.cmdline(pid)  # named: not a helper
            role = None if cmdline is None else helper_role(cmdline)
            if cmdline is None or role is None:
                continue
            ppid = procfs.parent_of(pid) or 0
            seen = self.seen.setdefault(pid, Seen(role, self.started_at(pid), ppid, cmdline[:300]))
            # named at once: a helper the parent started, and the fork server; a tracker another
            # process started waits for that process's word, or for its own end
            if self.is_helper(pid) and (ppid == sup.parent_pid or seen.role == FORKSERVER):
                self.name(pid)

    def started(self, pid: int) -> bool:
        """Has a process-start named pid (its own, a helper's announcement, or a scan's)?"""
        proc = self.sup.state.processes.get(pid)
        return proc is not None and proc.started is not None

    def is_helper(self, pid: int) -> bool:
        """Is a process a scan saw, and nobody named yet, the helper its command line names
        (the module's rules)?"""
        seen, sup = self.seen.get(pid), self.sup
        if seen is None or self.started(pid) or sup.roles.get(pid, seen.role) != seen.role:
            return False  # named already, or it said hello as something else
        if seen.role == TRACKER:
            return True
        return seen.ppid == sup.parent_pid != 0 or pid in self.parents_named()

    def parents_named(self) -> set[int]:
        """The parents the run's processes named in their own process-start: under forkserver,
        a child's parent is the fork server."""
        return {p.ppid for p in self.sup.state.processes.values() if p.own and p.ppid}

    def name(self, pid: int) -> None:
        """Report a helper a scan saw as started (once)."""
        seen = self.seen.get(pid)
        if seen is None or self.started(pid):
            return
        self.sup.send(ProcessStart(seen.started, pid, seen.role, f"{seen.role} started: pid {pid}",
                                   {"helper": True, "ppid": seen.ppid, "cmdline": seen.cmdline}))

    def name_at_exit(self, pid: int) -> None:
        """A process has ended, and the runner is about to reap it: if nobody named it, name it
        now when a scan saw it as a helper, or when the run's processes named it as their
        parent (the fork server: a busy runner may not have seen it alive)."""
        if self.started(pid):
            return
        if pid not in self.seen and pid not in self.sup.roles and pid in self.parents_named():
            self.seen[pid] = Seen(FORKSERVER, self.started_at(pid), procfs.parent_of(pid) or 0, "")
        if self.is_helper(pid):
            self.name(pid)

    def tracker_of(self, writer: int) -> int | None:
        """The resource tracker that wrote on `writer`'s stream. A tracker writes its warnings
        on the stderr it inherited from the process that started it, so it is the tracker that
        process started, never another's (the parent's tracker writes on the parent's stream):
        the one it announced, or one a scan saw it start (named when the writer announces it,
        or when it ends). None if none is known."""
        for scan in (False, True):
            if scan:
                self.scan(force=True)  # it may be one we have not met yet
            named = [p for p, proc in self.sup.state.processes.items()
                     if proc.role == TRACKER and proc.helper and proc.ppid == writer]
            seen = [p for p, s in self.seen.items()
                    if s.role == TRACKER and s.ppid == writer and self.is_helper(p)]
            if named or seen:
                return (named or seen)[-1]
        return None

    def started_at(self, pid: int) -> float:
        """When a process started, on the run's clock: found after the fact, a helper still
        gets its real place in time (to the kernel's 10 ms tick)."""
        age = procfs.age(pid)
        now = self.sup.now
        if age is None:
            return now()
        return round(min(now(), max(0.0, now() - age)), 6)
