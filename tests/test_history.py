"""The history: a run saved in the user's data folder and read back is the same run.

Every test points XDG_DATA_HOME at a folder of its own: nothing is written in the real home.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scenarios.engine.protocol import Observe, ProtocolError, decode
from scenarios.engine.state import KEEP_PER_KEY, RunState
from tests.appsupport import DATA, recorded
from tui import history, replay
from tui.history import RunRecord, Sampled
from tui.messages import ProcSample

MB = 1 << 20


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "statelab" / "runs"


def sample(pid: int, uss: int, state: str = "sleeping") -> ProcSample:
    return ProcSample(pid, 1, state, uss + 10 * MB, uss, uss + MB, 12.5, 1, "")


def spawn_record() -> RunRecord:
    state = RunState(recorded("shared-value-spawn.jsonl"))
    parent = next(p for p, proc in state.processes.items() if proc.role == "parent")
    record = RunRecord(state, ["shared-value", "--start-method", "spawn"], started=1_700_000_000)
    record.samples = [Sampled(0.5, {parent: sample(parent, 3 * MB)}),
                      Sampled(1.25, {parent: sample(parent, 4 * MB)}, frozenset({parent}))]
    record.finish([{"role": "parent", "pid": str(parent), "uss": "4.0M"}])
    return record


def test_a_saved_run_reads_back_as_the_same_run(data_home: Path) -> None:
    record = spawn_record()
    path = record.save()
    assert path.parent == data_home
    # the name: the time, the scenario and the start method
    assert path.name.endswith("-shared-value-spawn.jsonl")
    assert path.name[:8].isdigit() and path.name[9:15].isdigit()

    back = replay.read(path)
    assert back.notes == []
    assert back.state.events == record.state.events
    assert back.state.status == record.state.status == "ok"
    assert [(f.id, f.holds, f.lesson) for f in back.state.findings] == \
        [(f.id, f.holds, f.lesson) for f in record.state.findings]
    assert back.samples == record.samples
    assert back.rows == record.rows
    assert back.argv == record.argv
    assert back.started == record.started
    assert back.summary().scenario == "shared-value"
    assert back.label.startswith("shared-value under spawn, ")


def test_the_file_is_events_as_on_the_wire_plus_lines_no_event_reader_mistakes(
        data_home: Path) -> None:
    path = spawn_record().save()
    lines = path.read_text().splitlines()
    wire = (DATA / "shared-value-spawn.jsonl").read_text().splitlines()
    events = [line for line in lines if '"kind"' in line]
    # each the wire form of the event the engine sent (older fields in their newer form)
    assert [decode(line) for line in events] == [decode(line) for line in wire]
    others = [line for line in lines if '"kind"' not in line]
    assert [next(iter(json.loads(line))) for line in others] == \
        ["statelab", "sample", "sample", "rows"]
    for line in others:  # the event decoder refuses them: never taken for an event
        with pytest.raises(ProtocolError):
            decode(line)
    # the export's .jsonl and `python -m scenarios` output read as transcripts too
    plain = replay.read(DATA / "shared-value-fork.jsonl")
    assert plain.state.events == recorded("shared-value-fork.jsonl") and plain.samples == []


def test_a_flooding_run_saves_what_the_state_kept(data_home: Path) -> None:
    events = recorded("shared-value-spawn.jsonl")
    flood = [Observe(0.2, 4242, "child", f"read {i}", {"what": "spin", "value": i})
             for i in range(KEEP_PER_KEY + 500)]
    state = RunState([*events[:-1], *flood, events[-1]])
    path = RunRecord(state).save()
    saved = [json.loads(line) for line in path.read_text().splitlines()]
    spins = [w for w in saved if w.get("data", {}).get("what") == "spin"]
    assert len(spins) == 2000  # the first 2,000 of a kind in a process
    assert replay.read(path).state.left_out == {"observations": 500}


def test_samples_saved_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "KEEP_SAMPLES", 3)
    record = RunRecord(RunState())
    for i in range(5):
        record.sampled({7: sample(7, i * MB)}, frozenset())
    assert len(record.samples) == 3 and record.samples_left_out == 2
    assert [s.samples[7].uss for s in record.samples] == [0, MB, 2 * MB]


def test_samples_are_timed_on_the_events_clock() -> None:
    events = recorded("shared-value-fork.jsonl")
    record = RunRecord(RunState(events[:3]))
    record.heard(events[:3])
    record.sampled({}, frozenset())
    record.sampled({}, frozenset())
    first, second = record.samples
    assert first.t >= events[2].t and second.t >= first.t
    # the timeline puts each sample after the events that came before it
    line = record.timeline()
    assert line.index(first) > line.index(events[2])


def test_the_folder_keeps_the_newest_transcripts(tmp_path: Path) -> None:
    names = [f"2026010{d}-120000-race-fork.jsonl" for d in range(1, 8)]
    for name in names:
        (tmp_path / name).write_text("{}\n")
    (tmp_path / "notes.txt").write_text("mine\n")
    removed = history.prune(tmp_path, keep=3)
    assert sorted(p.name for p in removed) == names[:4]
    assert sorted(os.listdir(tmp_path)) == sorted([*names[4:], "notes.txt"])


def test_saving_prunes_past_the_bound(data_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "KEEP_FILES", 2)
    paths = []
    for i in range(4):
        record = spawn_record()
        record.started += i * 3600  # an hour apart: names sort by time
        paths.append(record.save())
    assert sorted(os.listdir(data_home)) == sorted(p.name for p in paths[2:])


def test_the_listing_is_newest_first_and_skips_what_is_not_a_transcript(data_home: Path) -> None:
    older, newer = spawn_record(), spawn_record()
    newer.started += 60
    older.save()
    newer.save()
    (data_home / "20260101-000000-junk-fork.jsonl").write_bytes(b"\x00\xff garbage\n")
    listed = history.saved()
    assert [s.started for s in listed] == [newer.started, older.started]
    assert listed[0].status == "ok" and listed[0].start_method == "spawn"
    assert listed[0].marks == "".join(v.mark for _, v in newer.state.verdicts())


def test_the_default_folder_is_under_the_home(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert history.runs_folder() == tmp_path / ".local" / "share" / "statelab" / "runs"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # ignored, as the spec says
    assert history.runs_folder() == tmp_path / ".local" / "share" / "statelab" / "runs"


def test_a_folder_that_cannot_be_written_is_said(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))  # a file where the folder should be
    said: list[str] = []
    history.save_or_say(spawn_record(), said.append)
    assert len(said) == 1 and "not saved" in said[0]


def test_a_paced_runs_record_gives_back_its_pace(data_home: Path) -> None:
    # a real paced run, as the app records it: its Config takes the pace out of run-start's
    # config, where it is no knob of the scenario's; read back from the file, the same
    from scenarios.engine.argv import parse_argv
    from tests.runs import run

    argv = ["shared-value", "--start-method", "fork", "--pace", "0.3"]
    paced = run(*argv)
    assert paced.status == "ok"
    record = RunRecord(RunState([decode(json.dumps(e)) for e in paced.events]), argv)
    back = replay.read(record.save())
    straight = RunRecord(RunState(recorded("shared-value-spawn.jsonl")))
    for cfg in (record.config(), back.config()):
        assert cfg.pace == 0.3
        assert "pace" not in cfg.knobs
        assert set(cfg.knobs) == set(straight.config().knobs)  # the scenario's knobs only
        assert cfg == parse_argv(argv)[0]
    assert straight.config().pace is None
