"""Replaying a transcript: untrusted bytes read with bounds, and the app shows the run.

A bad file is refused with one line (exit 2 from `statelab replay`, before any app);
a malformed line inside a good file is a note, and the rest is read.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.appsupport import DATA, opened, recorded, until
from tui import replay
from tui.app import StatelabApp
from tui.replay import TranscriptError

SIZE = (150, 40)
SPAWN = DATA / "shared-value-spawn.jsonl"


def statelab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def refused_in_one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""  # no app was started
    return result.stderr


def peak_while(path: Path) -> tuple[str, int]:
    """What reading the file says (a refusal's line, or the notes), and the peak of memory
    allocated meanwhile."""
    tracemalloc.start()
    try:
        try:
            said = "; ".join(replay.read(path).notes)
        except TranscriptError as e:
            said = str(e)
        return said, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_replay_of_a_missing_file_exits_2_with_one_line(tmp_path: Path) -> None:
    line = refused_in_one_line(statelab("replay", str(tmp_path / "gone.jsonl")))
    assert "no such file" in line


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"not json at all\n",
                                     bytes(range(256)) * 40])
def test_replay_of_a_file_that_is_no_transcript_exits_2(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    line = refused_in_one_line(statelab("replay", str(path)))
    assert "empty" in line or "not a transcript" in line


def test_replay_of_a_folder_exits_2(tmp_path: Path) -> None:
    assert "not a file" in refused_in_one_line(statelab("replay", str(tmp_path)))


def test_ten_megabytes_of_garbage_are_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jsonl"
    rng = random.Random(10)
    path.write_bytes(rng.randbytes(10 << 20))
    said, peak = peak_while(path)
    assert "not a transcript" in said
    assert peak < 2 << 20, peak  # a few lines at a time, never the file


def test_a_single_line_of_100_kb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_text('{"t": 0, "text": "' + "x" * 100_000 + '"}')
    said, peak = peak_while(path)
    assert "not a transcript" in said
    assert peak < 1 << 20, peak


def test_malformed_lines_in_a_good_transcript_are_notes(tmp_path: Path) -> None:
    good = SPAWN.read_bytes().splitlines(keepends=True)
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"".join([
        good[0], b"\xff\xfe binary\n", good[1], b"[" * 50_000 + b"\n",
        b'{"t": 1, "pid": 1, "role": "x", "kind": "nope", "text": ""}\n',
        b'{"sample": {"t": "soon"}}\n', b"y" * 200_000 + b"\n", *good[2:]]))
    record = replay.read(path)
    assert record.state.events == recorded("shared-value-spawn.jsonl")
    assert [n.split(":")[0] for n in record.notes] == \
        ["line 2", "line 4", "line 5", "line 6", "line 7"]
    assert "unknown kind" in record.notes[2] and "longer than" in record.notes[4]


def test_notes_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "noisy.jsonl"
    path.write_bytes(SPAWN.read_bytes() + b"junk\n" * 5000)
    notes = replay.read(path).notes
    assert len(notes) == replay.KEEP_NOTES + 1
    assert notes[-1] == f"{5000 - replay.KEEP_NOTES:,} more lines were skipped"


@pytest.fixture
async def replayed() -> AsyncIterator[StatelabApp]:
    app = StatelabApp("shared-value", replay=replay.read(SPAWN), paced=False)
    yield app
    app.stop_run_now()


async def test_replay_at_once_shows_the_recorded_findings(replayed: StatelabApp) -> None:
    claims = [json.loads(line)["claim"] for line in SPAWN.read_text().splitlines()
              if '"finding"' in line]
    async with opened(replayed, SIZE) as pilot:
        lab = replayed.lab
        await until(pilot, lambda: lab.state.ended, what="the replayed run's end")
        assert lab.tabs.active == "tab-findings"
        shown = lab.findings.plain()
        for claim in claims:
            assert claim in shown
        assert "past run: shared-value under spawn" in lab.header.plain()
        assert replayed.client is None  # nothing was started
        assert lab.state.events == recorded("shared-value-spawn.jsonl")
        assert replayed.history.runs == []  # a replay is not a new run


async def test_replay_at_its_pace_delivers_every_event_in_order() -> None:
    app = StatelabApp("shared-value", replay=replay.read(SPAWN), paced=True)
    try:
        async with opened(app, SIZE) as pilot:
            await until(pilot, lambda: app.lab.state.ended, what="the replayed run's end")
            assert app.lab.state.events == recorded("shared-value-spawn.jsonl")
            assert app.client is None
    finally:
        app.stop_run_now()


async def test_a_stepped_run_replayed_never_says_paused() -> None:
    app = StatelabApp("shared-value", replay=replay.read(DATA / "shared-value-step.jsonl"),
                      paced=True)
    headers: list[str] = []

    def ended() -> bool:
        headers.append(app.lab.header.plain())
        return app.lab.state.ended

    try:
        async with opened(app, SIZE) as pilot:
            await until(pilot, ended, what="the replayed run's end")
            assert any(app.lab.state.of_kind("checkpoint"))  # it was held at checkpoints
            assert not any("PAUSED" in h for h in headers)  # but a replay waits for no step
            assert "past run: shared-value under" in headers[-1]
    finally:
        app.stop_run_now()


async def test_play_shortens_long_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "MAX_GAP", 0.01)
    events = recorded("shared-value-fork.jsonl")
    for i, e in enumerate(events):
        e.t = i * 1000.0  # a stepped run's long holds
    posted: list[object] = []
    await replay.play(events, 1, posted.append)
    assert [e for m in posted for e in m.events] == events  # type: ignore[attr-defined]


def test_the_cli_help_names_replay() -> None:
    result = statelab("replay", "--help")
    assert result.returncode == 0 and "--at-once" in result.stdout
    assert "replay FILE" in statelab("--help").stdout
