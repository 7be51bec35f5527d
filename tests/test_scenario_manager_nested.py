"""manager-nested: a plain list, a reassigned list and a manager list inside a managed dict.

What the child reads under each key and what the parent reads afterwards are compared with
tests/plain/manager_nested.py, the same program with nothing but the standard library, under
the same start method. The run gets a TMPDIR of its own, so a pymp-* folder the manager's
server leaves is seen, and no other program's is.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import runs
from tests.runs import Run, refused, run

KEYS = {"plain": "plain-list-change-reaches-parent",
        "reassigned": "reassigned-list-reaches-parent",
        "nested": "nested-proxy-reaches-parent"}


@pytest.fixture(scope="module")
def tmpdir_left(start_method: str) -> Iterator[tuple[Run, list[str]]]:
    """The run, and what it left in its own TMPDIR."""
    with tempfile.TemporaryDirectory() as tmp:
        done = run("manager-nested", "--start-method", start_method, tmpdir=Path(tmp))
        yield done, os.listdir(tmp)


@pytest.fixture(scope="module")
def result(tmpdir_left: tuple[Run, list[str]]) -> Run:
    done = tmpdir_left[0]
    assert done.returncode == 0 and done.status == "ok", [e["text"] for e in done.events]
    return done


@pytest.fixture(scope="module")
def fact(start_method: str) -> dict[str, Any]:
    found = runs.plain("manager_nested.py", start_method)[0]
    assert found["exitcode"] == 0
    return found


def test_the_child_reads_what_a_plain_program_reads(result: Run, fact: dict[str, Any]) -> None:
    assert result.first("child-got", "child")["types"] == fact["types"]
    # the parent's dict holds a proxy under 'nested' before the child runs, too
    assert result.first("parent-made", "parent")["types"] == fact["types"]


def test_what_reaches_the_parent_is_what_reaches_a_plain_parent(result: Run,
                                                                fact: dict[str, Any]) -> None:
    before = result.first("parent-made", "parent")["value"]
    after = result.first("parent-reads", "parent")["value"]
    assert after == fact["after"]
    for key, finding in KEYS.items():
        assert result.holds(finding) is (after[key] != before[key])
        assert result.holds(finding) is ("child" in fact["after"][key])


def test_the_child_sees_its_own_append_lost(result: Run) -> None:
    # the append went to a copy: even the child, reading again, does not find it
    back = result.first("child-reads-back", "child")["value"]
    after = result.first("parent-reads", "parent")["value"]
    assert back == after


def test_the_server_is_reported_ends_and_leaves_no_folder(
        result: Run, tmpdir_left: tuple[Run, list[str]]) -> None:
    result.assert_server_reported_and_ended()
    assert tmpdir_left[1] == [], f"left in the run's TMPDIR: {tmpdir_left[1]}"


def test_a_knob_it_does_not_take_is_refused() -> None:
    assert "--typecode" in refused("manager-nested", "--typecode", "i")
