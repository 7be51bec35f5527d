"""The deadline measures the scenario, not the reader: a runner whose reader is slow (the app
drawing, a terminal) ends its run as it would alone, and says what it left out of the stream.

The runs use the fixture scenario tests/fixtures/chatter.py. The slow reader is this test: it
does not read the runner's stdout for longer than the run's timeout, then reads it all. That
pause is the condition under test, not a stand-in for waiting on something.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time

import pytest

from scenarios.engine.supervisor.writer import Writer
from tests.contract import check_stream
from tests.fixtures.chatter import LINE
from tests.runs import Run, assert_clean, shm

FIXTURE = "chatter=tests.fixtures.chatter"
TIMEOUT = 3.0


@pytest.fixture(autouse=True)
def chatter_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner subprocesses of this module know the fixture scenario."""
    extra = os.environ.get("STATELAB_EXTRA_SCENARIOS", "")
    if FIXTURE not in extra:
        monkeypatch.setenv("STATELAB_EXTRA_SCENARIOS", ",".join(filter(None, [extra, FIXTURE])))


def run_read_slowly(*argv: str) -> Run:
    """Run chatter with its stdout to a pipe that this test leaves unread for twice the run's
    timeout, then reads to the end."""
    before = shm()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "scenarios", "chatter", *argv,
                                 "--timeout", f"{TIMEOUT:g}"], stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        # the slow reader: nothing is read for 2 × the timeout (the experiment, not a wait for
        # some event; a runner that blocks on its output runs out of time meanwhile)
        select.select([], [], [], 2 * TIMEOUT)
        out = proc.stdout.read()
        proc.wait(timeout=60)
        err.seek(0)
        stderr = err.read().decode()
    lines = out.decode().splitlines()
    events = [json.loads(line) for line in lines]  # one event one line: every line is whole
    check_stream(events, lines)
    result = Run(proc.returncode, events, stderr, {e["pid"] for e in events})
    assert_clean(result, before)
    assert stderr == ""
    return result


def left_out(result: Run) -> list[dict]:
    return [e for e in result.of_kind("output") if "left_out" in e.get("data", {})]


def test_a_slow_reader_does_not_turn_an_ok_run_into_a_timeout(start_method: str) -> None:
    megabytes = 20  # far more than the pipe holds (64 KiB) and than the runner queues (8 MiB)
    result = run_read_slowly("--megabytes", str(megabytes), "--start-method", start_method)
    texts = [e["text"][:200] for e in result.events if e["role"] == "runner"]
    assert result.status == "ok", texts
    assert result.events[-1]["t"] < TIMEOUT, "the run ended before its deadline"
    # the runner saw everything: its findings count what the stream left out
    assert result.holds("child-printed") is True, result.findings()
    assert result.holds("runner-saw-every-tick") is True
    # what the stream kept is the start of what the child printed, whole and in order
    kept = "".join(e["text"] for e in result.of_kind("output")
                   if e["role"] == "child" and e["data"].get("stream") == "stdout")
    expected = "".join(f"line {i:09d} {'.' * (LINE - 16)}\n"
                       for i in range(len(kept) // LINE + 1))
    assert kept == expected[: len(kept)]
    assert 0 < len(kept) < megabytes << 20
    # and one event says how much was left out
    notes = left_out(result)
    assert len(notes) == 1, [e["text"] for e in notes]
    note = notes[0]
    assert note["pid"] == result.events[0]["pid"] and note["role"] == "runner"
    counts = note["data"]["left_out"]
    assert counts["events"] > 0 and counts["bytes"] > 0
    assert counts["kinds"]["output"] > 0
    assert f"{counts['bytes']} bytes" in note["text"]
    assert result.events.index(note) < result.events.index(next(
        e for e in result.events if e["kind"] == "finding")), "said before the findings"


def test_thousands_of_observations_reach_a_slow_reader_whole(start_method: str) -> None:
    """20,000 observations (about 3 MB of lines: more than the pipe holds, less than the
    runner queues) all reach the reader, and the run ends ok in time."""
    result = run_read_slowly("--megabytes", "0", "--observations", "20000",
                             "--start-method", start_method)
    assert result.status == "ok", [e["text"] for e in result.events if e["kind"] == "error"]
    assert result.events[-1]["t"] < TIMEOUT
    assert [o["value"] for o in result.observed("tick")] == list(range(20000))
    assert result.holds("runner-saw-every-tick") is True
    assert not left_out(result)


# -- the writer alone -------------------------------------------------------------------------

def test_the_writer_never_waits_and_keeps_lines_whole() -> None:
    r, w = os.pipe()
    try:
        writer = Writer(w, limit=1 << 20)
        assert os.get_blocking(w), "the caller's pipe end stays blocking (the writer has its own)"
        line = b"x" * 999 + b"\n"
        kept = sum(writer.write(line, droppable=True) for _ in range(4096))  # 4 MiB, nobody reads
        assert kept < 4096 and writer.queued <= writer.limit
        assert writer.dropped == 4096 - kept
        assert writer.write(b"important\n"), "a line that may not be left out is always kept"
        assert not writer.write(line, droppable=True), "still dropping until the owner reports"
        assert writer.forget_left_out() == (4096 - kept + 1, (4096 - kept + 1) * len(line))
        data = b""
        while writer.queue:  # a reader that catches up
            data += os.read(r, 1 << 20)
            writer.flush()
        data += os.read(r, 1 << 20)
        assert data == line * kept + b"important\n"
    finally:
        writer.close()
        os.close(r)
        os.close(w)


def test_the_end_of_a_run_waits_for_a_reader_that_never_reads_a_bounded_time() -> None:
    r, w = os.pipe()
    try:
        writer = Writer(w)
        for _ in range(1000):  # 1 MB, the pipe takes 64 KiB
            writer.write(b"y" * 999 + b"\n")
        start = time.monotonic()
        assert writer.flush(wait=0.3) is False, "gave up"
        assert time.monotonic() - start < 5
        assert writer.queue
    finally:
        writer.close()
        os.close(r)
        os.close(w)
