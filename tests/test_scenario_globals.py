"""globals: a module-level int and list changed by the parent before start(), then by children.

What each child reads, and whether it ran the module's top level itself, is compared with
tests/plain/globals.py, the same program with nothing but the standard library, under the same
start method: the findings must say what a plain program does on this interpreter.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import runs
from tests.runs import Run, refused, run

CHILDREN = ("child", "child-2")


@pytest.fixture(scope="module")
def result(start_method: str) -> Run:
    done = run("globals", "--start-method", start_method)
    assert done.returncode == 0 and done.status == "ok", [e["text"] for e in done.events]
    return done


@pytest.fixture(scope="module")
def fact(start_method: str) -> dict[str, Any]:
    return runs.plain("globals.py", start_method)[0]


def test_each_child_starts_where_a_plain_program_starts(result: Run, fact: dict[str, Any]
                                                       ) -> None:
    changed = result.first("parent-changed", "parent")
    for name, expected in zip(CHILDREN, fact["children"], strict=True):
        seen = result.first("child-sees", name)
        assert seen["own_import"] == expected["own_import"]
        # the plain program's parent makes the same change: from it, or from the module's source
        from_parent = (expected["counter"], expected["items"]) == (
            fact["parent_after"]["counter"], fact["parent_after"]["items"])
        if from_parent:
            assert (seen["value"], seen["items"]) == (changed["value"], changed["items"])
        else:
            imported = result.first("parent-imported", "parent")
            assert (seen["value"], seen["items"]) == (imported["value"], imported["items"])
        assert result.holds("child-sees-parent-change") is from_parent


def test_whose_import_each_child_runs(result: Run) -> None:
    for name in CHILDREN:
        seen = result.first("child-sees", name)
        if seen["own_import"]:
            assert seen["loaded_in"] == result.pid_of(name)
        else:  # a copy by fork of a module imported in another process of this run
            assert seen["loaded_in"] != result.pid_of(name)
            assert seen["loaded_in"] in result.pids


def test_no_child_change_reaches_the_parent_or_the_next_child(result: Run,
                                                              fact: dict[str, Any]) -> None:
    changed = result.first("parent-changed", "parent")
    after = result.first("parent-after", "parent")
    reached = (after["value"], after["items"]) != (changed["value"], changed["items"])
    plain_reached = fact["parent_after"] != {"counter": 10, "items": ["parent"]}
    assert reached == plain_reached
    assert result.holds("child-change-reaches-parent") is reached
    first, second = result.first("child-changed", "child"), result.first("child-sees", "child-2")
    assert "child" in first["items"] and "child" not in second["items"]


def test_a_knob_it_does_not_take_is_refused() -> None:
    assert "--lock" in refused("globals", "--lock", "false")
