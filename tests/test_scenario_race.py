"""race: N processes add 1 to one shared Value M times.

How many updates a race loses is up to the scheduler, so these tests never
assert a loss: only what is certain. The counts add up; every worker did its
M increments; `with v.get_lock():` loses nothing; a plain Lock() given as the
lock deadlocks under get_lock (the value property takes the same lock again,
and a Lock is not reentrant) while an RLock does not.
"""

from __future__ import annotations

import pytest

from tests.contract import check_stream
from tests.runs import Run, refused, run


def race(method: str, *args: str) -> Run:
    result = run("race", "--start-method", method, *args)
    assert result.returncode == 0 and result.status == "ok", [e["text"] for e in result.events]
    check_stream(result.events)
    return result


def assert_counts_add_up(result: Run, processes: int, iterations: int) -> dict[str, int]:
    workers = result.observed("worker-done")
    assert len(workers) == processes
    assert len({w["start"] for w in workers}) == processes  # one report per worker
    assert all(w["count"] == iterations for w in workers)
    outcome = result.first("result", "parent")
    assert outcome["expected"] == processes * iterations
    assert outcome["final"] + outcome["lost"] == outcome["expected"]
    assert 0 < outcome["final"] <= outcome["expected"]
    assert result.holds("lost-updates") is (outcome["final"] < outcome["expected"])
    assert result.holds("deadlock") is False
    return outcome


@pytest.mark.parametrize("lock", ["false", "true"])
def test_unguarded_counts_add_up(start_method: str, lock: str) -> None:
    # enough iterations that a loss is likely, but the test only checks the arithmetic
    result = race(start_method, "--lock", lock, "--processes", "2", "--iterations", "50000")
    assert_counts_add_up(result, 2, 50000)


@pytest.mark.parametrize("lock", ["true", "rlock"])
def test_get_lock_loses_nothing(start_method: str, lock: str) -> None:
    result = race(start_method, "--lock", lock, "--guard", "get_lock",
                  "--processes", "3", "--iterations", "3000")
    outcome = assert_counts_add_up(result, 3, 3000)
    assert outcome["final"] == 9000 and outcome["lost"] == 0
    assert result.holds("lost-updates") is False


def test_plain_lock_with_get_lock_deadlocks_and_times_out_cleanly(start_method: str) -> None:
    # run() also checks that the killed run left no process, no /dev/shm entry, no "leaked"
    result = run("race", "--start-method", start_method, "--lock", "lock", "--guard", "get_lock",
                 "--processes", "2", "--iterations", "1000", "--timeout", "2")
    assert result.returncode == 1 and result.status == "timeout"
    assert not result.observed("worker-done") and not result.observed("result")
    where = {e["role"]: e["data"]["where"] for e in result.of_kind("error")
             if "where" in e.get("data", {})}
    assert any("getvalue" in w or "setvalue" in w for w in where.values()), where
    assert result.holds("deadlock") is True
    assert result.holds("lost-updates") is None



@pytest.mark.parametrize("args, words", [
    (("--processes", "1000"), ("--processes", "64")),
    (("--processes", "0"), ("--processes",)),
    (("--guard", "get_lock", "--lock", "false"), ("get_lock", "lock")),
    (("--processes", "64", "--iterations", "500000"), ("--processes", "--iterations")),
    (("--typecode", "c"), ("--typecode",)),
    (("--value", "3"), ("--value",)),
])
def test_bad_input_is_one_line_and_starts_nothing(args: tuple[str, ...],
                                                  words: tuple[str, ...]) -> None:
    line = refused("race", *args)
    assert all(w in line for w in words), line
