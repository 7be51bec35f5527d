"""Who may speak for the run, and what each may say.

The runner's socket has an abstract name: anyone on the machine can see it in /proc/net/unix
and connect, whatever their user. So every connection is checked twice:

- when it is accepted, the kernel says who is at the other end (SO_PEERCRED, as it was when
  it connected): it must run as this run's user and be a process of this run, a descendant of
  the runner (under forkserver a child of the fork server, an orphan adopted by the runner);
- its first line, the hello, must carry the run's secret (in the probe's Link, which children
  get by fork or by pickle), name the pid the kernel gave (no process speaks for another) and
  the role that pid named before.

A connection that fails is closed and reported once per pid, as an error of the runner's that
names the pid and what failed, in words; nothing it sent is shown. On an accepted connection,
an event a process may not send (run-start, a finding, run-end: the runner's alone; or one in
another process's name) is refused like a line that breaks the contract.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from _operator import _compare_digest as same_secret  # hmac.compare_digest, without hashlib

from scenarios.engine import procfs
from scenarios.engine.protocol import Error, Event, FindingEvent, ProcessExit, ProcessStart, RunEnd, RunStart

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

if TYPE_CHECKING:
    from typing import Any

    from scenarios.engine.supervisor.core import Core

STREAMS = ("events", "stdout", "stderr")
HELLO_LIMIT = 1024  # bytes of a hello line (the probe's are about 120)
REFUSALS = 20  # intruders reported one by one; past that, only counted
RUNNER_ONLY = (RunStart, FindingEvent, RunEnd)
FOR_OTHERS = (ProcessStart, ProcessExit)  # a parent reports the processes it started


def peer_of(sock: socket.socket) -> tuple[int, int]:
    """The pid and user of the process at the other end, as the kernel saw them when it
    connected; (0, -1) if the kernel does not say."""
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _gid = struct.unpack("3i", creds)
    except (OSError, struct.error):
        return 0, -1
    return int(pid), int(uid)


def parse_hello(line: bytes) -> tuple[int, str, str, str]:
    """The pid, role, stream and secret a connection's first line names; ValueError says what
    is wrong."""
    if len(line) > HELLO_LIMIT:
        raise ValueError(f"its first line is longer than {HELLO_LIMIT} bytes")
    try:
        hello = json.loads(line)
    except ValueError:
        raise ValueError("its first line is not JSON") from None
    if not isinstance(hello, dict):
        raise ValueError("its first line is not a JSON object")
    pid, role, stream = hello.get("pid"), hello.get("role"), hello.get("stream")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        raise ValueError("its first line names no pid")
    if not isinstance(role, str) or not role:
        raise ValueError("its first line names no role")
    if stream not in STREAMS:
        raise ValueError(f"its first line names no stream ({', '.join(STREAMS)})")
    secret = hello.get("secret")
    return pid, role, stream, secret if isinstance(secret, str) else ""


def not_its_to_say(pid: int, event: Event) -> str | None:
    """Why the process `pid` may not send this event; None if it may."""
    if isinstance(event, RUNNER_ONLY):
        return f"only the runner writes {event.kind} events"
    if event.pid != pid and not isinstance(event, FOR_OTHERS):
        return f"a {event.kind} event in the name of pid {event.pid}"
    if event.pid == os.getpid():
        return "an event in the runner's name"
    return None


class Gate:
    def __init__(self, sup: Core) -> None:
        self.sup = sup
        self.named: dict[int, str] = {}  # pid -> the role its accepted hellos gave
        self.refused: set[int] = set()  # pids reported as intruders
        self.refused_more = 0  # connections refused past REFUSALS intruders, not reported

    def check_peer(self, pid: int, uid: int) -> str | None:
        """Why the process at the other end may not speak for this run; None if it may. Checked
        on accepting, while a real process waits for its answer (see probe.install)."""
        if uid != os.geteuid():
            return f"it runs as user {uid}, and this run as user {os.geteuid()}"
        if pid <= 0 or not procfs.is_descendant(pid, os.getpid()):
            return "it is not a process of this run"
        return None

    def check_hello(self, peer: int, line: bytes) -> tuple[int, str, str]:
        """The pid, role and stream of an accepted hello from the process `peer`; ValueError
        says why it is refused."""
        pid, role, stream, secret = parse_hello(line)
        if not same_secret(secret.encode(), self.sup.secret.encode()):
            raise ValueError("it did not present this run's secret")
        if pid != peer:
            raise ValueError(f"its hello names pid {pid}, as {role}")
        if role == "runner":
            raise ValueError("its hello names the runner's role")
        if self.named.get(pid, role) != role:
            raise ValueError(f"its hello names the role {role}, and it named itself "
                             f"{self.named[pid]} before")
        self.named[pid] = role
        return pid, role, stream

    def refuse(self, pid: int, why: str, **data: Any) -> None:
        """Report an intruder, once per pid: not its words, only what failed."""
        if pid in self.refused:
            return
        if len(self.refused) >= REFUSALS:
            self.refused_more += 1
            return
        self.refused.add(pid)
        self.sup.emit(Error, f"refused a connection from pid {pid}: {why}; nothing it sent is "
                      "part of this run", data={"intruder": pid, "why": why, **data})

    def report_more(self) -> None:
        if self.refused_more:
            self.sup.emit(Error, f"refused {self.refused_more} more connection(s) from processes "
                          "that may not speak for this run", data={"refused_more": self.refused_more})
            self.refused_more = 0
