"""`statelab serve` in a real browser: the page shows the app, a run ends with its findings,
export downloads the transcript, and closing the tab ends its app and its run.

Headless Chromium is Debian's `chromium` (apt; `.ci/run` installs it), driven by the Python
`playwright` package with `executable_path` set to it: playwright's own browser download cannot
work here. Textual draws into xterm.js on a canvas, so the page's DOM has no text: a script
added before the page's own keeps the page's terminal object when textual-serve's client sets
it up (its `fitAddon` is assigned through a setter), and the test reads the screen's rows
through xterm's buffer API. The screenshot is kept in the test's tmp folder and copied to
/tmp/statelab-browser.png for people to look at; `-s` prints how long the page took to show
the scenario list.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
from playwright.sync_api import Download, sync_playwright

from scenarios.engine import catalog
from tests.runs import shm
from tui import serve

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOT = Path("/tmp/statelab-browser.png")
SCENARIO = catalog.DEFAULT  # what the app opens on

# runs before the page's scripts: keeps the object whose `fitAddon` is set (textual-serve's
# client, which holds the xterm Terminal as `.terminal`), as window.__textual
KEEP_TERMINAL = """
Object.defineProperty(Object.prototype, 'fitAddon', {configurable: true, set(value) {
  Object.defineProperty(this, 'fitAddon', {value, writable: true, configurable: true,
                                           enumerable: true});
  window.__textual = this;
}});
"""
# the screen's rows as text, or '' before the terminal exists
SCREEN = """() => {
  const client = window.__textual;
  if (!client || !client.terminal) return '';
  const term = client.terminal, buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : '');
  }
  return rows.join('\\n');
}"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run "
                    "installs it when it can)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_entries() -> set[str]:
    """The /dev/shm entries multiprocessing makes (semaphores, shared memory, heap arenas)."""
    return {n for n in shm() if n.startswith(("sem.mp-", "psm_", "mp-", "pym-"))}


def living(processes: list[psutil.Process], within: float) -> list[psutil.Process]:
    """Poll until none of the processes is alive (a zombie counts as gone), or the deadline
    passes; return those still alive."""
    deadline = time.monotonic() + within
    while True:
        left = []
        for p in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    left.append(p)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)  # polling with a deadline


def end(processes: list[psutil.Process]) -> None:
    """After a failure: SIGTERM whatever is left (an app stops its run on it), so a failing
    test leaves nothing running either."""
    for p in living(processes, within=0):
        with contextlib.suppress(psutil.Error):
            p.terminate()


@contextlib.contextmanager
def served(folder: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`statelab serve` on a free loopback port, in its own folder and with its own TMPDIR
    (so every pymp-* folder of its runs is there); waits, bounded, until it listens."""
    port = free_port()
    (folder / "tmp").mkdir()
    log = (folder / "serve.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "tui", "serve", "--port", str(port)],
                              cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "TMPDIR": str(folder / "tmp")})
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (folder / "serve.log").read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.monotonic() < deadline, "statelab serve did not listen within 30 s"
            time.sleep(0.05)  # polling with a deadline
        yield server, port
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log.close()


def test_a_tab_runs_exports_and_leaves_nothing(tmp_path: Path) -> None:
    browser_path = chromium()
    before_shm = run_entries()
    session: list[psutil.Process] = []
    with served(tmp_path) as (server, port), sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=browser_path, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 900}, accept_downloads=True)
        try:
            context.add_init_script(KEEP_TERMINAL)
            local = f"http://127.0.0.1:{port}/"
            # the page asks for a web font: nothing leaves this machine
            context.route("**/*", lambda route: route.continue_()
                          if route.request.url.startswith(local) else route.abort())
            downloads: list[Download] = []
            # each download comes in a window the page opens (textual-serve's client)
            context.on("page", lambda popup: popup.on("download", lambda d: downloads.append(d)))
            page = context.new_page()

            def wait_for(text: str, seconds: float) -> str:
                page.wait_for_function(f"(text) => ({SCREEN})().includes(text)", arg=text,
                                       timeout=seconds * 1000)
                return str(page.evaluate(SCREEN))

            start = time.monotonic()
            page.goto(local)
            loaded = time.monotonic() - start
            page.wait_for_function("() => window.__textual && window.__textual.terminal",
                                   timeout=30_000)  # else textual-serve's client has changed
            screen = wait_for("queue-copy", 30)
            print(f"\npage to scenario list: {time.monotonic() - start:.2f} s (the page loaded in "
                  f"{loaded:.2f} s; the rest is the app starting and drawing)")
            assert SCENARIO in screen and "r run" in screen

            page.evaluate("() => window.__textual.terminal.focus()")
            page.keyboard.press("r")
            screen = wait_for(f"{SCENARIO}: ok", 30)
            page.wait_for_function(f"() => /[✓✗]/.test(({SCREEN})())", timeout=10_000)
            screen = str(page.evaluate(SCREEN))
            assert "No findings yet" not in screen
            page.screenshot(path=tmp_path / "statelab-browser.png")
            shutil.copy(tmp_path / "statelab-browser.png", SHOT)

            # export: two downloads, nothing written where the server runs
            page.keyboard.press("e")
            deadline = time.monotonic() + 20
            while len(downloads) < 2 and time.monotonic() < deadline:
                page.wait_for_timeout(100)  # lets playwright deliver its events; bounded
            got = {d.suggested_filename: Path(d.path()).read_text() for d in downloads}
            stem = f"statelab-{SCENARIO}"
            assert set(got) == {f"{stem}.md", f"{stem}.jsonl"}
            assert got[f"{stem}.md"].startswith(f"# statelab transcript: {SCENARIO}")
            kinds = [json.loads(line)["kind"] for line in got[f"{stem}.jsonl"].splitlines()]
            assert kinds[0] == "run-start" and kinds[-1] == "run-end" and "finding" in kinds
            assert not [*tmp_path.glob("*.md"), *tmp_path.glob("*.jsonl")], \
                "export wrote files where the server runs"

            # a stepped run, paused: then the tab closes
            page.keyboard.press("s")
            wait_for("PAUSED at", 30)
            session = psutil.Process(server.pid).children(recursive=True)
            apps = [p for p in session if p.cmdline()[1:3] == ["-m", "tui"]]
            assert len(apps) == 1 and len(session) >= 4, session  # the app, runner, parent, child
            paused_shm = run_entries() - before_shm
            page.close()
            left = living(session, within=10)
            assert not left, f"still running 10 s after the tab closed: {left}"
            assert server.poll() is None, "the server ended with the tab"
        finally:
            context.close()
            end(session)
        server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0
    deadline = time.monotonic() + 3
    while paused_shm & run_entries() and time.monotonic() < deadline:
        time.sleep(0.05)  # polling with a deadline: clean-up ends just after the processes
    assert not paused_shm & run_entries(), "/dev/shm entries of the run were left"
    assert not glob.glob(str(tmp_path / "tmp" / "pymp-*")), "pymp-* folders were left"


async def paused_tab(port: int) -> tuple[Any, Any]:
    """A tab without a browser: textual-serve's websocket, as its page speaks it; s starts a
    stepped run once the app has drawn. Returns (session, websocket) once the run is paused."""
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(f"http://127.0.0.1:{port}/ws?width=160&height=48",
                                  origin=f"http://127.0.0.1:{port}")
    seen = bytearray()

    async def until(text: bytes) -> None:
        async with asyncio.timeout(30):
            while text not in seen:
                message = await ws.receive()
                assert message.type == aiohttp.WSMsgType.BINARY, message
                seen.extend(message.data)

    await until(b"queue-copy")
    await ws.send_json(["stdin", "s"])
    await until(b"PAUSED at")
    return session, ws


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
async def test_the_server_ending_ends_each_tab_and_its_run(sig: signal.Signals,
                                                           tmp_path: Path) -> None:
    """The server stopped (SIGTERM, as Ctrl+C) or killed with a tab open and its run paused:
    the tab's app and the run are gone all the same (SIGKILL: the app's parent-death signal)."""
    with served(tmp_path) as (server, port):
        session, ws = await paused_tab(port)
        processes = psutil.Process(server.pid).children(recursive=True)
        try:
            assert len(processes) >= 4, processes  # the app, runner, parent, child
            server.send_signal(sig)
            left = await asyncio.to_thread(living, processes, 10)
            assert not left, f"still running 10 s after the server got {sig.name}: {left}"
        finally:
            end(processes)
            await ws.close()
            await session.close()
    assert not glob.glob(str(tmp_path / "tmp" / "pymp-*")), "pymp-* folders were left"


def handshake(port: int, host: str, origin: str) -> int:
    """The status of a websocket handshake with these Host and Origin headers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/ws", headers={
            "Host": host, "Origin": origin, "Connection": "Upgrade", "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "c3RhdGVsYWItdGVzdC0xMg=="})
        return connection.getresponse().status
    finally:
        connection.close()


def test_only_its_own_page_may_start_an_app(tmp_path: Path) -> None:
    """Another site's page (any Origin but the server's own), or a site that rebound its own
    name to 127.0.0.1 (the Host is its name), is refused before an app starts."""
    with served(tmp_path) as (server, port):
        here = f"127.0.0.1:{port}"
        assert handshake(port, here, "http://example.com") == 403
        assert handshake(port, f"rebound.example:{port}", f"http://rebound.example:{port}") == 403
        assert psutil.Process(server.pid).children() == []


@pytest.mark.parametrize(("args", "says"), [
    (["--port", "x"], "--port takes a number from 1 to 65535, not 'x'"),
    (["--port", "70000"], "--port takes a number from 1 to 65535, not 70000"),
    (["--port"], "--port needs a value"),
    (["--host", ""], "--host takes an IP address or a host name, not ''"),
    (["--host", "h" * 300], f"--host takes an IP address or a host name, not '{'h' * 40}'…"),
    (["--host", "nosuch.invalid"], "--host 'nosuch.invalid' does not resolve"),
    (["--what"], "serve takes --host and --port only, not '--what'"),
])
def test_bad_input_is_one_line_and_status_2(args: list[str], says: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert serve.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"statelab serve: {says}") and err.count("\n") == 1


def test_a_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve.main(["--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on '127.0.0.1' port {port}" in err and err.count("\n") == 1


def test_loopback_is_quiet_and_any_other_host_is_warned() -> None:
    assert serve.loopback_only(["127.0.0.1", "::1"])
    assert not serve.loopback_only(["0.0.0.0"])
    warning = serve.warning("0.0.0.0", 8000)
    assert "anyone who can reach port 8000 can start processes" in warning
    assert "ssh -L 8000:127.0.0.1:8000 " in warning and "\n" not in warning
    assert serve.same_page("127.0.0.1:8000", "http://127.0.0.1:8000", any_host=False)
    assert serve.same_page("localhost:9000", "http://localhost:9000", any_host=False)  # a tunnel
    assert not serve.same_page("evil.example:8000", "http://evil.example:8000", any_host=False)
    assert serve.same_page("lab.example:8000", "http://lab.example:8000", any_host=True)
    assert not serve.same_page("lab.example:8000", "http://evil.example", any_host=True)
