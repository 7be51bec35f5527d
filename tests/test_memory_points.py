"""Memory for every process of every run (issue 10, item 1).

Each scenario process reads its own /proc/self/smaps_rollup when it starts, at each checkpoint
and just before it ends, and sends the reading with those events; the run state keeps the
points, and the process table shows them even for a run far shorter than the sampler's period,
on a trend whose scale starts at zero.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from scenarios.engine import catalog, procfs
from scenarios.engine.protocol import Memory, from_wire
from scenarios.engine.state import RunState
from tests.appsupport import opened, recorded, until
from tests.runs import Run, plain, run
from tui.app import StatelabApp
from tui.messages import ProcSample, RunEvents, Samples
from tui.widgets.colours import PALETTE, Colours
from tui.widgets.process_table import BARS, ProcessTable, sparkline

PAGE = os.sysconf("SC_PAGE_SIZE")
MiB = 1 << 20


def scenario_pids(result: Run) -> dict[int, str]:
    """pid -> role of every process of the scenario that announced itself (helpers aside)."""
    return {e["pid"]: e["role"] for e in result.of_kind("process-start")
            if not e["data"].get("helper") and e["role"] != "runner"}


def bytes_of(cell: str) -> float:
    """A size as the table writes it ("12M", "4.5K", "812B"), back in bytes."""
    assert cell[-1] in "BKMG" and cell[:-1].replace(".", "").isdigit(), cell
    return float(cell[:-1]) * float(1024 ** "BKMG".index(cell[-1]))


def sane(reading: dict[str, Any]) -> None:
    # the kernel's own order: a process's private pages are a part of its share, which is a
    # part of what it maps
    assert 0 < reading["uss"] <= reading["pss"] <= reading["rss"], reading


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_every_process_reads_its_memory_at_start_checkpoints_and_end(method: str) -> None:
    result = run("shared-value", "--start-method", method)
    assert result.status == "ok"
    pids = scenario_pids(result)
    assert sorted(pids.values()) == ["child", "parent"]
    for pid in pids:
        own = [e for e in result.events if e["pid"] == pid and e["kind"] != "process-exit"]
        start = next(e for e in own if e["kind"] == "process-start")
        sane(start["data"]["memory"])
        ends = [e for e in own if e["kind"] == "memory"]
        assert len(ends) == 1 and ends[0]["data"]["at"] == "end"
        sane(ends[0]["data"]["memory"])
        assert ends[0] is max(own, key=lambda e: e["t"]), "the last thing the process says"
    checkpoints = result.of_kind("checkpoint")
    assert checkpoints, "shared-value has a checkpoint"
    for e in checkpoints:
        sane(e["data"]["memory"])


def test_the_end_reading_changes_no_finding_and_the_state_keeps_every_point() -> None:
    result = run("shared-value", "--start-method", "spawn")
    events = [from_wire(e) for e in result.events]
    module = catalog.load("shared-value")
    without = [e for e in events if not isinstance(e, Memory)]
    assert len(without) < len(events)
    judged = [(f.id, f.holds) for f in module.findings(RunState(events))]
    assert judged == [(f.id, f.holds) for f in module.findings(RunState(without))]
    assert judged == [(e["id"], e["holds"]) for e in result.of_kind("finding")]
    state = RunState(events)
    for pid in scenario_pids(result):
        sent = [e for e in events if e.pid == pid and e.kind != "process-exit"
                and isinstance((e.data or {}).get("memory"), dict)]
        points = state.processes[pid].memory
        assert [p.t for p in points] == [e.t for e in sent]
        assert {p.source for p in points} == {"self"}
        assert points[0].t == state.processes[pid].started


def test_a_transcript_without_readings_still_reads() -> None:
    state = RunState(recorded("shared-value-fork.jsonl"))  # recorded before readings existed
    assert state.status == "ok" and len(state.processes) >= 3
    assert all(p.memory == [] for p in state.processes.values())


def test_copy_on_write_shows_the_child_copying_the_pages_it_writes() -> None:
    # the plain script counts, page by page, what a forked child that writes a 16 MiB
    # bytearray copies; the child's own readings before and after its writes show as much
    found, _ = plain("cow_pages.py", "fork", "bytearray", "16", "write")
    copied = found["child_after"]["copied"] * PAGE
    assert copied >= 15 * MiB
    result = run("copy-on-write", "--start-method", "fork", "--size", "16", "--touch", "write",
                 "--object", "bytearray")
    child = result.pid_of("child")
    seen = {e["data"]["name"]: e["data"]["memory"] for e in result.of_kind("checkpoint")
            if e["pid"] == child}
    grew = seen["after-touch"]["uss"] - seen["before-touch"]["uss"]
    assert 0.9 * copied <= grew <= 1.5 * copied, (grew, copied)


def test_a_reading_is_read_as_the_kernel_writes_it_or_not_at_all(tmp_path: Path) -> None:
    rollup = tmp_path / "smaps_rollup"
    rollup.write_text("00400000-7fff0000 ---p 00000000 00:00 0   [rollup]\n"
                      "Rss:                 300 kB\nPss:                 200 kB\n"
                      "Shared_Clean:        120 kB\nPrivate_Clean:        30 kB\n"
                      "Private_Dirty:       150 kB\nSwap:                  0 kB\n")
    assert procfs.memory(str(rollup)) == {"rss": 307200, "pss": 204800, "uss": 184320}
    rollup.write_text("Rss: 300 kB\nPss: 200 kB\n")  # no private lines: no guess
    assert procfs.memory(str(rollup)) is None
    assert procfs.memory(str(tmp_path / "missing")) is None
    mine = procfs.memory()
    assert mine is not None
    sane(mine)


def test_the_trend_starts_at_zero_and_shows_its_scale() -> None:
    noise = sparkline([4_700_000, 4_800_000, 4_750_000, 4_790_000])  # 100 KB of noise on 4.5M
    bars, _, top = noise.partition(" ")
    assert len(set(bars)) == 1, f"noise draws a flat line, not {bars}"
    assert top == "4.6M"  # 4,800,000 bytes in MiB: the top of the scale, shown
    half = sparkline([50, 100])
    assert half[0] not in (BARS[0], BARS[-1]), "half of the top is drawn halfway up"
    assert half.endswith(" 100B")
    assert sparkline([0, 0]).startswith(BARS[0] * 2)
    assert len(sparkline(list(range(1, 500)), width=7).partition(" ")[0]) == 7


def test_a_role_has_one_colour_in_every_run_and_every_widget() -> None:
    first, second = Colours(), Colours()
    for role in ("child-3", "child", "parent"):  # seen in another order, with other pids
        first.of(100 + len(role), role)
    assert second.of(7, "parent") == first.of(9, "parent") == PALETTE[0]
    assert second.of(8, "child-3") == first.of(11, "child-3")
    # the table once drew a parent first seen by the sampler (a helper, it guessed) in grey
    assert Colours().of(5, "parent", helper=True) == Colours().of(5, "parent")
    children = {Colours().of(n, f"child-{n}") for n in range(2, 30)}
    assert PALETTE[0] not in children, "no child takes the parent's colour"


async def test_the_table_shows_a_quick_runs_memory_without_a_sampler() -> None:
    result = run("shared-value", "--start-method", "spawn")
    events = [from_wire(e) for e in result.events]
    app = StatelabApp("shared-value")
    async with opened(app, (120, 40)) as pilot:
        lab = app.lab
        run_id = lab.begin_run(catalog.configure("shared-value", {"start_method": "spawn"}))
        lab.post_message(RunEvents(run_id, events))
        await until(pilot, lambda: lab.state.ended and lab.log_view.settled,
                    what="the events to be shown")
        table: ProcessTable = lab.table
        for pid, role in scenario_pids(result).items():
            row = table.rows_by_pid[pid]
            last = next(e for e in reversed(result.events) if e["pid"] == pid
                        and e["kind"] == "memory")["data"]["memory"]
            assert row.ended == "exit 0", "the process has ended; its memory stays"
            assert lab.state.processes[pid].memory[-1].source == "self", "no sampler ran"
            for key in ("rss", "uss", "pss"):  # the cells show the last reading, rounded
                assert last[key] / 1.06 <= bytes_of(row.cells[key]) <= last[key] * 1.06, role
            bars, _, top = row.cells["spark"].strip().partition(" ")
            points = lab.state.processes[pid].memory
            assert len(bars) == min(7, len(points)) >= 2 and set(bars) <= set(BARS), bars
            assert bytes_of(top) >= max(p.uss or 0 for p in points) / 1.06, "the scale's top"
        assert "is ending" not in lab.log_view.plain(), "an end reading is no line of the log"


async def test_sampled_readings_join_the_points_and_states_fit() -> None:
    events = recorded("shared-value-fork.jsonl")  # no readings of their own
    app = StatelabApp("shared-value")
    async with opened(app, (120, 40)) as pilot:
        lab = app.lab
        run_id = lab.begin_run(catalog.configure("shared-value", {"start_method": "fork"}))
        lab.post_message(RunEvents(run_id, events[:3]))
        await until(pilot, lambda: len(lab.state.processes) >= 2, what="the parent")
        parent = next(p.pid for p in lab.state.processes.values() if p.role == "parent")
        sample = ProcSample(parent, None, "disk-sleep", 9 * MiB, 3 * MiB, 5 * MiB, 1.0, 1)
        lab.post_message(Samples(run_id, {parent: sample}, frozenset()))
        await until(pilot, lambda: lab.state.processes[parent].memory, what="the sample")
        row = lab.table.rows_by_pid[parent]
        assert [p.source for p in lab.state.processes[parent].memory] == ["sampler"]
        assert (row.cells["rss"], row.cells["uss"], row.cells["pss"]) == ("9.0M", "3.0M", "5.0M")
        state_width = next(c.width for c in lab.table.columns.values() if c.key == "state")
        assert row.cells["state"] != "disk-sle" and len(" " + row.cells["state"]) <= state_width
