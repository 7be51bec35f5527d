"""manager: proxies through a Queue, a type code nobody enforces, the cost of a round trip.

The expectations are facts of CPython: a manager proxy pickles to a handle that
reconnects to the server, so a child that got it from a Queue changes the
server's object; managers.Value stores whatever it is given; a ctypes c_int
refuses a str and keeps the low bits of a big int; a Synchronized Value refuses
to be pickled outside process start-up. One run per start method serves every
test of that method.
"""

from __future__ import annotations

import ctypes
from multiprocessing.managers import DictProxy, ValueProxy
from typing import Any

import pytest

from tests.runs import Run, refused, run

OPERATIONS = 300  # few, to keep the suite quick; the timing still shows the gap


@pytest.fixture(scope="module")
def result(start_method: str) -> Run:
    done = run("manager", "--start-method", start_method, "--typecode", "i",
               "--operations", str(OPERATIONS))
    assert done.returncode == 0 and done.status == "ok", [e["text"] for e in done.events]
    return done


def test_child_changes_the_dict_it_got_from_a_queue(result: Run) -> None:
    got = result.first("child-got-proxies", "child")
    assert got["types"] == [DictProxy.__name__, ValueProxy.__name__]
    seen = result.first("parent-reads-dict", "parent")["value"]
    # the child wrote its own pid through the proxy: the parent reads the same number
    assert seen["child_pid"] == result.pid_of("child")
    assert seen == result.first("child-changed-dict", "child")["value"]
    assert result.holds("proxy-passes-through-queue") is True


def test_a_shared_value_does_not_go_through_a_queue(result: Run) -> None:
    contrast = result.first("value-on-queue", "parent")
    assert contrast["put_returned"] is True
    assert contrast["first"] != "Synchronized"  # what came out first was not the Value
    feeder = "".join(e["text"] for e in result.of_kind("output") if e["role"] == "parent"
                     and (e.get("data") or {}).get("thread") == "QueueFeederThread")
    assert "RuntimeError" in feeder and "through inheritance" in feeder


def stores(result: Run, what: str, kind: type) -> list[dict[str, Any]]:
    found = [s for s in result.observed(what) if s["written_type"] == kind.__name__]
    assert found, f"no {kind.__name__} stored in {what}"
    return found


def test_manager_value_keeps_a_str_and_a_big_int(result: Run) -> None:
    for stored in stores(result, "manager-stores", str):
        assert stored["refused"] is False
        assert (stored["read"], stored["read_type"]) == (stored["written"], "str")
    for stored in stores(result, "manager-stores", int):
        assert stored["written"] > 2**64  # beyond any C integer type
        assert (stored["read"], stored["read_type"]) == (stored["written"], "int")
    read = result.first("child-reads-value", "child")
    assert read["type"] == "str"  # the child, through its own proxy, reads the parent's str
    assert result.holds("typecode-enforced") is False


def test_child_writes_a_big_int_the_parent_reads_back(result: Run) -> None:
    written = result.first("child-stores", "child")
    assert written["refused"] is False and written["written"] > 2**64
    back = result.first("parent-reads-value", "parent")
    assert (back["value"], back["type"]) == (written["written"], "int")


def test_ctypes_value_refuses_a_str_and_wraps_a_big_int(result: Run) -> None:
    for stored in stores(result, "ctypes-stores", str):
        assert stored["refused"] is True and stored["error"] == "TypeError"
    for stored in stores(result, "ctypes-stores", int):
        assert stored["refused"] is False
        assert stored["read"] == ctypes.c_int(stored["written"]).value != stored["written"]


def test_every_increment_counted_and_the_proxy_is_slower(result: Run) -> None:
    cost = result.first("cost", "parent")
    assert cost["operations"] == OPERATIONS
    assert cost["proxy_count"] == cost["shared_count"] == OPERATIONS
    # a round trip to another process against a store in shared memory
    assert cost["proxy_seconds"] > cost["shared_seconds"] > 0
    finding = result.findings()["manager-slower"]
    assert finding["holds"] is not None and f"{OPERATIONS} increments" in finding["evidence"]


def test_the_server_process_is_reported_and_ends(result: Run) -> None:
    result.assert_server_reported_and_ended()


@pytest.mark.parametrize("operations", ["0", "-5", "1000000000", "many", "2.5"])
def test_operations_out_of_bounds_is_one_line(operations: str) -> None:
    assert "--operations" in refused("manager", "--operations", operations)


def test_a_knob_it_does_not_take_is_refused() -> None:
    assert "--lock" in refused("manager", "--lock", "false")
