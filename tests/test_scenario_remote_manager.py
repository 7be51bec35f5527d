"""remote-manager: a dict served on 127.0.0.1, a client with the key, a client without it.

The expectations are facts of CPython and Linux: a BaseManager given
("127.0.0.1", 0) listens on the loopback address at a port the kernel picks;
a client with the authkey reaches the same dict; a wrong key makes connect()
raise multiprocessing.AuthenticationError; after shutdown() nothing listens.
One run per start method serves every test of that method.
"""

from __future__ import annotations

import multiprocessing
import socket

import pytest

from tests.runs import Run, refused, run

LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def result(start_method: str) -> Run:
    done = run("remote-manager", "--start-method", start_method)
    assert done.returncode == 0 and done.status == "ok", [e["text"] for e in done.events]
    return done


def test_the_client_with_the_key_shares_the_dict(result: Run) -> None:
    changed = result.first("client-changed", "child")["value"]
    seen = result.first("parent-reads", "parent")["value"]
    # the client wrote its own pid into the server's dict; the parent reads that number back
    assert seen["client_pid"] == result.pid_of("child")
    assert seen == changed


def test_a_wrong_key_is_refused(result: Run) -> None:
    refused = result.first("wrong-key-result", "child-2")
    assert refused["refused"] is True
    assert refused["exception"] == multiprocessing.AuthenticationError.__name__
    assert refused["authentication_error"] is True
    assert result.holds("wrong-authkey-refused") is True


def test_it_listens_on_loopback_only(result: Run) -> None:
    address = result.first("server-address", "parent")
    assert address["host"] == LOOPBACK
    assert 0 < address["port"] < 65536  # port 0 was asked for: the kernel picked a real one
    sockets = result.first("listening", "parent")["sockets"]
    held = [s for s in sockets if s["server_holds_it"]]
    assert held, sockets
    assert {(s["ip"], s["port"]) for s in held} == {(LOOPBACK, address["port"])}
    assert result.holds("bound-to-loopback") is True


def test_nothing_listens_after_the_run(result: Run) -> None:
    port = result.first("server-address", "parent")["port"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOOPBACK, port), timeout=2).close()


def test_the_server_process_is_reported_and_ends(result: Run) -> None:
    result.assert_server_reported_and_ended()


@pytest.mark.parametrize("knob", [["--typecode", "i"], ["--lock", "true"], ["--operations", "100"],
                                  ["--timeout", "0"]])
def test_bad_input_is_one_line(knob: list[str]) -> None:
    # no type code, no lock (there is no ctypes object), no manager's --operations; and a
    # timeout has bounds
    assert knob[0] in refused("remote-manager", *knob)
