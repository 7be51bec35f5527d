"""`statelab serve`: the app in a browser, one app process (and its own runs) per tab.

textual-serve does the serving: for each websocket (a tab) it starts the app as a subprocess
under Textual's web driver, which draws through the websocket and takes its keys from it.
textual-serve has no authentication: whoever reaches the port can start processes as this
user, so it listens on loopback unless told otherwise, and says so when it is told.

What this module adds around textual-serve: the command line (one line and exit 2 on bad
input, checked before anything listens); the page's websocket address taken from the address
the browser used (so an SSH tunnel to another local port works); a websocket refused unless it
comes from this server's own page (a browser lets any web site open a websocket to 127.0.0.1,
and a site can rebind its own name to 127.0.0.1: without the checks any page visited could
start processes); each tab's app ended with SIGTERM, which it takes as a hang-up (stop the run,
then leave), when its tab closes, when the server stops (Ctrl+C, SIGTERM, SIGHUP), and when
the server dies, even by SIGKILL (the parent-death signal): no tab's run outlives the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import ipaddress
import os
import shlex
import signal
import socket
import sys
from asyncio.subprocess import Process
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import psutil
from aiohttp import WSCloseCode, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, log, to_int

from scenarios.engine.argv import HelpShown, Parser, tidy
from scenarios.engine.ctypes_table import quote
from scenarios.engine.knobs import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
USAGE = "statelab serve [--host HOST] [--port PORT]"
DESCRIPTION = """\
Serves the statelab app to a web browser (textual-serve). Each tab gets its own app and its
own runs; closing the tab stops them. There is no password: anyone who can reach the port can
start processes as you. Keep the default loopback host and, from another machine, tunnel:
ssh -L 8000:127.0.0.1:8000 THIS_HOST, then open http://127.0.0.1:8000 there."""


def fail(message: str) -> int:
    print(f"statelab serve: {message}", file=sys.stderr)
    return 2


def port_number(text: str) -> int:
    """A TCP port, 1 to 65535 (0 would be a random port nobody is told about)."""
    try:
        port = int(text, 10)
    except ValueError:
        raise ConfigError(f"--port takes a number from 1 to 65535, not {quote(text)}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port takes a number from 1 to 65535, not {port}")
    return port


def addresses(host: str, port: int) -> list[str]:
    """The addresses `host` stands for (an IP address, or a name this machine resolves);
    ConfigError with one line when it stands for none."""
    if not host or len(host) > 253 or not host.isprintable() or host.strip() != host:
        raise ConfigError(f"--host takes an IP address or a host name, not {quote(host)}")
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigError(f"--host {quote(host)} does not resolve ({reason}); give an IP "
                          "address of this machine or a name that resolves to one") from None
    return sorted({str(info[4][0]) for info in found})


def loopback_only(found: Sequence[str]) -> bool:
    return all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in found)


def check_free(host: str, port: int) -> None:
    """Bind once before serving, so a port in use or an address not on this machine is one
    line, not aiohttp's traceback."""
    family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp will
        try:
            probe.bind(address)
        except OSError as e:
            raise ConfigError(f"cannot listen on {quote(host)} port {port}: "
                              f"{e.strerror or e}; choose another --port or --host") from None


APP = (sys.executable, "-m", "tui")  # what each tab runs: this interpreter, the app


def warning(host: str, port: int) -> str:
    return (f"statelab serve: warning: {host} is not loopback: anyone who can reach port {port} "
            f"can start processes as this user; instead keep the default --host {DEFAULT_HOST} "
            f"and tunnel: ssh -L {port}:127.0.0.1:{port} {socket.gethostname()}")


def loopback_name(name: str) -> bool:
    if name == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    return False


def same_page(host_header: str, origin: str | None, any_host: bool) -> bool:
    """May a websocket with this Host and Origin drive an app? Its Origin (a browser always
    sends one) must be this server as the browser names it; on loopback the name must be a
    loopback one too (a DNS-rebound site's name is not)."""
    name = urlsplit(f"//{host_header}").hostname or ""
    if not any_host and not loopback_name(name):
        return False
    if origin is None:  # not a browser: it could reach the port, it may use it
        return True
    return origin in (f"http://{host_header}", f"https://{host_header}")


# prctl(PR_SET_PDEATHSIG, SIGTERM), looked up now: the child calls it between fork and exec
PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def _end_with_server(server: int) -> None:
    """In a tab's app before exec: SIGTERM when the server dies, even by SIGKILL (the app does
    not notice its stdin closing), so it stops its run as on a hang-up."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != server:  # the server died before the call
        os.kill(os.getpid(), signal.SIGTERM)


class Tab(AppService):
    """One tab's app: this interpreter, `-m tui`, without a shell in between, so that signals
    reach it. Leaving starts with SIGTERM: the app then stops its run as on a hang-up and is
    gone within 1.5 s. textual-serve's own way, a "quit" sent on the app's stdin, has Textual
    leave without stopping a run in progress: asyncio then waits for ever for the run's sampler
    thread, and the run goes on."""

    @property
    def pid(self) -> int:
        return self._process.pid if self._process is not None else 0

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *APP, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=self._build_environment(width, height),
            preexec_fn=functools.partial(_end_with_server, os.getpid()))
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def stop(self) -> None:
        process = self._process
        if self._task is not None and process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        await super().stop()  # "quit", then reads the app's output to its end


class Served(Server):
    """textual-serve's Server with the checks above, one `Tab` per websocket, and `end_apps`
    for the way out."""

    def __init__(self, command: str, *, host: str, port: int, any_host: bool) -> None:
        super().__init__(command, host=host, port=port, title="statelab")
        self.any_host = any_host
        self.apps: set[int] = set()  # the pids of the tabs' apps still running
        self.sockets: set[web.WebSocketResponse] = set()  # the tabs still open

    async def on_startup(self, app: web.Application) -> None:
        # SIGHUP (the terminal closed) leaves as Ctrl+C does, through aiohttp's shutdown
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.request_exit)
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        self.console.print(f"statelab: serving on http://{host}:{self.port} (Ctrl+C stops)",
                           highlight=False, markup=False)

    async def on_shutdown(self, app: web.Application) -> None:
        # aiohttp would wait a minute for the open websockets: close them, so each tab's app
        # is stopped (Tab.stop) and its handler ends now
        for websocket in list(self.sockets):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"statelab serve stopped")

    async def handle_index(self, request: web.Request) -> Any:
        # the page's websocket address is the server as this browser reached it; no await
        # comes between this and the page being built from it
        self.public_url = f"http://{request.host}"
        return await super().handle_index(request)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's handler, with the Origin check and a Tab."""
        if not same_page(request.host, request.headers.get("Origin"), self.any_host):
            raise web.HTTPForbidden(text="statelab serve: only its own page may connect\n")
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)

        async def close() -> None:
            await websocket.close()

        tab = Tab(self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                  close=close, download_manager=self.download_manager)
        try:
            await websocket.prepare(request)
            self.sockets.add(websocket)
            await tab.start(width, height)
            pid = tab.pid
            self.apps.add(pid)
            try:
                await self._process_messages(websocket, tab)
            finally:
                await tab.stop()
                self.apps.discard(pid)
        except asyncio.CancelledError:  # the server is shutting down
            await tab.stop()
            await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            self.sockets.discard(websocket)
        return websocket

    def end_apps(self) -> None:
        """SIGTERM each app still running once the server has stopped, and wait for them,
        bounded: a tab's handler cut short (a hard shutdown) must not leave its run."""
        apps = []
        for pid in self.apps:
            with contextlib.suppress(psutil.Error):
                app = psutil.Process(pid)
                app.send_signal(signal.SIGTERM)
                apps.append(app)
        psutil.wait_procs(apps, timeout=3)


def parse(args: Sequence[str]) -> tuple[str, int]:
    parser = Parser(prog="statelab serve", usage=USAGE, description=DESCRIPTION)
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"the address to listen on (default: {DEFAULT_HOST}, loopback)")
    parser.add_argument("--port", default=str(DEFAULT_PORT),
                        help=f"the TCP port, 1 to 65535 (default: {DEFAULT_PORT})")
    namespace, extras = parser.parse_known_args(list(args))
    if extras:
        raise ConfigError(f"serve takes --host and --port only, not {quote(extras[0])}")
    return str(namespace.host), port_number(str(namespace.port))


def main(args: Sequence[str]) -> int:
    try:
        host, port = parse(args)
        found = addresses(host, port)
        check_free(host, port)
    except HelpShown:
        return 0
    except ConfigError as e:
        return fail(tidy(str(e), args))
    any_host = not loopback_only(found)
    if any_host:
        print(warning(host, port), file=sys.stderr, flush=True)
    # textual-serve only shows the command: Tab runs APP itself
    server = Served(shlex.join(APP), host=host, port=port, any_host=any_host)
    try:
        server.serve()
    finally:
        server.end_apps()
    return 0
