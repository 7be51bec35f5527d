"""The connections from the run's processes: each one's events, stdout and stderr.

A process opens one connection per stream and names itself in a first line (the
hello: pid, role, stream). Event lines are decoded and checked against the
contract; one that breaks it is reported as an error event, never fatal. What a
process writes on stdout or stderr becomes output events of that process: a
burst of output (a traceback) is one event when it fits, and is sent once the
stream has been quiet for QUIET seconds, or in pieces of at most CHUNK characters.
"""

from __future__ import annotations

import json
import re
import selectors
import socket
import time

from scenarios.engine.protocol import Error, Output, ProcessStart, ProtocolError, decode

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

if TYPE_CHECKING:
    from typing import Any

    from scenarios.engine.supervisor.core import Core
    from scenarios.engine.supervisor.helpers import Helpers

CHUNK = 3000  # output is sent in events of at most this many characters
QUIET = 0.03  # seconds of silence that end a burst of output (a traceback is one event)
STREAMS = ("events", "stdout", "stderr")


def thread_of(text: str) -> str | None:
    """The thread an output chunk came from, where the text says so."""
    if "Exception in thread" in text:
        match = re.search(r"Exception in thread ([^\s:]+)", text)
        if match:
            return match.group(1)
    if "in _feed" in text and re.search(r'queues\.py", line \d+, in _feed', text):
        return "QueueFeederThread"
    return None


def parse_hello(line: bytes) -> tuple[int, str, str]:
    """The pid, role and stream a connection's first line names; ValueError says what is wrong."""
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
    return pid, role, stream


class Conn:
    """One connection from a scenario process: its events, or its stdout or stderr."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pid = 0
        self.role = "?"
        self.stream = ""  # "events", "stdout", "stderr"; "" until the hello line
        self.buffer = b""
        self.last_data = 0.0


class Streams:
    """Every open connection, by file descriptor; reads them and writes what they carry."""

    def __init__(self, sup: Core, helpers: Helpers) -> None:
        self.sup = sup
        self.helpers = helpers
        self.conns: dict[int, Conn] = {}
        self.collecting: dict[int, str] | None = None  # stacks, while a timeout collects them

    def accept(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:  # BlockingIOError: nobody else is waiting
                break
            sock.setblocking(False)
            self.conns[sock.fileno()] = Conn(sock)
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
        if not conn.stream:
            if b"\n" not in conn.buffer:
                return
            line, conn.buffer = conn.buffer.split(b"\n", 1)
            try:
                conn.pid, conn.role, conn.stream = parse_hello(line)
            except ValueError as e:  # reported, never fatal: nothing it sends is read
                self.sup.emit(Error, f"a connection was closed: {e}",
                              data={"hello": line[:200].decode(errors="replace")})
                self.close_conn(conn)
                return
            self.sup.roles[conn.pid] = conn.role
            if conn.stream == "events":
                self.sup.talking.add(conn.pid)
                self.sup.answer_to[conn.pid] = conn.sock
        if conn.stream == "events":
            self.read_events(conn)
        elif len(conn.buffer) >= CHUNK:
            self.read_output(conn, final=False)

    def pump(self) -> None:
        """Read whatever the processes have already written, without waiting."""
        for _ in range(1000):
            ready = [k for k, _ in self.sup.sel.select(0) if k.data == "conn"]
            if not ready:
                return
            for key in ready:
                if key.fd in self.conns:
                    self.read_conn(self.conns[key.fd])

    def read_events(self, conn: Conn) -> None:
        *lines, conn.buffer = conn.buffer.split(b"\n")
        for line in lines:
            if not line:
                continue
            try:
                event = decode(line)
            except ProtocolError as e:  # reported, never fatal
                self.sup.emit(Error, f"{conn.role} {conn.pid} sent a line that is not an event: {e}",
                              data={"from_pid": conn.pid})
                continue
            self.sup.forward(event, line)
            if isinstance(event, ProcessStart):
                self.helpers.scan(force=False)

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
            self.collecting[conn.pid] += text
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
            self.read_events(conn)
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
            self.close_conn(conn)
