"""Remote manager: a dict served over TCP on 127.0.0.1, guarded by an authkey.

A ``BaseManager`` subclass serves one dict at ``("127.0.0.1", 0)``: port 0
lets the system pick a free port, and ``manager.address`` says which one. The
authkey is fresh random bytes for every run. A client that knows the address
and the key connects from another process and changes the dict; the parent
sees the change. A client with a wrong key is refused before it can ask for
anything. Where the server really listens is read from the kernel's own
table of sockets, /proc/net/tcp.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import secrets
import socket
import time
from collections.abc import Callable
from multiprocessing.managers import BaseManager, DictProxy

from scenarios.engine.api import (
    Any,
    Finding,
    Lab,
    RunState,
    Scenario,
    checkpoint,
    missing,
    observe,
    run_as_script,
)

SPEC = Scenario(
    name="remote-manager",
    order=11,
    title="A manager on 127.0.0.1 with an authkey",
    summary="serve a dict on 127.0.0.1; a client with the key shares it, a wrong key is refused",
)

LOOPBACK = "127.0.0.1"
_DICT: dict[str, Any] = {}


def _the_dict() -> dict[str, Any]:
    return _DICT  # runs in the server process: the one dict every client's proxy talks to


class DictManager(BaseManager):
    shared_dict: Callable[[], Any]  # made by register() below


# module level, so that a spawned server process finds it by name
DictManager.register("shared_dict", callable=_the_dict, proxytype=DictProxy)


def client(address: tuple[str, int], authkey: bytes) -> None:
    start = time.perf_counter()
    manager = DictManager(address=address, authkey=authkey)
    # connect() takes no timeout: the run's deadline bounds it (the runner stops the whole run)
    manager.connect()
    shared = manager.shared_dict()
    seen = shared.copy()
    seconds = time.perf_counter() - start  # connect(), create the proxy, one call: all over TCP
    observe("client-connected", f"client connected to {address[0]}:{address[1]} and sees {seen} "
            f"({seconds * 1000:.0f} ms from connect() to the first answer)", value=seen,
            seconds=seconds)
    shared["client_pid"] = os.getpid()
    shared["note"] = "written by the client"
    observe("client-changed", f"client changed the dict: {shared.copy()}", value=shared.copy())


def wrong_key_client(address: tuple[str, int], authkey: bytes) -> None:
    # what counts is the key a client presents: under fork this child inherited the parent's
    # memory, right key included, but it does not present it
    manager = DictManager(address=address, authkey=authkey)
    try:
        manager.connect()
        seen = manager.shared_dict().copy()
    except Exception as exc:
        observe("wrong-key-result", f"connecting with a wrong key raised {type(exc).__module__}."
                f"{type(exc).__qualname__}: {exc}", refused=True, exception=type(exc).__name__,
                module=type(exc).__module__, message=str(exc),
                authentication_error=isinstance(exc, multiprocessing.AuthenticationError))
        return
    observe("wrong-key-result", f"a client with a wrong key connected and read {seen}",
            refused=False, value=seen)


# -- where the server listens, from the kernel ------------------------------------------------

def _ip(hex_ip: str) -> str:
    """An address as /proc/net/tcp{,6} writes it: 32-bit words in host (little-endian) order."""
    raw = b"".join(bytes.fromhex(hex_ip[i:i + 8])[::-1] for i in range(0, len(hex_ip), 8))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def listening(port: int, server_pid: int) -> list[dict[str, Any]]:
    """Every socket listening on this port, and whether the server process holds it."""
    held = set()
    for fd in os.listdir(f"/proc/{server_pid}/fd"):
        # an fd may close after listdir(): the server closes its start-up pipe as it goes on
        with contextlib.suppress(OSError):
            held.add(os.readlink(f"/proc/{server_pid}/fd/{fd}"))
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = [line.split() for line in f.read().splitlines()[1:]]
        except OSError:
            continue
        for row in rows:
            hex_ip, hex_port = row[1].split(":")
            if row[3] == "0A" and int(hex_port, 16) == port:  # 0A: TCP_LISTEN
                found.append({"ip": _ip(hex_ip), "port": port, "table": table,
                              "server_holds_it": f"socket:[{row[9]}]" in held})
    return found


def describe(sockets: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s['ip']}:{s['port']} in {s['table']}"
                     + ("" if s["server_holds_it"] else " (held by another process)")
                     for s in sockets) or "no listening socket"


def parent(lab: Lab) -> None:
    authkey = secrets.token_bytes(16)  # new for every run: a fixed key is a known key
    with DictManager(address=(LOOPBACK, 0), authkey=authkey, ctx=lab.ctx) as server:
        pid = lab.announce_manager(server)
        address: Any = server.address  # a TCP address: (host, port)
        host, port = str(address[0]), int(address[1])
        observe("server-address", f"the manager was asked for ({LOOPBACK!r}, 0) and reports "
                f"address ({host!r}, {port})", host=host, port=port)
        sockets = listening(port, pid)
        observe("listening", f"sockets listening on port {port}: {describe(sockets)}",
                port=port, sockets=sockets)

        checkpoint("before-client", "the server listens; a client with the right key connects")
        lab.join(lab.start(client, (host, port), authkey))
        wrong = bytes(b ^ 0xFF for b in authkey)  # differs from the key in every byte
        checkpoint("before-wrong-key", "a client with a wrong key tries to connect")
        lab.join(lab.start(wrong_key_client, (host, port), wrong))

        # the parent's own proxy is made only now, so no forked child inherited it
        seen = server.shared_dict().copy()
        observe("parent-reads", f"the parent reads the dict through its own proxy: {seen}",
                value=seen)
    lab.manager_ended(server)


# -- findings ---------------------------------------------------------------------------------

def findings(run: RunState) -> list[Finding]:
    return [refused(run), loopback(run)]


def refused(run: RunState) -> Finding:
    result, changed, seen = (run.first("wrong-key-result"), run.first("client-changed"),
                             run.first("parent-reads"))
    holds, evidence = None, missing(run, "wrong-key-result")
    if result:
        holds = bool(result["refused"])
        evidence = (f"with a wrong key, connect() raised {result['module']}.{result['exception']}: "
                    f"{result['message']}" if holds else
                    f"a client with a wrong key connected and read {result['value']}")
        if changed and seen:
            shared = all(seen["value"].get(k) == v for k, v in changed["value"].items())
            evidence += (f"; with the right key, the client wrote {changed['value']} and the "
                         + ("parent read it back" if shared else f"parent read {seen['value']}"))
    return Finding("wrong-authkey-refused", "A client with a wrong authkey is refused",
                   holds, True, evidence)


def loopback(run: RunState) -> Finding:
    address, found = run.first("server-address"), run.first("listening")
    if not (address and found):
        return Finding("bound-to-loopback", "The manager listens on 127.0.0.1 only", None, True,
                       missing(run, "server-address", "listening"))
    mine = [s for s in found["sockets"] if s["server_holds_it"]]
    holds = address["host"] == LOOPBACK and bool(mine) and all(s["ip"] == LOOPBACK for s in mine)
    evidence = (f"manager.address is ({address['host']!r}, {address['port']}); the kernel lists "
                f"{describe(found['sockets'])}")
    return Finding("bound-to-loopback", "The manager listens on 127.0.0.1 only", holds, True,
                   evidence)


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
