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
"""

from __future__ import annotations

import atexit
import ctypes
import errno
import json
import os
import re
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, NoReturn

from scenarios.engine import catalog, probe, procfs
from scenarios.engine.argv import parse_argv
from scenarios.engine.knobs import Config, ConfigError, default_start_method
from scenarios.engine.lab import Lab, exit_text
from scenarios.engine.protocol import Event, ProtocolError, decode, encode, from_wire
from scenarios.engine.state import RunState, source_of

GRACE = 2.0  # seconds the run's processes get to end by themselves after the parent ends
TERM_GRACE = 1.0  # seconds between SIGTERM and SIGKILL
STACK_WAIT = 0.6  # seconds to collect the stacks of stuck processes
CHUNK = 3000  # output is sent in events of at most this many characters
QUIET = 0.03  # seconds of silence that end a burst of output (a traceback is one event)
HELPERS = (("resource_tracker", "resource-tracker"), ("forkserver", "forkserver"))
PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1
ENGINE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # scenarios/engine


def format_exc() -> str:
    import traceback  # only when something went wrong

    return traceback.format_exc()


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


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


_runner_pid = os.getpid()


def self_pid() -> int:
    """The runner's pid, as the forked parent remembers it."""
    return _runner_pid


def set_parent_death_signal(sig: int) -> None:
    """Linux: have the kernel send `sig` to this process when the runner dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def stop_parent(signum: int, frame: object) -> None:
    """SIGTERM in the scenario's parent: end its children first, then unwind."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once is enough
    import multiprocessing

    for child in multiprocessing.active_children():
        child.terminate()
    raise SystemExit(128 + signum)


def helper_role(cmdline: str) -> str | None:
    for marker, role in HELPERS:
        if f"multiprocessing.{marker}" in cmdline or f"{marker} import main" in cmdline:
            return role
    return None


def shm_entries() -> set[str]:
    try:
        return {n for n in os.listdir("/dev/shm") if n.startswith(("sem.mp-", "psm_", "mp-"))}
    except OSError:
        return set()


def thread_of(text: str) -> str | None:
    """The thread an output chunk came from, where the text says so."""
    match = re.search(r"Exception in thread ([^\s:]+)", text)
    if match:
        return match.group(1)
    if re.search(r'queues\.py", line \d+, in _feed', text):
        return "QueueFeederThread"
    return None


def where_stuck(stack: str) -> str:
    """The innermost frame of the thread the signal interrupted, and the scenario's own frame."""
    lines = stack.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Current thread")), 0)
    frames = []
    for line in lines[start + 1 :]:
        m = re.match(r'\s*File "(.+)", line (\d+) in (\S+)', line)
        if not m:
            break
        frames.append((os.path.basename(m.group(1)), m.group(2), m.group(3), m.group(1)))
    if not frames:
        return "somewhere the stack did not show"
    f, n, func, _ = frames[0]
    here = f"in {func} ({f}:{n})"
    stdlib = os.path.dirname(os.__file__)
    own = next((fr for fr in frames if not fr[3].startswith((stdlib, "<", ENGINE))), None)
    if own and own is not frames[0]:
        here += f", called from {own[2]} ({own[0]}:{own[1]})"
    return here


class Conn:
    """One connection from a scenario process: its events, or its stdout or stderr."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pid = 0
        self.role = "?"
        self.stream = ""  # "events", "stdout", "stderr"; "" until the hello line
        self.buffer = b""
        self.held = False
        self.last_data = 0.0


class Supervisor:
    def __init__(self, cfg: Config, control: bool = False, out_fd: int = 1,
                 module: ModuleType | None = None) -> None:
        self.cfg = cfg
        self.control = control
        self.out_fd = out_fd
        self.t0 = time.monotonic()
        self.module = catalog.Module(module) if module else catalog.load(self.cfg.scenario)
        self.state = RunState()  # the one model of this run; findings() reads it
        self.address = f"\0statelab-{os.getpid()}-{os.urandom(8).hex()}"
        self.roles: dict[int, str] = {}  # every process we know of, named before its first event
        self.talking: set[int] = set()  # processes that installed the probe (can give a stack)
        self.stop_reason: str | None = None
        self.parent_pid = 0
        self.parent_status: int | None = None
        self.paused_since: float | None = None
        self.deadline = self.t0 + self.cfg.timeout
        self.collecting: dict[int, str] | None = None  # stacks, while a timeout collects them
        self.last_scan = 0.0
        self.out_broken = False
        self.shm_before = shm_entries()

    # -- writing events ---------------------------------------------------------------------

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 6)

    def write(self, line: bytes) -> None:
        if self.out_broken:
            return
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self.out_fd, view) :]
        except BrokenPipeError:  # whoever read us is gone: stop the run
            self.out_broken = True
            self.stop_reason = self.stop_reason or "the reader of the events went away"

    def emit(self, kind: str, text: str, *, pid: int | None = None, role: str = "runner",
             **extra: Any) -> None:
        self.send({"t": self.now(), "pid": pid or os.getpid(), "role": role, "kind": kind,
                   "text": text, **extra})

    def send(self, wire: dict[str, Any]) -> None:
        """Fold one event of the runner's own into the run's state and write it."""
        self.take(from_wire(wire))
        self.write(encode(wire))

    def take(self, event: Event) -> None:
        self.state.apply(event)
        self.roles.setdefault(event.pid, event.role)

    def exited(self, pid: int) -> bool:
        proc = self.state.processes.get(pid)
        return proc is not None and proc.ended

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> int:
        info = interpreter()
        self.emit("run-start",
                  f"{self.cfg.scenario} under {self.cfg.start_method} on Python {info['python']} "
                  f"({info['system']}), timeout {self.cfg.timeout:g} s",
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
        link = probe.Link(self.address, self.t0, self.cfg.step)

        pid = os.fork()
        if pid == 0:
            listener.close()
            os.close(wake_r)
            os.close(wake_w)
            self.be_parent(link)
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
            status = self.supervise(listener, wake_r)
        finally:
            signal.set_wakeup_fd(-1)
            for sig, handler in old.items():
                signal.signal(sig, handler)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            listener.close()
            os.close(wake_r)
            os.close(wake_w)
        return status

    def on_signal(self, signum: int, frame: object) -> None:
        self.stop_reason = self.stop_reason or f"the runner got {signal.Signals(signum).name}"

    def be_parent(self, link: probe.Link) -> NoReturn:
        """The forked child: become the scenario's parent process. Never returns."""
        code, stopped = 1, False
        try:
            for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            os.setpgid(0, 0)  # the run's own process group: one signal reaches all of it
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.close(devnull)
            # stopped, or orphaned by a runner that died: end the children, then exit as a
            # script does, so multiprocessing cleans up what it registered (no "leaked" warning)
            signal.signal(signal.SIGTERM, stop_parent)
            set_parent_death_signal(signal.SIGTERM)
            if os.getppid() != self_pid():
                raise SystemExit("the runner ended before the run began")
            probe.install(link, "parent")
            probe.process_started(os.getppid())
            lab = Lab(self.cfg, link)
            try:
                self.module.parent(lab)
                lab.finish()
                code = 0
            except SystemExit:
                stopped = True
                lab.finish()  # the children were told to end: report how they did
            except Exception as exc:
                probe.error(f"parent raised {type(exc).__name__}: {exc}",
                            exception=type(exc).__name__, traceback=format_exc())
            # what a script's normal exit does: join threads, then run atexit (multiprocessing's
            # own clean-up joins queue feeder threads and finalizes shared objects)
            shutdown = getattr(threading, "_shutdown", None)
            if shutdown is not None:
                shutdown()
            atexit._run_exitfuncs()
        except BaseException:  # a forked child must never return into the runner
            try:
                probe.error("the parent process failed", traceback=format_exc())
            except Exception:
                pass
        finally:
            for f in (sys.stdout, sys.stderr):
                try:
                    f.flush()
                except Exception:
                    pass
            if stopped:  # end the way a stopped process ends: by the signal
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)
            os._exit(code)

    def supervise(self, listener: socket.socket, wake_r: int) -> int:
        sel = selectors.DefaultSelector()
        sel.register(listener, selectors.EVENT_READ, "accept")
        sel.register(wake_r, selectors.EVENT_READ, "wake")
        if self.control or self.cfg.step:
            try:
                sel.register(0, selectors.EVENT_READ, "control")
            except (ValueError, OSError):
                pass
        self.sel = sel
        self.conns: dict[int, Conn] = {}
        self.control_buffer = b""
        status = "ok"
        drain_until: float | None = None
        while True:
            now = time.monotonic()
            wait = 0.5
            if drain_until is None:
                wait = min(wait, max(0.0, self.effective_deadline() - now))
            else:
                wait = min(wait, max(0.0, drain_until - now))
            if any(c.buffer for c in self.conns.values() if c.stream != "events"):
                wait = min(wait, QUIET)
            for key, _ in sel.select(wait):
                self.handle(key, listener, wake_r)
            self.flush_partial()
            self.reap()
            now = time.monotonic()
            if now - self.last_scan > 0.25:  # a helper may be started late, by a child
                self.scan_helpers(force=True)
            if self.stop_reason:
                status = "stopped"
                self.emit("error", f"run stopped: {self.stop_reason}", data={"reason": self.stop_reason})
                self.kill_all()
                break
            if drain_until is None and self.parent_status is not None:
                drain_until = now + GRACE
            if drain_until is None and now >= self.effective_deadline():
                status = "timeout"
                self.on_timeout()
                break
            if drain_until is not None:
                if not self.has_children() and not self.conns:
                    break
                if now >= drain_until:
                    self.report_left_behind()
                    self.kill_all()
                    break
        self.finish_output()
        sel.close()
        self.check_shm()
        self.report_findings()
        status = self.state.status
        self.emit("run-end", f"run ended: {status} after {self.now():.2f} s",
                  status=status, data={"seconds": self.now()})
        return 0 if status == "ok" else 1

    def effective_deadline(self) -> float:
        if self.paused_since is not None:  # a paused run is waiting for the user, not stuck
            return max(self.deadline, time.monotonic() + 0.5)
        return self.deadline

    # -- sockets ----------------------------------------------------------------------------

    def handle(self, key: selectors.SelectorKey, listener: socket.socket, wake_r: int) -> None:
        if key.data == "accept":
            while True:
                try:
                    sock, _ = listener.accept()
                except OSError:  # BlockingIOError: nobody else is waiting
                    break
                sock.setblocking(False)
                self.conns[sock.fileno()] = Conn(sock)
                self.sel.register(sock, selectors.EVENT_READ, "conn")
        elif key.data == "wake":
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        elif key.data == "control":
            self.read_control()
        else:
            self.read_conn(self.conns[key.fd])

    def read_control(self) -> None:
        try:
            data = os.read(0, 4096)
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(0)
            self.stop_reason = self.stop_reason or "its control input was closed"
            return
        self.control_buffer += data
        while b"\n" in self.control_buffer:
            line, self.control_buffer = self.control_buffer.split(b"\n", 1)
            command = line.decode(errors="replace").strip().lower()
            if command in ("", "s", "step"):
                self.release()
            elif command in ("x", "stop", "q", "quit"):
                self.stop_reason = self.stop_reason or "asked to stop"

    def release(self) -> None:
        """One step: let every process held at a checkpoint go on."""
        for conn in self.conns.values():
            if conn.held:
                conn.held = False
                try:
                    conn.sock.sendall(b"g")
                except OSError:
                    pass
        if self.paused_since is not None:
            self.deadline += time.monotonic() - self.paused_since
            self.paused_since = None

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
            hello = json.loads(line)
            conn.pid, conn.role, conn.stream = int(hello["pid"]), str(hello["role"]), hello["stream"]
            self.roles[conn.pid] = conn.role
            if conn.stream == "events":
                self.talking.add(conn.pid)
        if conn.stream == "events":
            self.read_events(conn)
        elif len(conn.buffer) >= CHUNK:
            self.read_output(conn, final=False)

    def read_events(self, conn: Conn) -> None:
        *lines, conn.buffer = conn.buffer.split(b"\n")
        for line in lines:
            if not line:
                continue
            try:
                event = decode(line)
            except ProtocolError as e:  # reported, never fatal
                self.emit("error", f"{conn.role} {conn.pid} sent a line that is not an event: {e}",
                          data={"from_pid": conn.pid})
                continue
            self.take(event)
            self.write(line + b"\n")
            if event.kind == "process-start":
                self.scan_helpers(force=False)
            elif event.kind == "checkpoint" and event.data.get("hold"):
                conn.held = True
                if self.paused_since is None:
                    self.paused_since = time.monotonic()

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
            self.scan_helpers(force=True)  # it may be one we have not met yet
            trackers = [p for p, r in self.roles.items() if r == "resource-tracker"]
            own = [p for p in trackers if self.helper_parent(p) == conn.pid]
            if own or trackers:
                pid, role = (own or trackers)[0], "resource-tracker"
        data: dict[str, Any] = {"stream": conn.stream}
        thread = thread_of(text)
        if thread:
            data["thread"] = thread
        while text:
            piece, text = text[:CHUNK], text[CHUNK:]
            self.emit("output", piece, pid=pid, role=role, data=data)

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
            if conn.held:
                conn.held = False
                if not any(c.held for c in self.conns.values()) and self.paused_since is not None:
                    self.deadline += time.monotonic() - self.paused_since
                    self.paused_since = None
        self.sel.unregister(conn.sock)
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

    # -- processes --------------------------------------------------------------------------

    def scan_helpers(self, force: bool) -> None:
        """Name the processes the interpreter started for itself (resource tracker, fork server)."""
        now = time.monotonic()
        if not force and len(self.roles) > 8 and now - self.last_scan < 0.05:
            return
        self.last_scan = now
        for pid, cmdline in procfs.descendants(os.getpid()).items():
            if pid in self.roles:
                continue
            role = helper_role(cmdline)
            if role:
                self.send({"t": self.started_at(pid), "pid": pid, "role": role,
                           "kind": "process-start", "text": f"{role} started: pid {pid}",
                           "data": {"helper": True, "ppid": procfs.parent_of(pid) or 0,
                                    "cmdline": cmdline[:300]}})

    def helper_parent(self, pid: int) -> int | None:
        """The process that started a helper, as its process-start said."""
        proc = self.state.processes.get(pid)
        return proc.ppid if proc is not None and proc.helper else None

    def started_at(self, pid: int) -> float:
        """When a process started, on the run's clock: found after the fact, a helper still
        gets its real place in time (to the kernel's 10 ms tick)."""
        age = procfs.age(pid)
        if age is None:
            return self.now()
        return round(min(self.now(), max(0.0, self.now() - age)), 6)

    def has_children(self) -> bool:
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        return True

    def reap(self) -> None:
        """Collect every child that ended: the parent, and orphans handed to us as subreaper."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            self.pump()  # what the process said before it ended comes before its end
            if pid == self.parent_pid:
                self.parent_status = code
                self.scan_helpers(force=True)
            if not self.exited(pid):
                role = self.roles.get(pid, "unknown")
                words, data = exit_text(code)
                self.emit("process-exit", f"{role} {words}", pid=pid, role=role,
                          data={**data, "reported_by": os.getpid()})

    def pump(self) -> None:
        """Read whatever the processes have already written, without waiting."""
        for _ in range(1000):
            ready = [k for k, _ in self.sel.select(0) if k.data == "conn"]
            if not ready:
                return
            for key in ready:
                if key.fd in self.conns:
                    self.read_conn(self.conns[key.fd])

    def on_timeout(self) -> None:
        stuck = [p for p in self.talking if not self.exited(p) and procfs.alive(p)]
        self.emit("error", f"timeout: the run did not finish in {self.cfg.timeout:g} s; "
                  f"taking the stacks of {len(stuck)} process(es)",
                  data={"timeout": self.cfg.timeout, "stuck": [self.roles.get(p) for p in stuck]})
        self.collecting = {p: "" for p in stuck}
        for pid in stuck:
            try:
                os.kill(pid, probe.STACK_SIGNAL)
            except OSError:
                pass
        until = time.monotonic() + STACK_WAIT
        while time.monotonic() < until:
            ready = self.sel.select(0.1)
            for key, _ in ready:
                if key.data == "conn":
                    self.read_conn(self.conns[key.fd])
            if not ready and all("most recent call first" in s for s in self.collecting.values()):
                break
        self.flush_partial(quiet=0)
        stacks, self.collecting = self.collecting, None
        for pid, stack in stacks.items():
            role = self.roles.get(pid, "?")
            self.emit("error", f"{role} was stuck {where_stuck(stack)}", pid=pid, role=role,
                      data={"stack": stack[-2500:], "where": where_stuck(stack)})
            self.state.stacks[role] = stack  # whole: the event may carry only a trimmed one
        self.kill_all()

    def report_left_behind(self) -> None:
        left = {p: self.roles.get(p, "unknown") for p in procfs.group_members(self.parent_pid)}
        if left:
            self.emit("error", f"{len(left)} process(es) still running {GRACE:g} s after the "
                      f"parent ended: {', '.join(f'{r} {p}' for p, r in left.items())}; killing them",
                      data={"left": [{"pid": p, "role": r} for p, r in left.items()]})

    def kill_all(self) -> None:
        """End every process of the run: the parent first (it ends its children and cleans up
        what multiprocessing registered), then SIGTERM and SIGKILL to whatever is left."""
        self.scan_helpers(force=True)
        steps: tuple[tuple[Callable[[], None], float], ...] = (
                 (lambda: os.kill(self.parent_pid, signal.SIGTERM), TERM_GRACE),
                 (lambda: os.killpg(self.parent_pid, signal.SIGTERM), TERM_GRACE / 2),
                 # the resource tracker ignores SIGTERM and, once everyone else is gone, removes
                 # what they left in /dev/shm: give it that chance before the last resort
                 (lambda: self.kill_all_but_tracker(signal.SIGKILL), 2.0),
                 (lambda: os.killpg(self.parent_pid, signal.SIGKILL), 2.0))
        for send, grace in steps:
            try:
                send()
            except OSError as e:
                if e.errno != errno.ESRCH:
                    raise
            until = time.monotonic() + grace
            while time.monotonic() < until:
                self.reap()
                if not self.has_children() and not procfs.group_members(self.parent_pid):
                    return
                # drain sockets so nobody blocks writing, and so the last words are kept
                for key, _ in self.sel.select(0.02):
                    if key.data == "conn" and key.fd in self.conns:
                        self.read_conn(self.conns[key.fd])

    def kill_all_but_tracker(self, sig: int) -> None:
        for pid, cmdline in procfs.group_members(self.parent_pid).items():
            if helper_role(cmdline) != "resource-tracker":
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass

    def check_shm(self) -> None:
        """Report what appeared in /dev/shm during the run and is still there.

        Nothing is removed: another run on this machine may own it. multiprocessing's own
        clean-up, or the resource tracker after a kill, removes what a run created."""
        left = sorted(shm_entries() - self.shm_before)
        if left:  # an output of the runner's, not an error: another run may have made them
            self.emit("output", f"{len(left)} entr{'y' if len(left) == 1 else 'ies'} appeared in "
                      f"/dev/shm during the run and {'is' if len(left) == 1 else 'are'} still "
                      f"there (this run's, or another's): {', '.join(left)}",
                      data={"stream": "runner", "shm_left": left})

    def report_findings(self) -> None:
        try:
            found = self.module.findings(self.state)
        except Exception as exc:
            self.emit("error", f"the findings could not be checked: {type(exc).__name__}: {exc}",
                      data={"traceback": format_exc()})
            return
        source = self.state.source
        for f in found:
            self.emit("finding", f"{f.claim}: {f.summary(source)}", id=f.id, claim=f.claim,
                      holds=f.holds, lesson=f.lesson, evidence=f.evidence)


def script(name: str) -> NoReturn:
    """Run the scenario module that is `__main__` (a file from `statelab source NAME`)."""
    sys.exit(main([name, *sys.argv[1:]], module=sys.modules["__main__"]))


def main(argv: list[str] | None = None, module: ModuleType | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(usage())
        return 0
    try:
        cfg, flags = parse_argv(args)
    except ConfigError as e:
        print(f"statelab: {e}", file=sys.stderr)
        return 2
    try:
        return Supervisor(cfg, control=flags["control"], module=module).run()
    except KeyboardInterrupt:
        return 130


def usage() -> str:
    lines = ["usage: python -m scenarios SCENARIO [--knob VALUE]... [--step] [--control]", "",
             "Runs one scenario and writes its events as JSON lines.", "",
             "--step       pause every process at each checkpoint; a line on stdin steps",
             "--control    read commands on stdin (step, stop); end of input stops the run", ""]
    for spec in catalog.all_specs():
        flags = " ".join(f"{k.flag}" for k in spec.knobs().values())
        lines.append(f"{spec.name:<16} {flags}")
    return "\n".join(lines)
