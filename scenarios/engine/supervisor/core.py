"""What every part of the supervisor shares: the run's settings, its one model (a RunState),
the processes it knows, the run's clock, and the one writer of the merged event stream.

`Supervisor` (in `__init__`) is a `Core`; its parts (streams, control, reaping, stacks,
helpers) are handed the supervisor and read and write the run through this class only.

The writer never waits for whoever reads the stream (the app drawing, a terminal): the
deadline measures the scenario, not the reader. Lines go into a queue, written as far as the
reader takes them, the rest when the select loop sees the output writable. Past QUEUE_LIMIT
bytes waiting, output and observe events are left out of the stream (never the others), and
one output event of the runner's says how many, once the queue has drained. The RunState
still folds every event: the findings are computed from all of them.
"""

from __future__ import annotations

import os
import selectors
import socket
import time
from types import ModuleType

from scenarios.engine import catalog
from scenarios.engine.knobs import Config
from scenarios.engine.protocol import Checkpoint, Event, Observe, Output
from scenarios.engine.state import RunState
from scenarios.engine.supervisor.shm import ShmWatch
from scenarios.engine.supervisor.writer import Writer

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from typing import Any


class Core:
    """One run as the supervisor's parts see it."""

    sel: selectors.BaseSelector  # made in Supervisor.supervise(), after the fork
    wake_fd: int  # the read end of the pipe signals write to (SIGCHLD wakes the select)

    def __init__(self, cfg: Config, out_fd: int, module: ModuleType | None) -> None:
        self.cfg = cfg
        self.out_fd = out_fd
        self.t0 = time.monotonic()
        self.module = catalog.Module(module) if module else catalog.load(self.cfg.scenario)
        self.state = RunState()  # the one model of this run; findings() reads it
        self.roles: dict[int, str] = {}  # every process we know of, named before its first event
        self.talking: set[int] = set()  # processes that installed the probe (can give a stack)
        self.stop_reason: str | None = None
        self.parent_pid = 0
        self.parent_status: int | None = None
        self.secret = os.urandom(16).hex()  # every connection presents it in its hello
        self.writer = Writer(out_fd)
        self.out_sel: selectors.BaseSelector | None = None  # the loop's, while it runs
        self.out_watched = False
        self.left_out: dict[str, int] = {}  # kind -> events left out since the last report
        self.left_since = 0.0
        # the run's clock: a pause (for a step, or the pace) moves the deadline on by its length
        self.deadline = self.t0 + self.cfg.timeout
        self.paused_since: float | None = None
        # which processes are held is the RunState's to say; the supervisor adds only what
        # the events cannot tell: whom it can still answer, and whom a step already let go
        self.answer_to: dict[int, socket.socket] = {}  # pid -> its events socket, while open
        self.let_go: set[int] = set()  # held processes a step released, until they speak again
        # with --pace: pid -> when its hold at a checkpoint is over (time.monotonic()); the
        # select loop lets it go then (control.Control.release_due), by its own timeout
        self.pace_until: dict[int, float] = {}
        self.shm = ShmWatch()  # what the run's processes hold in /dev/shm: what it may leave

    # -- writing events ---------------------------------------------------------------------

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 6)

    def write(self, line: bytes, kind: str | None = None) -> None:
        """Queue one line of the stream; `kind` names an event that may be left out (output,
        observe) when too much waits for the reader."""
        if self.left_out and self.writer.drained():
            self.report_left_out()
        if not self.writer.write(line, droppable=kind is not None):
            if not self.left_out:
                self.left_since = self.now()
            self.left_out[str(kind)] = self.left_out.get(str(kind), 0) + 1
        self.after_writing()

    def flush_output(self) -> None:
        """The output is writable (the select loop says): write what it takes, and once the
        queue has drained, say what was left out."""
        self.writer.flush()
        if self.left_out and self.writer.drained():
            self.report_left_out()
        else:
            self.after_writing()

    def after_writing(self) -> None:
        writer = self.writer
        if writer.broken:  # whoever read us is gone: stop the run
            self.stop_reason = self.stop_reason or "the reader of the events went away"
        want = bool(writer.queue) and not writer.broken and self.out_sel is not None
        if want == self.out_watched or self.out_sel is None:
            return
        if want:
            try:
                self.out_sel.register(writer.fd, selectors.EVENT_WRITE, "out")
            except (OSError, ValueError):  # an output select cannot wait on: write it blocking
                writer.flush(wait=None)
                return
        else:
            self.out_sel.unregister(writer.fd)
        self.out_watched = want

    def watch_output(self, sel: selectors.BaseSelector | None) -> None:
        """Let the loop's selector wait for the output to be writable (None: the loop is over)."""
        if self.out_sel is not None and self.out_watched:
            self.out_sel.unregister(self.writer.fd)
        self.out_sel, self.out_watched = sel, False
        self.after_writing()

    def report_left_out(self) -> None:
        counts, self.left_out = self.left_out, {}
        events, size = self.writer.forget_left_out()
        kinds = " and ".join(f"{n} {kind}" for kind, n in counts.items())
        self.emit(Output, f"the reader of this stream was slow: {kinds} event(s) ({size} bytes) "
                  f"from {self.left_since:.2f} s to {self.now():.2f} s were left out of it "
                  "(the runner saw them; its findings count them)",
                  data={"stream": "runner",
                        "left_out": {"events": events, "bytes": size, "kinds": counts,
                                     "from": self.left_since, "to": self.now()}})

    def finish_writing(self, limit: float) -> bool:
        """At the end of the run: write everything still queued, waiting for the reader up to
        `limit` seconds in all. False if it gave up."""
        self.watch_output(None)
        done = self.writer.flush(wait=limit)
        self.writer.close()
        return done

    def emit(self, cls: type[Event], text: str, *, pid: int | None = None, role: str = "runner",
             data: dict[str, Any] | None = None, **fields: Any) -> None:
        """Write one event of the runner's own (or one it reports for a process: pid, role);
        `fields` are the kind's own top-level fields (a finding's, run-end's status)."""
        self.send(cls(self.now(), pid or os.getpid(), role, text, data, **fields))

    def send(self, event: Event) -> None:
        """Fold one event of the runner's own into the run's state and write it."""
        self.take(event)
        self.write(event.encode(), droppable(event))

    def forward(self, event: Event, line: bytes) -> None:
        """Fold one event a process sent (already checked) and write its line as it came; a
        checkpoint held for the pace also says how long (data.pace, in seconds)."""
        if self.cfg.pace is not None and isinstance(event, Checkpoint) and event.hold:
            event.data["pace"] = self.cfg.pace
            line = event.encode().rstrip(b"\n")
        self.take(event)
        self.write(line + b"\n", droppable(event))

    def take(self, event: Event) -> None:
        """Fold one event, the runner's or a process's, into the run's state."""
        self.state.apply(event)
        self.roles.setdefault(event.pid, event.role)
        if not isinstance(event, Output):  # it said something else: it went on (RunState's rule)
            self.let_go.discard(event.pid)
            self.pace_until.pop(event.pid, None)
        if self.cfg.pace is not None and isinstance(event, Checkpoint) and event.hold:
            self.pace_until[event.pid] = time.monotonic() + self.cfg.pace
        if self.paused_since is not None or (isinstance(event, Checkpoint) and event.hold):
            self.update_pause()

    def drain_wake(self) -> None:
        """Empty the pipe signals write to, so that select waits again."""
        try:
            while os.read(self.wake_fd, 512):
                pass
        except BlockingIOError:
            pass

    def exited(self, pid: int) -> bool:
        proc = self.state.processes.get(pid)
        return proc is not None and proc.ended

    # -- the clock --------------------------------------------------------------------------

    def waiting(self) -> list[int]:
        """The processes held at a checkpoint (as the RunState says) that no step (nor the pace)
        has let go yet and that can still hear one (their events connection is open). Only in
        step mode or with a pace: a hold claimed in a run that does neither is nobody's to
        release, and the deadline goes on."""
        if not self.cfg.holds:
            return []
        return [pid for pid in self.state.held if pid in self.answer_to and pid not in self.let_go]

    def update_pause(self) -> None:
        """The run is paused while a process waits for a step or for its pace; when none waits
        any more, the deadline moves on by the time the pause took (a paced run never times
        out because of its pace)."""
        if self.waiting():
            if self.paused_since is None:
                self.paused_since = time.monotonic()
        elif self.paused_since is not None:
            self.deadline += time.monotonic() - self.paused_since
            self.paused_since = None

    def effective_deadline(self) -> float:
        if self.paused_since is not None:  # a paused run is waiting for the user, not stuck
            return max(self.deadline, time.monotonic() + 0.5)
        return self.deadline


def droppable(event: Event) -> str | None:
    """The kind of an event the stream may leave out for a slow reader: a process's output or
    observation. Never the runner's own, nor a start, exit, checkpoint, error or finding."""
    if isinstance(event, (Output, Observe)) and event.role != "runner":
        return event.kind
    return None
