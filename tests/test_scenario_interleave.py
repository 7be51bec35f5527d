"""interleave: the user is the scheduler of `x = v.value; v.value = x + 1` in two processes.

Each schedule here is chosen through the control input (`step ROLE`), so its outcome may be
asserted; every assertion is checked against what the processes observed (the values they
read and wrote, and when), and the findings must say the same. Without step mode the OS
chooses, and only what is certain is asserted.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from typing import Any

from tests.runs import Run, refused, run
from tests.test_schedule import Scheduler


def observed(result: Run) -> list[tuple[str, str, int]]:
    """(role, read or wrote, value) in the order the processes did them (when each ended)."""
    ops = [e for e in result.of_kind("observe") if e["data"]["what"] in ("read", "wrote")]
    ops.sort(key=lambda e: e["data"]["end"])
    return [(e["role"], e["data"]["what"], e["data"]["value"]) for e in ops]


def line(ops: list[tuple[str, str, int]]) -> str:
    return ", ".join(f"{who} {what} {value}" for who, what, value in ops)


def one(result: Run, role: str, what: str) -> dict[str, Any]:
    found = result.observed(what, role)
    assert len(found) == 1, (role, what, found)
    return found[0]


def test_both_read_before_either_writes_loses_an_update(start_method: str) -> None:
    with Scheduler("interleave", "--start-method", start_method) as run:
        run.at({"child": "before-read", "child-2": "before-read"})
        run.send("step child")
        run.at({"child": "before-write"})
        run.send("step child-2")
        run.at({"child-2": "before-write"})
        run.send("step child")
        run.saw("child", "wrote")
        run.send("step child-2")
        result = run.finish()
    assert result.status == "ok"
    chosen = [("child", "read", 0), ("child-2", "read", 0), ("child", "wrote", 1),
              ("child-2", "wrote", 1)]
    assert observed(result) == chosen
    assert one(result, "parent", "result")["final"] == 1
    assert result.holds("lost-update") is True
    assert result.holds("final-value") is False
    assert result.holds("took-turns") is False
    assert line(chosen) in result.findings()["took-turns"]["evidence"]


def test_one_reads_and_writes_before_the_other_reads_loses_nothing(start_method: str) -> None:
    with Scheduler("interleave", "--start-method", start_method) as run:
        run.at({"child": "before-read", "child-2": "before-read"})
        run.send("step child-2")
        run.at({"child-2": "before-write"})
        run.send("step child-2")
        run.saw("child-2", "wrote")
        run.send("step child")
        run.at({"child": "before-write"})
        run.send("step child")
        result = run.finish()
    assert result.status == "ok"
    chosen = [("child-2", "read", 0), ("child-2", "wrote", 1), ("child", "read", 1),
              ("child", "wrote", 2)]
    assert observed(result) == chosen
    assert one(result, "parent", "result")["final"] == 2
    assert result.holds("lost-update") is False
    assert result.holds("final-value") is True
    assert result.holds("took-turns") is True
    assert line(chosen) in result.findings()["took-turns"]["evidence"]


def test_with_the_lock_the_other_cannot_read_until_the_holder_writes(start_method: str) -> None:
    with Scheduler("interleave", "--start-method", start_method, "--guard", "get_lock") as run:
        run.at({"child": "before-read", "child-2": "before-read"})
        run.send("step child")  # child takes the lock, reads, and waits holding it
        run.at({"child": "before-write"})
        run.send("step child-2")  # the losing schedule's next step: child-2 tries to read
        run.saw("child-2", "wants-lock")
        run.send("step child-2")  # it is not at a checkpoint: blocked on the lock
        assert "child-2 is not held" in run.note_after(0).text
        assert run.held() == {"child": "before-write"}
        assert not any(e.role == "child-2" and e.data.get("what") in ("got-lock", "read")
                       for e in run.state.events if e.kind == "observe")
        run.send("step child")
        run.at({"child-2": "before-write"})
        run.send("step child-2")
        result = run.finish()
    assert result.status == "ok"
    assert observed(result) == [("child", "read", 0), ("child", "wrote", 1),
                                ("child-2", "read", 1), ("child-2", "wrote", 2)]
    wrote, asked, got = (one(result, "child", "wrote"), one(result, "child-2", "wants-lock"),
                         one(result, "child-2", "got-lock"))
    assert asked["at"] < wrote["start"] < wrote["end"] < got["at"]  # it waited for the write
    assert one(result, "parent", "result")["final"] == 2
    evidence = result.findings()["lost-update"]["evidence"]
    assert "child-2 asked for the lock" in evidence and "after child wrote 1" in evidence
    assert result.holds("lost-update") is False
    assert result.holds("took-turns") is True


def test_the_os_schedules_without_step_mode(start_method: str) -> None:
    result = run("interleave", "--start-method", start_method, "--processes", "3")
    assert result.status == "ok"
    ops = observed(result)
    assert sorted(who for who, what, _ in ops if what == "read") == ["child", "child-2", "child-3"]
    assert all(value == read + 1 for (who, what, value) in ops if what == "wrote"
               for (w, r, read) in ops if w == who and r == "read")
    final = one(result, "parent", "result")["final"]
    assert result.holds("lost-update") is (final < 3)
    assert result.holds("final-value") is (final == 3)
    assert line(ops) in result.findings()["took-turns"]["evidence"]
    assert not any(e["data"].get("hold") for e in result.of_kind("checkpoint"))


def test_a_guard_needs_a_reentrant_lock() -> None:
    assert "get_lock" in refused("interleave", "--guard", "get_lock", "--lock", "false")
    assert "deadlocks" in refused("interleave", "--guard", "get_lock", "--lock", "lock")
    assert "--processes" in refused("interleave", "--processes", "4")


def test_statelab_run_step_releases_the_process_listed_with_the_number_typed() -> None:
    """`statelab run --step`: the pause lists the held processes with numbers; a number and
    Enter lets only that one go on (here: the losing schedule); a number not listed is said."""
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "tui", "run", "interleave", "--step"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    assert proc.stdin is not None and proc.stdout is not None
    seen = b""

    def until(text: str) -> None:
        nonlocal seen
        deadline = time.monotonic() + 30
        while text.encode() not in seen:
            assert select.select([proc.stdout], [], [], deadline - time.monotonic())[0], seen
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, seen.decode()
            seen += chunk

    def typed(line: str) -> None:
        assert proc.stdin is not None
        proc.stdin.write(line.encode() + b"\n")
        proc.stdin.flush()

    try:
        until("held: 1 child at before-read, 2 child-2 at before-read")
        typed("9")
        until("no process is listed as 9")
        typed("1")
        until("held: 1 child at before-write, 2 child-2 at before-read")
        typed("2")
        until("held: 1 child at before-write, 2 child-2 at before-write")
        typed("1")
        until("child wrote 1")
        typed("2")
        until("run ended")  # stdin stays open till then: its end would stop the run
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    text = (seen + out).decode()
    assert proc.returncode == 0, err
    assert "child-2 read 0" in text and "child-2 wrote 1" in text  # what the processes said
    assert "the Value holds 1" in text


async def test_the_app_lets_the_selected_process_go_on() -> None:
    """In the app: `g` on a held process's row lets only that one go on; the header lists who
    is held where; the findings give the schedule chosen (here the losing one)."""
    from tests.appsupport import opened, run_pids, until, wait_gone
    from tui.app import StatelabApp

    app = StatelabApp("interleave")
    try:
        async with opened(app, (150, 40)) as pilot:
            lab = app.lab

            def held() -> dict[str, str]:
                return {lab.state.processes[pid].role: name
                        for pid, name in lab.state.held.items()}

            async def go(role: str, then: dict[str, str]) -> None:
                pid = next(p for p, r in lab.table.rows_by_pid.items() if r.role == role)
                lab.table.focus()
                lab.table.move_cursor(row=lab.table.get_row_index(str(pid)))
                await pilot.press("g")
                await until(pilot, lambda: all(held().get(r) == c for r, c in then.items()),
                            what=f"{then} after {role} went on")

            await pilot.press("s")
            both = {"child": "before-read", "child-2": "before-read"}
            await until(pilot, lambda: held() == both, what="both children held")
            await until(pilot, lambda: lab.header.status.startswith("PAUSED: "), what="header")
            assert "child at before-read" in lab.header.status
            assert "child-2 at before-read" in lab.header.status
            await go("child", {"child": "before-write", "child-2": "before-read"})
            await go("child-2", {"child": "before-write", "child-2": "before-write"})
            await go("child", {"child-2": "before-write"})
            await until(pilot, lambda: lab.state.first("wrote", "child") is not None,
                        what="child's write")
            await go("child-2", {})
            await until(pilot, lambda: lab.state.ended, what="the run to end")
            assert lab.state.status == "ok"
            ops = sorted((e for e in lab.state.of_kind("observe")
                          if e.data.get("what") in ("read", "wrote")), key=lambda e: e.data["end"])
            chosen = "child read 0, child-2 read 0, child wrote 1, child-2 wrote 1"
            assert ", ".join(f"{e.role} {e.data['what']} {e.data['value']}" for e in ops) == chosen
            turns = next(f for f in lab.state.findings if f.id == "took-turns")
            assert chosen in turns.evidence and turns.holds is False
            assert not wait_gone(run_pids(lab.state.events))
    finally:
        app.stop_run_now()


def test_a_stopped_run_cannot_tell_and_says_what_is_missing() -> None:
    with Scheduler("interleave") as run:
        run.at({"child": "before-read", "child-2": "before-read"})
        run.send("step child")
        run.at({"child": "before-write"})
        run.send("stop")
        result = run.finish()
    assert result.status == "stopped"
    assert one(result, "child", "read")["value"] == 0
    assert not result.observed("wrote")
    for finding in result.findings().values():
        assert finding["holds"] is None
        assert "child's write" in finding["evidence"] and "stopped" in finding["evidence"]
