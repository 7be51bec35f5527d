"""The parent's side of a run: the chosen context, the knobs, and children that report back."""

from __future__ import annotations

import multiprocessing
import os
import select
import time
from collections.abc import Callable
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

from scenarios.engine import probe, procfs
from scenarios.engine.children import child_role, exit_text, lock_argument
from scenarios.engine.knobs import Config

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from typing import Any


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
        return lock_argument(self.cfg.lock, self.ctx)

    def start(self, target: Callable[..., Any], *args: Any, role: str | None = None) -> BaseProcess:
        """Start target(*args) in a new process of the chosen start method."""
        if role is None:
            role = child_role(len(self._children) + 1)
        process = self.ctx.Process(  # type: ignore[attr-defined]
            # procfs.memory goes by reference (spawn pickles its name): the child reads its own
            # memory with it when it starts, at each checkpoint and as it ends
            target=probe.bootstrap, args=(self.link, role, target, args, procfs.memory),
            name=role,
        )
        process.start()
        self._children.append((process, role))
        return process  # type: ignore[no-any-return]

    def started(self) -> list[BaseProcess]:
        """The processes start() started, in order (not a manager's server: its manager ends it)."""
        return [process for process, _ in self._children]

    def remaining(self) -> float:
        """Seconds before the run's deadline (the whole timeout in step mode or with a pace,
        where the pauses move the runner's deadline on and this process cannot see by how
        much)."""
        if self.cfg.holds:
            return self.cfg.timeout
        return max(0.0, self.deadline - time.monotonic())

    def limit(self) -> float | None:
        """How long the lab's own waits for a process to end may last: a little past the
        deadline, so the runner's comes first and takes the stacks of stuck processes. None (no
        limit) in step mode or with a pace: a held child may be held longer than any bound
        here, and giving up early would change what the parent observes; the runner's
        deadline, which the pauses move on, still ends a run that is stuck."""
        if self.cfg.holds:
            return None
        return self.remaining() + 5.0

    def join(self, process: BaseProcess) -> int | None:
        """Wait for a child (never past the run's deadline) and report how it ended.

        Returns its exit code (negative: the signal), or None when the parent cannot know it:
        still running at the deadline, or under forkserver once the fork server is gone (then
        the child has been waited for all the same, and the runner reports its exit)."""
        # the sentinel is readable once the child has ended: waiting on it here, and joining
        # only then, spares the parent importing multiprocessing.connection (about 3 ms of a
        # 100 ms run), which join(timeout) needs
        try:
            ended = bool(select.select([process.sentinel], [], [], self.limit())[0])
        except (ValueError, OSError):  # closed: the scenario joined and closed it itself
            ended = True
        if ended:
            process.join()
        role = next((r for p, r in self._children if p is process), process.name)
        return self._report(process, role, role)

    def _report(self, process: BaseProcess, role: str, name: str) -> int | None:
        """Report the exit of a process this parent started, once, if what multiprocessing
        says is the kernel's answer (state.py: one exit per process)."""
        code, pid = process.exitcode, process.pid
        if code is None or pid is None:
            return None
        via = "forkserver" if self.ctx.get_start_method() == "forkserver" else "waitpid"
        if via == "forkserver" and code == 255 and made_up(pid):
            # multiprocessing's guess: the fork server, which reaps the children and writes
            # each one's status to the parent, is gone, and poll() makes up 255. The child is
            # an orphan of the runner (the subreaper), which reaps it and reports its real exit
            # when it happened; here, wait for that end, so that join() still means it ended
            wait_gone(pid, self.limit())
            return None
        if pid not in self._reported:
            self._reported.add(pid)
            words, data = exit_text(code)
            probe.emit("process-exit", f"{name} {words}", pid=pid, role=role,
                       data={**data, "via": via, "reported_by": os.getpid()})
        return code

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
        """After shutdown(): report how the manager's server process ended (if the parent
        can know: as for a child, see join())."""
        process = getattr(manager, "_process", None)
        if process is not None and process.pid:
            self._report(process, "manager", "manager server")


def made_up(pid: int) -> bool:
    """Under forkserver, was a child's exit code 255 made up by multiprocessing because the
    fork server was gone (EOF on the child's sentinel), rather than relayed by it?

    The fork server writes a status only after it has reaped the child: a child that is still
    there (running, or a zombie the runner has not reaped yet) was not reaped by it. A child
    that is gone while the fork server is gone too was reaped by the runner (or, in the
    unlikely case the fork server relayed a real 255 and died right after, is not reported)."""
    if procfs.stat(pid) is not None:
        return True
    from multiprocessing import forkserver

    server = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    return not (isinstance(server, int) and procfs.alive(server))


def wait_gone(pid: int, timeout: float | None) -> bool:
    """Wait until a process that is not (or no longer) our child has ended: a pidfd is
    readable once it has exited. True if it has. `timeout` None: for as long as it takes."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except (AttributeError, OSError):  # no pidfd here (Linux before 5.3): look now and then
        until = None if timeout is None else time.monotonic() + timeout
        while procfs.alive(pid) and (until is None or time.monotonic() < until):
            time.sleep(0.01)
        return not procfs.alive(pid)
    try:
        return bool(select.select([fd], [], [], None if timeout is None else max(0.0, timeout))[0])
    finally:
        os.close(fd)
