"""The processes the interpreter starts for itself (resource tracker, fork server): found
among the supervisor's descendants, named by their command line, and reported as started."""

from __future__ import annotations

import os
import time

from scenarios.engine import procfs
from scenarios.engine.protocol import ProcessStart

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

if TYPE_CHECKING:
    from scenarios.engine.supervisor.core import Core

HELPERS = (("resource_tracker", "resource-tracker"), ("forkserver", "forkserver"))


def helper_role(cmdline: str) -> str | None:
    for marker, role in HELPERS:
        if f"multiprocessing.{marker}" in cmdline or f"{marker} import main" in cmdline:
            return role
    return None


class Helpers:
    """Finds and names the interpreter's helpers among the run's processes."""

    def __init__(self, sup: Core) -> None:
        self.sup = sup
        self.last_scan = time.monotonic()  # at the start there is nothing to find yet

    def scan(self, force: bool) -> None:
        """Name the processes the interpreter started for itself (resource tracker, fork server)."""
        sup = self.sup
        now = time.monotonic()
        if not force and len(sup.roles) > 8 and now - self.last_scan < 0.05:
            return
        self.last_scan = now
        for pid, cmdline in procfs.descendants(os.getpid(), known=sup.roles).items():
            role = helper_role(cmdline)
            if role:
                sup.send(ProcessStart(self.started_at(pid), pid, role, f"{role} started: pid {pid}",
                                      {"helper": True, "ppid": procfs.parent_of(pid) or 0,
                                       "cmdline": cmdline[:300]}))

    def started_by(self, pid: int) -> int | None:
        """The process that started a helper, as its process-start said."""
        proc = self.sup.state.processes.get(pid)
        return proc.ppid if proc is not None and proc.helper else None

    def started_at(self, pid: int) -> float:
        """When a process started, on the run's clock: found after the fact, a helper still
        gets its real place in time (to the kernel's 10 ms tick)."""
        age = procfs.age(pid)
        now = self.sup.now
        if age is None:
            return now()
        return round(min(now(), max(0.0, now() - age)), 6)
