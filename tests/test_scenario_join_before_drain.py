"""join-before-drain: children whose Queue nobody reads, under each start method.

The tries around the pipe's capacity are checked against tests/plain/join_before_drain.py, a
script that puts the same sizes with the standard library only and looks into each queue's pipe:
a child that ended on its own had written its whole message there (so the scenario's message
sizes are what really went through the pipe), one that had not ended could not write all of it.
Then the trap: above the threshold the run ends at its deadline with the stacks of the stuck
pair, the parent in join() and the child's feeder thread writing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import runs
from tests.runs import Run, refused, run

WAIT = "2"  # seconds each try gets to end on its own, in the scenario and the plain script alike


def plain(method: str, *sizes: int) -> dict[str, Any]:
    return runs.plain("join_before_drain.py", method, WAIT, *map(str, sizes), timeout=120)[0]


def scenario(*args: str, tmp: Path) -> Run:
    """Run it with a TMPDIR of its own: no pymp-* folder of the run may be left there."""
    return run("join-before-drain", "--wait", WAIT, *args, tmpdir=tmp)


@pytest.fixture(scope="module")
def trapped(start_method: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """One run per start method with the default --size (above a 64 KiB pipe) and timeout."""
    yield scenario("--start-method", start_method, tmp=tmp_path_factory.mktemp("tmpdir"))


def test_the_tries_end_as_a_plain_scripts_children_do(trapped: Run, start_method: str) -> None:
    tries = trapped.observed("try", "parent")
    assert len(tries) == 4
    fact = plain(start_method, *(t["size"] for t in tries))
    assert trapped.first("pipe-capacity", "parent")["capacity"] == fact["capacity"]
    for t in tries:
        seen = fact["tries"][str(t["size"])]
        assert t["alone"] is seen["alone"], (t, seen)
        assert t["got"] == seen["got"] == t["size"]
        if seen["alone"]:  # the whole message was in the pipe: the scenario's count is right
            assert seen["in_pipe"] == t["message"] <= fact["capacity"]
        else:  # the child could not write all of it
            assert seen["in_pipe"] < t["message"]
        assert t["exitcode"] == seen["exitcode"] == 0
    # the tries straddle the pipe's capacity: exactly the messages that fit ended by themselves
    assert [t["message"] for t in tries if t["alone"]] == \
        [t["message"] for t in tries if t["message"] <= fact["capacity"]]
    assert trapped.holds("threshold-is-the-pipe") is True
    waited = [t for t in tries if not t["alone"]]
    assert waited and trapped.holds("reading-frees-the-child") is True


def test_join_before_get_waits_until_the_deadline(trapped: Run) -> None:
    assert trapped.status == "timeout"
    assert trapped.events[0]["data"]["config"]["timeout"] == 5.0  # the scenario's own default
    joining = trapped.first("joining", "parent")
    assert joining["size"] == 100_000
    assert trapped.first("put-returned", "child")["size"] == 100_000  # its function was done
    assert not trapped.observed("joined", "parent")
    parent = trapped.stack("parent")
    assert re.search(r"line \d+ in join\n", parent) and "join_before_drain.py" in parent
    # the event keeps a stack's last 2,500 characters: the main thread, dumped last, is there
    assert re.search(r"line \d+ in _finalize_join\n", trapped.stack("child"))
    assert trapped.holds("join-returns") is False
    # the finding reads the whole stack, the feeder thread's frames too
    assert "the feeder thread is writing to the pipe (_feed, send_bytes)" in \
        trapped.findings()["join-returns"]["evidence"]


def test_a_message_that_fits_lets_join_return(tmp_path: Path) -> None:
    result = scenario("--start-method", "fork", "--size", "1000", tmp=tmp_path)
    assert result.status == "ok"
    assert result.first("joined", "parent")["seconds"] >= 0
    assert result.first("got", "parent")["size"] == 1000
    assert result.holds("join-returns") is True


@pytest.mark.parametrize(("args", "flag"), [
    (["--size", "-1"], "--size"),
    (["--size", str(64 << 20)], "--size"),
    (["--wait", "0"], "--wait"),
])
def test_bad_input_is_one_line(args: list[str], flag: str) -> None:
    assert flag in refused("join-before-drain", *args)
