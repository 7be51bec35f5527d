"""`python -m scenarios`: run one scenario in real processes and write its events as JSON lines.

The runner forks once, at start, into two processes:

- the *scenario's parent*: a fresh, single-threaded interpreter that runs the
  scenario's parent() and starts its children with the chosen start method;
- the *supervisor* (this process, role ``runner``): it reads every process's
  events, stdout and stderr over Unix sockets, writes the merged stream,
  enforces the deadline, takes the stacks of stuck processes, kills what is
  left, and finally checks the findings.

The split keeps the scenario's processes free of extra threads while still
capturing what they print at the file-descriptor level (a Queue feeder
thread's traceback, a resource tracker warning). The supervisor is made a
child subreaper, so every process of the run that loses its parent becomes its
child: it can reap them, learn how they ended, and know when none is left.

The supervisor's parts, one module each, around the shared run data (`core`):
`parent` (the forked scenario parent), `streams` (the connections: hello, event
lines, output), `gate` (who may speak: peer credentials, the run's secret),
`writer` (the stream out, which never waits for its reader), `control` (step and
stop on stdin), `helpers` (naming the interpreter's own processes), `reaping`
(reaping, the kill ladder, what is left behind), `shm` (which /dev/shm entries are the
run's: those its processes held), `stacks` (the stacks of stuck
processes at the deadline). This module runs them: `Supervisor.run()` forks,
`supervise()` is the loop, one dispatcher per file descriptor (the output too,
while lines wait for the reader).
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import sys
import time
from types import ModuleType

from scenarios.engine import probe
from scenarios.engine.argv import check_control_input, parse_argv
from scenarios.engine.knobs import Config, ConfigError, default_start_method
from scenarios.engine.protocol import Error, FindingEvent, RunEnd, RunStart
from scenarios.engine.state import source_of
from scenarios.engine.supervisor.control import Control
from scenarios.engine.supervisor.core import Core
from scenarios.engine.supervisor.helpers import Helpers
from scenarios.engine.supervisor.parent import be_parent, become_subreaper, format_exc
from scenarios.engine.supervisor.reaping import GRACE, Reaper, check_shm, has_children
from scenarios.engine.supervisor.streams import QUIET, Streams
from scenarios.engine.supervisor.writer import FLUSH_LIMIT

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Supervisor", "main", "usage"]


def interpreter() -> dict[str, Any]:
    uname = os.uname()
    return {
        "python": "{}.{}.{}".format(*sys.version_info[:3]),
        "implementation": sys.implementation.name,
        "platform": f"{uname.sysname}-{uname.release}-{uname.machine}",
        "system": uname.sysname,
        "default_start_method": default_start_method(),
        "cpu_count": os.cpu_count(),
        "executable": sys.executable,
    }


class Supervisor(Core):
    """The runner's side of one run: the shared run data (Core) and the parts that act on it."""

    def __init__(self, cfg: Config, control: bool = False, out_fd: int = 1,
                 module: ModuleType | None = None) -> None:
        super().__init__(cfg, out_fd, module)
        self.control_input = control  # read commands on stdin (also with --step)
        self.address = f"\0statelab-{os.getpid()}-{os.urandom(8).hex()}"
        self.helpers = Helpers(self)
        self.streams = Streams(self, self.helpers)
        self.control = Control(self)
        self.reaper = Reaper(self, self.streams, self.helpers)

    def run(self) -> int:
        info = interpreter()
        self.emit(RunStart,
                  f"{self.cfg.scenario} under {self.cfg.start_method} on Python {info['python']} "
                  f"({info['system']}), timeout {self.cfg.timeout:g} s" + paced(self.cfg.pace),
                  data={"config": self.cfg.to_json(), "interpreter": info, "runner": os.getpid(),
                        "t0_monotonic": self.t0,
                        "claims_from": source_of(self.cfg.scenario, self.module.spec.from_lesson)})
        become_subreaper()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.address)
        listener.listen(512)
        listener.setblocking(False)
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        self.wake_fd = wake_r
        # a process holds at its checkpoints for a step or for the pace alike: the runner lets
        # it go, on a step or when its pace is over
        link = probe.Link(self.address, self.t0, self.cfg.holds, self.secret)

        pid = os.fork()
        if pid == 0:
            listener.close()
            os.close(wake_r)
            os.close(wake_w)
            if self.writer.how == "reopened":  # the stream's write end is the runner's alone
                os.close(self.writer.fd)
            be_parent(self.cfg, self.module, link)
        self.parent_pid = pid
        self.roles[pid] = "parent"
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child already did it, or already ended

        old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        signal.set_wakeup_fd(wake_w)
        for sig in old:
            signal.signal(sig, self.on_signal)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake select through wake_w
        try:
            return self.supervise(listener)
        finally:
            signal.set_wakeup_fd(-1)
            for sig, handler in old.items():
                signal.signal(sig, handler)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            listener.close()
            os.close(wake_r)
            os.close(wake_w)

    def on_signal(self, signum: int, frame: object) -> None:
        self.stop_reason = self.stop_reason or f"the runner got {signal.Signals(signum).name}"

    def supervise(self, listener: socket.socket) -> int:
        """The loop: read what the processes send, reap them, and end the run when the parent
        has ended and everything else with it, or at the deadline, or when stopped."""
        sel = selectors.DefaultSelector()
        sel.register(listener, selectors.EVENT_READ, "accept")
        sel.register(self.wake_fd, selectors.EVENT_READ, "wake")
        if self.control_input or self.cfg.step:
            try:
                sel.register(0, selectors.EVENT_READ, "control")
            except (ValueError, OSError):
                pass
        self.sel = sel
        self.watch_output(sel)  # from now on the loop writes what the reader did not take
        drain_until: float | None = None
        while True:
            now = time.monotonic()
            wait = 0.5
            if drain_until is None:
                wait = min(wait, max(0.0, self.effective_deadline() - now))
            else:
                wait = min(wait, max(0.0, drain_until - now))
            if self.streams.output_pending():
                wait = min(wait, QUIET)
            pace = self.control.pace_wait()
            if pace is not None:
                wait = min(wait, pace)
            for key, _ in sel.select(wait):
                self.handle(key, listener)
            self.control.release_due()
            self.streams.flush_partial()
            self.reaper.reap()
            now = time.monotonic()
            if now - self.helpers.last_scan > 0.25:  # a helper may be started late, by a child
                self.helpers.scan(force=True)
            if self.stop_reason:
                self.emit(Error, f"run stopped: {self.stop_reason}", data={"reason": self.stop_reason})
                self.reaper.kill_all()
                break
            if drain_until is None and self.parent_status is not None:
                drain_until = now + GRACE
            if drain_until is None and now >= self.effective_deadline():
                from scenarios.engine.supervisor.stacks import on_timeout  # only a timeout needs it

                on_timeout(self, self.streams, self.reaper)
                break
            if drain_until is not None:
                # a child may have connected, written and ended after the last select: take
                # what waits in the listener's backlog before calling the run drained
                self.streams.accept(listener)
                if not has_children() and not self.streams.conns:
                    break
                if now >= drain_until:
                    self.reaper.report_left_behind()
                    self.reaper.kill_all()
                    break
        self.streams.finish_output()
        self.watch_output(None)
        sel.close()
        check_shm(self)
        if self.left_out:  # the reader is still behind: say so before the end
            self.report_left_out()
        self.report_findings()
        status = self.state.status  # stopped and timeout come from the errors reported above
        self.emit(RunEnd, f"run ended: {status} after {self.now():.2f} s",
                  data={"seconds": self.now()}, status=status)
        # the deadline is over: wait for the reader now, but not for ever
        self.finish_writing(FLUSH_LIMIT)
        return 0 if status == "ok" else 1

    def handle(self, key: selectors.SelectorKey, listener: socket.socket) -> None:
        if key.data == "accept":
            self.streams.accept(listener)
        elif key.data == "wake":
            self.drain_wake()
        elif key.data == "control":
            self.control.read()
        elif key.data == "out":
            self.flush_output()
        else:
            self.streams.read_conn(self.streams.conns[key.fd])

    def report_findings(self) -> None:
        try:
            found = self.module.findings(self.state)
        except Exception as exc:
            self.emit(Error, f"the findings could not be checked: {type(exc).__name__}: {exc}",
                      data={"traceback": format_exc()})
            return
        source = self.state.source
        for f in found:
            self.emit(FindingEvent, f"{f.claim}: {f.summary(source)}", data=f.data or None,
                      id=f.id, claim=f.claim, holds=f.holds, lesson=f.lesson, evidence=f.evidence)


def paced(pace: float | None) -> str:
    """How run-start's sentence says the run is paced ("" if it is not)."""
    return "" if pace is None else f", paced: {pace:g} s at each checkpoint"


def main(argv: list[str] | None = None, module: ModuleType | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        cfg, flags = parse_argv(args)
        if cfg.step or flags["control"]:
            check_control_input()
    except ConfigError as e:
        print(f"statelab: {e}", file=sys.stderr)
        return 2
    try:
        return Supervisor(cfg, control=flags["control"], module=module).run()
    except KeyboardInterrupt:
        return 130
