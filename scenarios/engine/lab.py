"""The parent's side of a run: the chosen context, the knobs, and children that report back."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from scenarios.engine import probe, procfs
from scenarios.engine.knobs import Config

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from typing import Any


def exit_text(exitcode: int | None) -> tuple[str, dict[str, Any]]:
    """How a process ended, in words and as data."""
    if exitcode is None:
        return "is still running", {"exitcode": None}
    if exitcode < 0:
        name = signal.Signals(-exitcode).name
        return f"was killed by {name}", {"exitcode": exitcode, "signal": name}
    return f"exited with code {exitcode}", {"exitcode": exitcode}


class Lab:
    """Handed to a scenario's parent(): everything it needs, nothing it must not touch."""

    def __init__(self, cfg: Config, link: probe.Link) -> None:
        self.cfg = cfg
        self.link = link
        self.ctx: BaseContext = multiprocessing.get_context(cfg.start_method)
        self.deadline = link.t0 + cfg.timeout
        self._children: list[tuple[BaseProcess, str]] = []
        self._reported: set[int] = set()

    def lock(self) -> Any:
        """The `lock=` argument the lock mode asks for."""
        mode = self.cfg.lock
        if mode in ("true", "false"):
            return mode == "true"
        return self.ctx.Lock() if mode == "lock" else self.ctx.RLock()

    def start(self, target: Callable[..., Any], *args: Any, role: str | None = None) -> BaseProcess:
        """Start target(*args) in a new process of the chosen start method."""
        if role is None:
            n = len(self._children) + 1
            role = "child" if n == 1 else f"child-{n}"
        process = self.ctx.Process(  # type: ignore[attr-defined]
            target=probe.bootstrap, args=(self.link, role, target, args), name=role
        )
        process.start()
        self._children.append((process, role))
        return process  # type: ignore[no-any-return]

    def remaining(self) -> float:
        """Seconds before the run's deadline (the whole timeout in step mode, where the user's
        pauses move the deadline)."""
        if self.cfg.step:
            return self.cfg.timeout
        return max(0.0, self.deadline - time.monotonic())

    def join(self, process: BaseProcess) -> int | None:
        """Wait for a child (never past the run's deadline) and report how it ended."""
        # the runner's own deadline comes first, so it can take the stacks of stuck processes
        process.join(self.remaining() + 5.0)
        role = next((r for p, r in self._children if p is process), process.name)
        if process.pid is not None and process.pid not in self._reported and process.exitcode is not None:
            self._reported.add(process.pid)
            words, data = exit_text(process.exitcode)
            probe.emit("process-exit", f"{role} {words}", pid=process.pid, role=role,
                       data={**data, "reported_by": os.getpid()})
        return process.exitcode

    def finish(self) -> None:
        """Join every child the scenario did not join itself."""
        for process, _ in self._children:
            self.join(process)

    # -- a manager's server process: a process of this run, reported under role "manager" --

    def announce_manager(self, manager: Any) -> int:
        """Report the server process a manager started (Manager(), or BaseManager.start());
        returns its pid, 0 if it has none."""
        # BaseManager keeps the server's Process in the private attribute _process: there is
        # no public way to learn its pid
        process = getattr(manager, "_process", None)
        pid = int(process.pid) if process is not None and process.pid else 0
        if pid:
            ppid = procfs.parent_of(pid)
            probe.emit("process-start", f"manager server started: pid {pid}, parent {ppid}",
                       pid=pid, role="manager", data={"helper": True, "ppid": ppid})
        return pid

    def manager_ended(self, manager: Any) -> None:
        """After shutdown(): report how the manager's server process ended."""
        process = getattr(manager, "_process", None)
        if process is not None and process.pid:
            words, data = exit_text(process.exitcode)
            probe.emit("process-exit", f"manager server {words}", pid=process.pid, role="manager",
                       data={**data, "reported_by": os.getpid()})
