"""shared-memory: attach by name, write back, unlink, and what the resource tracker does.

Facts relied on (CPython 3.8+ on Linux): a POSIX shared memory segment is a
file in /dev/shm and keeps the size it was given; a process that attaches by
name registers the segment with its resource tracker unless it passes
track=False (3.13+); a tracker unlinks what is still registered when the last
process writing to it is gone, with a "leaked" warning; spawn and forkserver
children write to their parent's tracker, a forked child inherits it only if
it was already running.
"""

from __future__ import annotations

import sys

import pytest

from tests.runs import Run, refused, run

SIZE = 10_000  # not a multiple of the page size: Linux keeps the size asked for


def leaky_run(*args: str) -> Run:
    """A run whose tracker may warn of a leak (the lesson): still no process or segment left."""
    return run("shared-memory", *args, leak_warning_ok=True)


def test_attach_by_name_and_write_back(start_method: str) -> None:
    result = run("shared-memory", "--start-method", start_method, "--size", str(SIZE))
    assert result.status == "ok", [e["text"] for e in result.events]
    made, seen = result.first("parent-created"), result.first("child-attached")
    assert seen["name"] == made["name"] and seen["size"] == SIZE
    keys = ("head", "crc32", "items")
    assert [seen[k] for k in keys] == [made[k] for k in keys]
    wrote, back = result.first("child-wrote"), result.first("after-child-exit")
    assert wrote["head"] != made["head"] and wrote["items"] != made["items"]
    assert (back["head"], back["items"]) == (wrote["head"], wrote["items"])
    assert result.holds("attach-by-name-sees-data") is True
    assert result.holds("parent-sees-child-write") is True
    # created before the child started: every start method hands the child the parent's tracker
    assert seen["tracker_pipe"] == made["tracker_pipe"]
    assert back["exists"] and back["list_exists"]  # the child's exit removed nothing
    assert result.holds("child-exit-removes-segment") is False
    assert [u["error"] for u in result.observed("parent-unlinked")] == [None, None]


def test_never_unlinked_the_tracker_cleans_up_and_warns(start_method: str) -> None:
    result = leaky_run("--start-method", start_method, "--unlink", "never")
    assert result.first("parent-done")["exists"]  # still there when the parent was done
    warnings = [e for e in result.of_kind("output") if "leaked shared_memory" in e["text"]]
    assert warnings and {e["role"] for e in warnings} == {"resource-tracker"}
    assert result.holds("tracker-warns-leak") is True


def test_child_started_before_the_segments_exist(start_method: str) -> None:
    result = leaky_run("--start-method", start_method, "--order", "start-first")
    made, seen = result.first("parent-created"), result.first("child-attached")
    back = result.first("after-child-exit")
    assert result.holds("attach-by-name-sees-data") is True
    if start_method == "fork":
        # no tracker ran when the child was forked: attaching started one of its own, which
        # unlinked the segment it had registered as soon as the child was gone
        assert seen["tracker_pipe"] != made["tracker_pipe"]
        assert not back["exists"] and not back["list_exists"]
        assert result.holds("child-exit-removes-segment") is True
        assert "FileNotFoundError" not in result.output()  # the parent's unlink was caught
        assert [u["error"] for u in result.observed("parent-unlinked")] != [None, None]
    else:
        assert seen["tracker_pipe"] == made["tracker_pipe"]
        assert back["exists"] and back["list_exists"]
        assert result.holds("child-exit-removes-segment") is False


def test_child_unlinks_and_the_parent_still_reads_its_mapping() -> None:
    result = run("shared-memory", "--start-method", "spawn", "--unlink", "child")
    assert result.first("child-unlinked")["exists"] is False
    back, wrote = result.first("after-child-exit"), result.first("child-wrote")
    assert not back["exists"]
    assert (back["head"], back["items"]) == (wrote["head"], wrote["items"])
    assert result.observed("parent-unlinked") == []
    assert result.holds("child-exit-removes-segment") is None  # the child unlinked it itself


def test_track_false() -> None:
    args = ["shared-memory", "--start-method", "fork", "--order", "start-first", "--track", "false"]
    if sys.version_info < (3, 13):
        assert "3.13" in refused(*args)
        return
    result = leaky_run(*args[1:])
    back = result.first("after-child-exit")
    assert back["exists"]  # the child's own tracker never heard of the SharedMemory block
    assert not back["list_exists"]  # ShareableList has no track=: its segment was registered
    assert result.holds("child-exit-removes-segment") is False


@pytest.mark.parametrize("args", [
    ["--size", "0"], ["--size", "1e9"], ["--size", str(2**40)], ["--unlink", "sometimes"],
    ["--order", "random"], ["--track", "no"], ["--touch", "read"],
])
def test_bad_input_is_one_line(args: list[str]) -> None:
    assert args[0] in refused("shared-memory", *args)
