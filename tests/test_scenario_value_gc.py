"""value-gc: a Value made inline as a Process argument, with no reference kept (gh-110660).

What the children read and where their counters live is compared with tests/plain/value_gc.py,
the same program with nothing but the standard library, under the same start method: the
scenario must report what a plain program does on this interpreter, not what the issue says.
Whether the second Value gets the first one's slot is the parent's heap allocator's doing, not
the scheduler's: the processes take turns on semaphores.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import runs
from tests.runs import Run, refused, run

CHILDREN = ("child", "child-2")


def plain(method: str, keep: str, lock: str) -> dict[str, Any]:
    return runs.plain("value_gc.py", method, keep, lock)[0]


def scenario(method: str, *args: str) -> Run:
    result = run("value-gc", "--start-method", method, *args)
    assert result.returncode == 0 and result.status == "ok", [e["text"] for e in result.events]
    return result


def reads(result: Run) -> list[dict[str, Any]]:
    """Each child's counter as the plain script reports it: where, and the three reads."""
    return [{"at": [result.first("counter-first", name)["inode"],
                    result.first("counter-first", name)["offset"]],
             "first": result.first("counter-first", name)["value"],
             "wrote": result.first("counter-wrote", name)["value"],
             "later": result.first("counter-later", name)["value"]} for name in CHILDREN]


@pytest.mark.parametrize("keep", ["false", "true"])
def test_children_read_what_a_plain_program_reads(start_method: str, keep: str) -> None:
    result = scenario(start_method, "--keep", keep)
    fact = plain(start_method, keep, "false")
    assert fact["exitcodes"] == [0, 0]
    seen = reads(result)
    # inodes differ between two programs: compare whether the slots coincide, and the offsets
    same_slot = seen[0]["at"] == seen[1]["at"]
    assert same_slot == (fact["children"][0]["at"] == fact["children"][1]["at"])
    for got, expected in zip(seen, fact["children"], strict=True):
        assert got["at"][1] == expected["at"][1]
        assert {k: got[k] for k in ("first", "wrote", "later")} == {
            k: expected[k] for k in ("first", "wrote", "later")}
    assert result.holds("separate-slots") is (not same_slot)
    # one slot means one number: the first child reads what the second wrote, and only then
    crossed = seen[0]["later"] != seen[0]["wrote"]
    assert crossed == same_slot
    assert result.holds("separate-counters") is (not crossed)
    if keep == "true":  # whatever the heap does, two live Values never share a slot
        assert not same_slot and result.holds("separate-slots") is True
    assert "child-opens-value" not in result.findings()  # no lock: nothing to open by name


def test_a_lock_the_parent_dropped(start_method: str) -> None:
    result = run("value-gc", "--start-method", start_method, "--lock", "true")
    opened = {name: bool(result.observed("counter-first", name)) for name in CHILDREN}
    exits = {e["role"]: e["data"]["exitcode"] for e in result.of_kind("process-exit")}
    if start_method == "fork":  # the semaphore was inherited, never opened by name
        assert "child-opens-value" not in result.findings()
        assert all(opened.values())
        return
    # the child opens the semaphore by name: whether the parent's finalizer unlinked it first
    # is a race, so the test asserts only that the finding says what happened
    finding = result.findings()["child-opens-value"]
    assert finding["holds"] is all(opened.values())
    for name, ok in opened.items():
        assert (exits[name] == 0) is ok, (name, exits)
        if not ok:
            assert f"{name} never read its Value and exited with code 1" in finding["evidence"]
            assert "FileNotFoundError" in result.output()


def test_keeping_the_values_lets_a_locked_value_open(start_method: str) -> None:
    result = scenario(start_method, "--keep", "true", "--lock", "true")
    assert all(result.observed("counter-later", name) for name in CHILDREN)
    assert "child-opens-value" not in result.findings()  # the claim is about dropped Values
    assert result.holds("separate-counters") is True


@pytest.mark.parametrize("args, word", [
    (("--keep", "maybe"), "--keep"),
    (("--typecode", "d"), "--typecode"),
    (("--lock", "yes"), "--lock"),
])
def test_bad_input_is_one_line(args: tuple[str, ...], word: str) -> None:
    assert word in refused("value-gc", *args)
