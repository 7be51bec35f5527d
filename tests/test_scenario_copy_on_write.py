"""copy-on-write: what USS shows when a child reads or writes a big object of its parent.

The expectations are facts of Linux and CPython: a forked child shares its
parent's pages until one of them writes; reading a Python int writes its
reference count; reading a bytearray's bytes writes nothing in the buffer;
spawn and forkserver children get a pickled copy.
"""

from __future__ import annotations

import pytest

from tests.runs import Run, refused, run

MiB = 1024 * 1024
SIZE = 32  # MiB: big enough to stand far above the noise of a few MiB, quick to build


def cow(method: str, touch: str, obj: str = "list") -> Run:
    result = run("copy-on-write", "--start-method", method, "--touch", touch, "--object", obj,
                 "--size", str(SIZE))
    assert result.returncode == 0 and result.status == "ok", [e["text"] for e in result.events]
    return result


def growth(result: Run) -> int:
    return int(result.first("child-after")["uss"] - result.first("child-before")["uss"])


def test_writing_every_element(start_method: str) -> None:
    result = cow(start_method, "write")
    before = result.first("child-before")
    if start_method == "fork":
        # the child started with almost nothing of its own, and writing copied the object
        assert before["uss"] < SIZE * MiB / 4
        assert growth(result) >= SIZE * MiB / 2
        assert result.holds("writing-copies-pages") is True
        # while the child held the pages untouched, they no longer counted as the parent's own
        built, shared = result.first("parent-built"), result.first("parent-before")
        assert built["uss"] - shared["uss"] >= SIZE * MiB / 2
    else:
        # the child unpickled its own copy: nothing shared to copy, so writing adds little
        assert before["uss"] >= SIZE * MiB / 2
        assert growth(result) < SIZE * MiB / 4
        assert result.holds("writing-copies-pages") is None
    assert result.holds("child-shares-parent-pages") is (start_method == "fork")


def test_reading_a_list_of_ints(start_method: str) -> None:
    result = cow(start_method, "read")
    # the child read the same numbers the parent put in, whichever way they reached it
    assert result.first("child-after")["sum"] == result.first("parent-built")["sum"]
    if start_method == "fork":
        assert growth(result) >= SIZE * MiB / 2  # every int's reference count was written
        assert result.holds("reading-copies-pages") is True
    else:
        assert growth(result) < SIZE * MiB / 4
        assert result.holds("reading-copies-pages") is None
    assert result.holds("writing-copies-pages") is None  # the child did not write


def test_reading_a_bytearray_under_fork_copies_nothing() -> None:
    result = cow("fork", "read", "bytearray")
    assert growth(result) < SIZE * MiB / 8
    assert result.holds("reading-copies-pages") is False
    assert result.first("child-after")["sum"] == result.first("parent-built")["sum"]


def test_checkpoints_around_the_touch() -> None:
    result = cow("fork", "write", "bytearray")
    names = [e["data"]["name"] for e in result.of_kind("checkpoint")]
    assert names == ["before-touch", "after-touch"]
    # measurements happen in order: the child before, the parent, the touch, the child after
    # (by the time each process stamped its event: the merged stream may interleave otherwise)
    at = {e["data"]["what"]: e["t"] for e in result.of_kind("observe")}
    assert at["child-before"] < at["parent-before"] < at["child-after"] < at["parent-after"]


@pytest.mark.parametrize("args", [
    ["--size", "0"], ["--size", "100000"], ["--size", "big"], ["--touch", "sniff"],
    ["--object", "dict"], ["--typecode", "i"],
])
def test_bad_input_is_one_line(args: list[str]) -> None:
    assert args[0] in refused("copy-on-write", *args)
