"""The connections from the run's processes: each one's events, stdout and stderr.

A process opens one connection per stream and names itself in a first line (the
hello: pid, role, stream, the run's secret). Only the run speaks: `gate` checks
who is at the other end when a connection is accepted, and its hello; one that
fails is closed and reported once, and nothing it sent is read. The events
connection is answered with one byte once accepted (the probe waits for it, so a
process is checked while it is alive to be checked).

Event lines are decoded and checked against the contract; one that breaks it is
reported as an error event, never fatal, and so is one that only the runner may
send (run-start, a finding, run-end) or that speaks for another process. A line
has a bound (LINE_LIMIT): past it, the rest of the line is dropped and reported.
What a process writes on stdout or stderr becomes output events of that process:
a burst of output (a traceback) is one event when it fits, and is sent once the
stream has been quiet for QUIET seconds, or in pieces of at most CHUNK characters.
"""

from __future__ import annotations

import re
import selectors
import socket
import time

from scenarios.engine.protocol import LINE_LIMIT, Error, Output, ProcessStart, ProtocolError, decode
from scenarios.engine.supervisor.gate import HELLO_LIMIT, Gate, not_its_to_say, peer_of

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

if TYPE_CHECKING:
    from typing import Any

    from scenarios.engine.supervisor.core import Core
    from scenarios.engine.supervisor.helpers import Helpers

CHUNK = 3000  # output is sent in events of at most this many characters
QUIET = 0.03  # seconds of silence that end a burst of output (a traceback is one event)
BAD_LINES = 20  # lines that break the contract reported per connection; the rest are counted
STACK_LIMIT = 65536  # characters of a stuck process's stderr kept while its stack is collected
ACCEPTED = b"+"  # the answer to an accepted events connection


def thread_of(text: str) -> str | None:
    """The thread an output chunk came from, where the text says so."""
    if "Exception in thread" in text:
        match = re.search(r"Exception in thread ([^\s:]+)", text)
        if match:
            return match.group(1)
    if "in _feed" in text and re.search(r'queues\.py", line \d+, in _feed', text):
        return "QueueFeederThread"
    return None


class Conn:
    """One connection from a scenario process: its events, or its stdout or stderr."""

    def __init__(self, sock: socket.socket, peer: int) -> None:
        self.sock = sock
        self.peer = peer  # the pid at the other end, as the kernel says
        self.pid = 0
        self.role = "?"
        self.stream = ""  # "events", "stdout", "stderr"; "" until the hello line
        self.buffer = b""
        self.last_data = 0.0
        self.dropping = 0  # events: bytes of an over-long line dropped so far
        self.bad = 0  # events: lines that broke the contract


class Streams:
    """Every open connection, by file descriptor; reads them and writes what they carry."""

    def __init__(self, sup: Core, helpers: Helpers) -> None:
        self.sup = sup
        self.helpers = helpers
        self.conns: dict[int, Conn] = {}
        self.collecting: dict[int, str] | None = None  # stacks, while a timeout collects them
        self.gate = Gate(sup)

    def accept(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:  # BlockingIOError: nobody else is waiting
                break
            peer, uid = peer_of(sock)
            why = self.gate.check_peer(peer, uid)
            if why:
                self.gate.refuse(peer, why, uid=uid)
                sock.close()
                continue
            sock.setblocking(False)
            self.conns[sock.fileno()] = Conn(sock, peer)
            self.sup.sel.register(sock, selectors.EVENT_READ, "conn")

    def read_for(self, timeout: float) -> bool:
        """Wait up to `timeout` for what the processes write and read it, outside the main
        loop (the kill ladder, the stacks): no control command is read here. True if anything
        was ready."""
        ready = self.sup.sel.select(timeout)
        for key, _ in ready:
            if key.data == "conn" and key.fd in self.conns:
                self.read_conn(self.conns[key.fd])
            elif key.data == "wake":  # a child ended: left readable, select would not wait
                self.sup.drain_wake()
            elif key.data == "out":  # the reader took some: write more (else select spins)
                self.sup.flush_output()
            elif key.data == "accept":
                self.accept(key.fileobj)  # type: ignore[arg-type]  # the listener
        return bool(ready)

    def output_pending(self) -> bool:
        """Is some output (or a hello) waiting for the rest of its line or for quiet?"""
        return any(c.buffer for c in self.conns.values() if c.stream != "events")

    def read_conn(self, conn: Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close_conn(conn)
            return
        conn.buffer += data
        conn.last_data = time.monotonic()
        if not conn.stream and not self.hello(conn):
            return
        if conn.stream == "events":
            self.read_events(conn)
        elif len(conn.buffer) >= CHUNK:
            self.read_output(conn, final=False)

    def hello(self, conn: Conn) -> bool:
        """Read a connection's first line and check it; False if it has not come yet or the
        connection is refused (then closed: nothing it sent is read)."""
        end = conn.buffer.find(b"\n")
        if end < 0 and len(conn.buffer) <= HELLO_LIMIT:
            return False
        line = conn.buffer if end < 0 else conn.buffer[:end]
        try:
            pid, role, stream = self.gate.check_hello(conn.peer, line)
        except ValueError as e:
            self.gate.refuse(conn.peer, str(e))
            self.close_conn(conn)
            return False
        conn.buffer = conn.buffer[end + 1 :]
        conn.pid, conn.role, conn.stream = pid, role, stream
        self.sup.roles[pid] = role
        if stream == "events":
            self.sup.talking.add(pid)
            self.sup.answer_to.setdefault(pid, conn.sock)  # its first: where its probe waits
            try:
                conn.sock.send(ACCEPTED)
            except OSError:
                pass
        return True

    def pump(self) -> None:
        """Read whatever the processes have already written, without waiting."""
        for _ in range(1000):
            ready = [k for k, _ in self.sup.sel.select(0) if k.data == "conn"]
            if not ready:
                return
            for key in ready:
                if key.fd in self.conns:
                    self.read_conn(self.conns[key.fd])

    def read_events(self, conn: Conn, final: bool = False) -> None:
        """Take every whole line; a line over the bound is not kept but dropped up to its end."""
        data, conn.buffer = conn.buffer, b""
        if conn.dropping:
            end = data.find(b"\n")
            conn.dropping += len(data) if end < 0 else end
            if end < 0:
                data = b""
            else:
                data = data[end + 1 :]
                self.too_long(conn)
        *lines, rest = data.split(b"\n")
        for line in lines:
            if line:
                self.event_line(conn, line)
        if len(rest) >= LINE_LIMIT:  # it cannot become an event: stop keeping it
            conn.dropping, rest = len(rest), b""
        conn.buffer = rest
        if final:
            if conn.dropping:
                self.too_long(conn)
            if conn.bad > BAD_LINES:
                self.sup.emit(Error, f"{conn.role} {conn.pid} sent {conn.bad - BAD_LINES} more "
                              "line(s) that broke the event contract", data={"from_pid": conn.pid})

    def event_line(self, conn: Conn, line: bytes) -> None:
        try:
            event = decode(line)
        except ProtocolError as e:  # reported, never fatal
            self.bad_line(conn, f"a line that is not an event: {e}")
            return
        why = not_its_to_say(conn.pid, event)
        if why:
            self.bad_line(conn, f"an event it may not send: {why}")
            return
        if isinstance(event, ProcessStart) and event.helper and self.helpers.started(event.pid):
            return  # a helper a scan has named already (with the parent it had then)
        # alive a moment ago: what it holds in /dev/shm, looked at before the event goes on
        self.sup.shm.spoke(conn.pid, always=event.kind == "checkpoint")
        self.sup.forward(event, line)
        if isinstance(event, ProcessStart):
            self.helpers.scan(force=False)

    def bad_line(self, conn: Conn, what: str) -> None:
        conn.bad += 1
        if conn.bad <= BAD_LINES:
            more = " (more such lines from it are only counted)" if conn.bad == BAD_LINES else ""
            self.sup.emit(Error, f"{conn.role} {conn.pid} sent {what}{more}",
                          data={"from_pid": conn.pid})

    def too_long(self, conn: Conn) -> None:
        size, conn.dropping = conn.dropping, 0
        self.bad_line(conn, f"a line of {size} bytes, over the bound of {LINE_LIMIT}: it was "
                      "not kept")

    def read_output(self, conn: Conn, final: bool) -> None:
        if final:
            text, conn.buffer = conn.buffer, b""
        else:
            cut = conn.buffer.rfind(b"\n") + 1
            if cut == 0 and len(conn.buffer) < CHUNK:
                return
            cut = cut or len(conn.buffer)
            text, conn.buffer = conn.buffer[:cut], conn.buffer[cut:]
        if text:
            self.output(conn, text.decode(errors="replace"))

    def output(self, conn: Conn, text: str) -> None:
        if self.collecting is not None and conn.stream == "stderr" and conn.pid in self.collecting:
            # bounded: the stack is at the end of what it writes
            self.collecting[conn.pid] = (self.collecting[conn.pid] + text)[-STACK_LIMIT:]
            return
        pid, role = conn.pid, conn.role
        if "resource_tracker" in text:  # a helper writes on the fd it inherited from its starter
            tracker = self.helpers.tracker_of(conn.pid)
            if tracker is not None:
                pid, role = tracker, "resource-tracker"
        data: dict[str, Any] = {"stream": conn.stream}
        thread = thread_of(text)
        if thread:
            data["thread"] = thread
        while text:
            piece, text = text[:CHUNK], text[CHUNK:]
            self.sup.emit(Output, piece, pid=pid, role=role, data=data)

    def flush_partial(self, quiet: float = QUIET) -> None:
        """Send the output of every stream that has been silent for `quiet` seconds."""
        now = time.monotonic()
        for conn in self.conns.values():
            if conn.stream in ("stdout", "stderr") and conn.buffer and now - conn.last_data >= quiet:
                self.read_output(conn, final=True)

    def close_conn(self, conn: Conn) -> None:
        if conn.stream in ("stdout", "stderr"):
            self.read_output(conn, final=True)
        elif conn.stream == "events":
            self.read_events(conn, final=True)
            if self.sup.answer_to.get(conn.pid) is conn.sock:  # it can hear no step any more
                del self.sup.answer_to[conn.pid]
                self.sup.update_pause()
        self.sup.sel.unregister(conn.sock)
        self.conns.pop(conn.sock.fileno(), None)
        conn.sock.close()

    def finish_output(self) -> None:
        """Read what is still buffered in the sockets, then close them."""
        for conn in list(self.conns.values()):
            while True:
                try:
                    data = conn.sock.recv(65536)
                except (BlockingIOError, OSError):
                    data = None
                if not data:
                    break
                conn.buffer += data
                if not conn.stream and not self.hello(conn):
                    break
                if conn.stream == "events":
                    self.read_events(conn)  # bounded as it comes
                elif len(conn.buffer) >= CHUNK:
                    self.read_output(conn, final=False)
            if conn.sock.fileno() >= 0:
                self.close_conn(conn)
        self.gate.report_more()
