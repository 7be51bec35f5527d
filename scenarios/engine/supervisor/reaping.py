"""How the run's processes end: reaping every one (the supervisor is their subreaper), the
kill ladder on the way out, and what a run leaves behind (processes, /dev/shm entries: which
are the run's is shm.py's to say)."""

from __future__ import annotations

import errno
import os
import signal
import time
from collections.abc import Callable

from scenarios.engine import procfs
from scenarios.engine.children import exit_text
from scenarios.engine.protocol import Error, Output, ProcessExit
from scenarios.engine.state import REAPED
from scenarios.engine.supervisor.helpers import helper_role

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

if TYPE_CHECKING:
    from scenarios.engine.supervisor.core import Core
    from scenarios.engine.supervisor.helpers import Helpers
    from scenarios.engine.supervisor.streams import Streams

GRACE = 2.0  # seconds the run's processes get to end by themselves after the parent ends
TERM_GRACE = 2.0  # seconds between SIGTERM and SIGKILL (a loaded machine needs them to clean up)


def has_children() -> bool:
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


class Reaper:
    def __init__(self, sup: Core, streams: Streams, helpers: Helpers) -> None:
        self.sup = sup
        self.streams = streams
        self.helpers = helpers

    def reap(self) -> None:
        """Collect every child that ended: the parent, and orphans handed to us as subreaper."""
        sup = self.sup
        while True:
            try:  # look first, reap after: /proc keeps an unreaped process's start time
                ended = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if ended is None or ended.si_pid == 0:
                return
            self.streams.pump()  # what the process said before it ended comes before its end
            self.helpers.name_at_exit(ended.si_pid)  # a helper nobody named yet
            pid, status = os.waitpid(ended.si_pid, os.WNOHANG)
            if pid == 0:
                continue
            code = os.waitstatus_to_exitcode(status)
            sup.shm.sample(procfs.tree(os.getpid()))  # a process ended: what the others hold
            if pid == sup.parent_pid:
                sup.parent_status = code
                self.helpers.scan(force=True)
            # the kernel's answer, to the one process that reaped it: reported unless the
            # same answer is already in (state.py: one exit per process); it replaces a relay
            # (under forkserver a relayed 255 was multiprocessing's guess: we reaped the child)
            if not sup.state.exit_known(pid):
                role = sup.roles.get(pid, "unknown")
                words, data = exit_text(code)
                sup.emit(ProcessExit, f"{role} {words}", pid=pid, role=role,
                         data={**data, "via": REAPED, "reported_by": os.getpid()})

    def report_left_behind(self) -> None:
        sup = self.sup
        left = {p: sup.roles.get(p, "unknown") for p in procfs.group_members(sup.parent_pid)}
        if left:
            sup.emit(Error, f"{len(left)} process(es) still running {GRACE:g} s after the "
                     f"parent ended: {', '.join(f'{r} {p}' for p, r in left.items())}; killing them",
                     data={"left": [{"pid": p, "role": r} for p, r in left.items()]})

    def kill_all(self) -> None:
        """End every process of the run: the parent first (it ends its children and cleans up
        what multiprocessing registered), then SIGTERM and SIGKILL to whatever is left."""
        sup = self.sup
        self.helpers.scan(force=True)
        steps: tuple[tuple[Callable[[], None], float], ...] = (
                 (lambda: os.kill(sup.parent_pid, signal.SIGTERM), TERM_GRACE),
                 (lambda: os.killpg(sup.parent_pid, signal.SIGTERM), TERM_GRACE / 2),
                 # the resource tracker ignores SIGTERM and, once everyone else is gone, removes
                 # what they left in /dev/shm: give it that chance before the last resort
                 (lambda: self.kill_all_but_tracker(signal.SIGKILL), 2.0),
                 (lambda: os.killpg(sup.parent_pid, signal.SIGKILL), 2.0))
        for send, grace in steps:
            try:
                send()
            except OSError as e:
                if e.errno != errno.ESRCH:
                    raise
            until = time.monotonic() + grace
            while time.monotonic() < until:
                self.reap()
                if not has_children() and not procfs.group_members(sup.parent_pid):
                    return
                # drain sockets so nobody blocks writing, and so the last words are kept
                self.streams.read_for(0.02)

    def kill_all_but_tracker(self, sig: int) -> None:
        for pid, cmdline in procfs.group_members(self.sup.parent_pid).items():
            if helper_role(cmdline) != "resource-tracker":
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass


# -- /dev/shm -------------------------------------------------------------------------------

def check_shm(sup: Core) -> None:
    """Report the entries this run left in /dev/shm: made while it ran and held by its own
    processes (shm.py), still there. Another program's entries are not named.

    Nothing is removed: what a run leaves is part of what it shows (multiprocessing's own
    clean-up, or the resource tracker after a kill, removes what a run created)."""
    left = sup.shm.left()
    if left:  # an output of the runner's, not an error: the scenario's processes ran as asked
        one = len(left) == 1
        sup.emit(Output, f"{len(left)} entr{'y' if one else 'ies'} left in /dev/shm by this "
                 f"run (made while it ran, held by its processes, not removed): "
                 f"{', '.join(left)}", data={"stream": "runner", "shm_left": left})
