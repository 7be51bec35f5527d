"""What runs inside every scenario process: report observations to the runner.

Nothing here adds a thread or a lock. A process opens its own connections to
the runner (one for events, one each for stdout and stderr, which replace file
descriptors 1 and 2), so its events never interleave with another process's
and whatever it prints, at the Python or the C level, is attributed to it.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import socket
import sys
import time

from scenarios.engine.fields import Fields
from scenarios.engine.protocol import encode, jsonable

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

STACK_SIGNAL = signal.SIGUSR1  # the runner asks a stuck process for its stack with this


class Link(Fields):
    """How a process finds the runner; picklable, so spawn and forkserver children get it too."""

    fields = ("address", "t0", "step", "secret")  # in the constructor's order
    __slots__ = fields

    address: str
    t0: float  # time.monotonic() at run start: CLOCK_MONOTONIC is shared by all processes
    step: bool
    secret: str  # the run's secret: every connection presents it in its hello

    def __repr__(self) -> str:  # a scenario that prints its Link does not print the secret
        return f"Link(address={self.address!r}, t0={self.t0!r}, step={self.step!r}, secret=...)"


_link: Link | None = None
_role = "?"
_events: socket.socket | None = None
_keep: list[socket.socket] = []
# reads this process's memory (procfs.memory, handed in by the lab: probe and procfs do not
# import each other); None: events go without a reading
_measure: Callable[[], dict[str, int] | None] | None = None


def _connect(link: Link, stream: str, role: str) -> socket.socket:
    """One connection to the runner, named by its hello: this process's pid (the runner checks
    it against the kernel's), its role, the stream, and the run's secret."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(link.address)
    hello = {"pid": os.getpid(), "role": role, "stream": stream, "secret": link.secret}
    sock.sendall(json.dumps(hello).encode() + b"\n")
    return sock


def install(link: Link, role: str,
            measure: Callable[[], dict[str, int] | None] | None = None) -> None:
    """Connect this process to the runner and send its stdout and stderr there.

    The events connection comes last, and the process waits for the runner's one-byte answer
    on it: the runner checks each connection's peer (same user, a process of this run) when it
    accepts it, in the order they were made, so all three are checked while this process is
    alive to be checked (one that died first could not be told from an intruder)."""
    global _link, _role, _events, _measure
    for sock in (_events, *_keep):  # inherited from a forking parent: not ours to use
        if sock is not None:
            sock.close()
    _keep.clear()
    _link, _role, _measure = link, role, measure
    for fd, stream in ((1, "stdout"), (2, "stderr")):
        sock = _connect(link, stream, role)
        os.dup2(sock.fileno(), fd)
        _keep.append(sock)
    _events = _connect(link, "events", role)
    try:
        accepted = _events.recv(1)  # b"" if the runner refused us or is gone
    except OSError:
        accepted = b""
    if not accepted:  # go on as the script would, unobserved
        _events.close()
        _events = None
    for f in (sys.stdout, sys.stderr):
        if f is not None and hasattr(f, "reconfigure"):
            f.reconfigure(line_buffering=True)
    faulthandler.register(STACK_SIGNAL, file=sys.stderr, all_threads=True, chain=False)


def role() -> str:
    return _role


def now() -> float:
    return round(time.monotonic() - _link.t0, 6) if _link else 0.0


def emit(kind: str, text: str, *, pid: int | None = None, role: str | None = None,
         **extra: Any) -> None:
    """Send one event; pid and role default to this process (process-exit names another)."""
    global _events
    if _events is None:
        return
    event = {"t": now(), "pid": pid or os.getpid(), "role": role or _role, "kind": kind,
             "text": text, **extra}
    try:
        _events.sendall(encode(event))
    except OSError:  # the runner is gone: go on as the script would, unobserved
        _events = None


def memory() -> dict[str, Any]:
    """{"memory": this process's reading} to add to an event's data, read as the event goes
    (about 0.1 ms: one read of smaps_rollup), or {} when there is none or nobody listens."""
    if _measure is None or _events is None:
        return {}
    reading = _measure()
    return {} if reading is None else {"memory": reading}


def ending() -> None:
    """This process's last reading, just before it ends: the one moment it sends no other
    event (a `memory` event, which no finding reads and the log does not show)."""
    reading = memory()
    if reading:
        mib = {k: f"{v / 1048576:.1f} MiB" for k, v in reading["memory"].items()}
        emit("memory", f"{_role} is ending: RSS {mib['rss']}, PSS {mib['pss']}, USS {mib['uss']}",
             data={**reading, "at": "end"})


def observe(what: str, text: str, **data: Any) -> None:
    """Report something this process saw: `what` is a stable key, `data` the raw values."""
    emit("observe", text, data={"what": what, **{k: jsonable(v) for k, v in data.items()}})


def checkpoint(name: str, text: str) -> None:
    """A point worth pausing at; in step mode, wait here until the runner says go."""
    hold = bool(_link and _link.step)
    emit("checkpoint", text, data={"name": name, "hold": hold, **memory()})  # before holding
    if hold and _events is not None:
        try:
            answer = _events.recv(1)  # b"" if the runner is gone: nobody to wait for
        except OSError:
            answer = b""
        if not answer and _role == "parent":
            # the runner is gone, and its death signal (SIGTERM) is on its way: the kernel
            # closes a dying process's sockets before it signals its children. Going on
            # meanwhile, the parent could be stopped halfway through making a Queue or a Lock,
            # its semaphore made but not yet known to the resource tracker: left in /dev/shm
            signal.raise_signal(signal.SIGTERM)


def error(text: str, **data: Any) -> None:
    emit("error", text, data={k: jsonable(v) for k, v in data.items()})


def process_started(parent_pid: int) -> None:
    emit("process-start", f"{_role} started: pid {os.getpid()}, parent {parent_pid}",
         data={"ppid": parent_pid, "executable": sys.executable, **memory()})


def tracker_pid() -> int | None:
    """The resource tracker this process started or inherited by fork, as multiprocessing keeps
    it (None where it was not started here: a spawned child only has the pipe to its parent's)."""
    module = sys.modules.get("multiprocessing.resource_tracker")  # never imported for this
    pid = getattr(getattr(module, "_resource_tracker", None), "_pid", None)
    return pid if isinstance(pid, int) else None


def trackers_started(before: int | None) -> None:
    """Announce the resource tracker this process started while it ran (under fork, a child
    started before its parent's tracker starts its own). A tracker it started can be short-lived
    (it ends soon after this process), so the runner may never see it in /proc: this process
    knows it for sure, and says so while its tracker is still running."""
    pid = tracker_pid()
    if pid is not None and pid != before:
        emit("process-start", f"resource-tracker started: pid {pid}, parent {os.getpid()} "
             f"({_role})", pid=pid, role="resource-tracker",
             data={"helper": True, "ppid": os.getpid()})


def bootstrap(link: Link, role: str, target: Callable[..., Any], args: tuple[Any, ...],
              measure: Callable[[], dict[str, int] | None] | None = None) -> None:
    """The target of every child Process: connect, announce, run the scenario's function,
    announce the helper it started, if any, and read its memory a last time."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked child must not inherit the parent's
    install(link, role, measure)
    process_started(os.getppid())
    tracker = tracker_pid()  # a forked child inherits its parent's: not one it started
    try:
        target(*args)
    except Exception as exc:
        import traceback

        error(f"{role} raised {type(exc).__name__}: {exc}",
              exception=type(exc).__name__, traceback=traceback.format_exc())
        sys.exit(1)  # the exit code an uncaught exception gives, without printing it twice
    finally:
        trackers_started(tracker)
        ending()
