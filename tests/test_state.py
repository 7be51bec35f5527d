"""RunState, the one model of a run: events in, processes, roles, held checkpoints, status out.

Every event here is written by hand in its wire form (as a transcript holds it) and decoded;
what the fold should make of it comes from the contract in ../shared/design.md and issue 7.
"""

from __future__ import annotations

from typing import Any

import pytest

from scenarios.engine.protocol import Event, from_wire
from scenarios.engine.state import RunState, verdict

RUNNER, PARENT, CHILD, CHILD2, TRACKER, SERVER = 500, 501, 502, 503, 504, 505


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def tick(self) -> float:
        self.now += 0.01
        return round(self.now, 2)


CLOCK = Clock()


def ev(kind: str, pid: int, role: str, text: str = "something happened", **fields: Any) -> Event:
    """One event from its wire form; `data=` and the top-level fields of findings and run-end
    as keywords."""
    wire: dict[str, Any] = {"t": CLOCK.tick(), "pid": pid, "role": role, "kind": kind, "text": text}
    wire.update(fields)
    return from_wire(wire)


def start(scenario: str = "shared-value", **data: Any) -> Event:
    return ev("run-start", RUNNER, "runner", f"{scenario} under fork",
              data={"config": {"scenario": scenario, "start_method": "fork"},
                    "interpreter": {"python": "3.11"}, "runner": RUNNER, **data})


def proc_start(pid: int, role: str, ppid: int = RUNNER, **data: Any) -> Event:
    return ev("process-start", pid, role, f"{role} started", data={"ppid": ppid, **data})


def observe(pid: int, role: str, what: str, **data: Any) -> Event:
    return ev("observe", pid, role, f"{role} observed {what}", data={"what": what, **data})


def checkpoint(pid: int, role: str, name: str, hold: bool = True) -> Event:
    return ev("checkpoint", pid, role, f"{role} at {name}", data={"name": name, "hold": hold})


def output(pid: int, role: str, text: str) -> Event:
    return ev("output", pid, role, text, data={"stream": "stderr"})


def exit_(pid: int, role: str, exitcode: int, signal: str | None = None) -> Event:
    data: dict[str, Any] = {"exitcode": exitcode}
    if signal:
        data["signal"] = signal
    return ev("process-exit", pid, role, f"{role} ended", data=data)


def error(pid: int, role: str, text: str = "it went wrong", **data: Any) -> Event:
    return ev("error", pid, role, text, data=data)


def end(status: str) -> Event:
    return ev("run-end", RUNNER, "runner", f"run ended: {status}", status=status,
              data={"seconds": 1.0})


def finding(id: str, holds: bool | None, lesson: bool | None) -> Event:
    return ev("finding", RUNNER, "runner", id, id=id, claim=f"claim {id}", holds=holds,
              lesson=lesson, evidence=f"evidence for {id}")


def started(*more: Event) -> RunState:
    """A run with a parent and a child under way."""
    return RunState([start(), proc_start(PARENT, "parent"), proc_start(CHILD, "child", PARENT),
                     *more])


# -- processes and roles --------------------------------------------------------------------------

def test_roles_come_from_process_start() -> None:
    run = started(proc_start(CHILD2, "child-2", PARENT))
    assert run.roles() == {RUNNER: "runner", PARENT: "parent", CHILD: "child", CHILD2: "child-2"}
    assert list(run.processes) == [RUNNER, PARENT, CHILD, CHILD2], "in the order they were named"
    assert run.processes[CHILD].ppid == PARENT
    assert run.processes[PARENT].ppid == RUNNER
    assert run.processes[CHILD].started is not None
    assert not run.processes[CHILD].ended


def test_run_start_gives_the_config_and_the_runner() -> None:
    run = RunState([start("queue-copy")])
    assert run.scenario == "queue-copy"
    assert run.start_method == "fork"
    assert run.config["scenario"] == "queue-copy"
    assert run.runner_pid == RUNNER
    assert run.roles() == {RUNNER: "runner"}


def test_helpers_by_data_and_by_role() -> None:
    run = started(
        proc_start(TRACKER, "resource-tracker"),
        proc_start(SERVER, "manager", PARENT),
        proc_start(506, "forkserver"),
        proc_start(507, "spare", PARENT, helper=True),  # a helper the runner found, by data.helper
    )
    helpers = {pid for pid, p in run.processes.items() if p.helper}
    assert helpers == {TRACKER, SERVER, 506, 507}
    assert not run.processes[PARENT].helper and not run.processes[CHILD].helper


def test_a_process_seen_before_its_start_takes_its_role() -> None:
    run = started(output(TRACKER, "?", "a warning\n"), proc_start(TRACKER, "resource-tracker"))
    assert run.roles()[TRACKER] == "resource-tracker"
    assert run.processes[TRACKER].helper


# -- held at a checkpoint ---------------------------------------------------------------------------

def test_a_holding_checkpoint_holds_until_the_process_says_anything_else() -> None:
    run = started(checkpoint(CHILD, "child", "before-read"))
    assert run.held == {CHILD: "before-read"}
    assert run.processes[CHILD].held == "before-read"
    run.apply(output(CHILD, "child", "printed while waiting\n"))
    assert run.held == {CHILD: "before-read"}, "what it prints does not mean it went on"
    run.apply(observe(PARENT, "parent", "parent-changed"))
    assert run.held == {CHILD: "before-read"}, "another process speaking does not release it"
    run.apply(observe(CHILD, "child", "child-read", value=3))
    assert run.held == {}


def test_a_checkpoint_without_hold_holds_nothing() -> None:
    run = started(checkpoint(CHILD, "child", "passing-by", hold=False))
    assert run.held == {}


def test_each_process_is_held_and_released_on_its_own() -> None:
    run = started(checkpoint(PARENT, "parent", "before-change"), checkpoint(CHILD, "child", "before-read"))
    assert run.held == {PARENT: "before-change", CHILD: "before-read"}
    run.apply(checkpoint(PARENT, "parent", "after-change", hold=False))
    assert run.held == {CHILD: "before-read"}
    run.apply(checkpoint(PARENT, "parent", "before-end"))
    assert run.held == {PARENT: "before-end", CHILD: "before-read"}


def test_an_exit_releases_the_process() -> None:
    run = started(checkpoint(CHILD, "child", "before-read"), checkpoint(PARENT, "parent", "wait"),
                  exit_(CHILD, "child", -9, "SIGKILL"))
    assert run.held == {PARENT: "wait"}
    assert run.processes[CHILD].ended


def test_run_end_releases_everyone() -> None:
    run = started(checkpoint(CHILD, "child", "before-read"), checkpoint(PARENT, "parent", "wait"))
    run.apply(end("stopped"))
    assert run.held == {}


# -- the status ---------------------------------------------------------------------------------------

def test_a_run_going_well_is_ok() -> None:
    run = started(observe(CHILD, "child", "child-read"), exit_(CHILD, "child", 0),
                  exit_(PARENT, "parent", 0))
    assert run.status == "ok"
    assert not run.ended


@pytest.mark.parametrize("bad", [
    pytest.param(lambda: error(CHILD, "child", traceback="Traceback ...\nValueError"), id="error"),
    pytest.param(lambda: error(PARENT, "parent"), id="parent-error"),
    pytest.param(lambda: exit_(CHILD, "child", 1), id="exit-1"),
    pytest.param(lambda: exit_(CHILD, "child", -9, "SIGKILL"), id="signal"),
])
def test_an_error_or_a_failing_exit_makes_it_an_error(bad: Any) -> None:
    run = started(observe(CHILD, "child", "child-read"))
    assert run.status == "ok"
    run.apply(bad())
    assert run.status == "error"


@pytest.mark.parametrize("exit_event", [
    pytest.param(lambda: exit_(TRACKER, "resource-tracker", 1), id="tracker-exit-1"),
    pytest.param(lambda: exit_(SERVER, "manager", -15, "SIGTERM"), id="manager-sigterm"),
    pytest.param(lambda: exit_(506, "spare", 1), id="data-helper-exit-1"),
])
def test_a_helper_failing_exit_is_not_an_error(exit_event: Any) -> None:
    run = started(proc_start(TRACKER, "resource-tracker"), proc_start(SERVER, "manager", PARENT),
                  proc_start(506, "spare", PARENT, helper=True))
    run.apply(exit_event())
    assert run.status == "ok"


def test_the_runner_reports_a_timeout() -> None:
    run = started(error(RUNNER, "runner", "timed out after 1 s: parent, child still running",
                        timeout=1.0, stuck=["parent", "child"]))
    assert run.status == "timeout"


def test_the_runner_reports_a_stop() -> None:
    run = started(error(RUNNER, "runner", "run stopped: SIGTERM", reason="SIGTERM"))
    assert run.status == "stopped"


def test_any_other_runner_error_is_an_error() -> None:
    run = started(error(RUNNER, "runner", "a process outlived the parent", left=[{"pid": 999}]))
    assert run.status == "error"


def test_a_process_stuck_at_the_timeout_leaves_its_stack() -> None:
    run = started(error(CHILD, "child", "child stuck", stack='File "x.py", line 3, in child'))
    assert run.stacks == {"child": 'File "x.py", line 3, in child'}


def test_after_run_end_the_status_is_run_ends() -> None:
    run = started(error(CHILD, "child"))
    assert run.status == "error"
    run.apply(end("stopped"))
    assert run.status == "stopped" and run.ended
    clean = started(end("timeout"))  # whatever the events before said
    assert clean.status == "timeout"
    ok = started(end("ok"))
    assert ok.status == "ok" and ok.ended


# -- what a scenario's findings() reads ------------------------------------------------------------

def reading_run() -> RunState:
    return started(
        observe(PARENT, "parent", "parent-created", value=1, id=11),
        observe(CHILD, "child", "child-read", value=1, id=22),
        output(CHILD, "child", "first line\n"),
        observe(CHILD, "child", "child-read", value=3, id=22),
        output(PARENT, "parent", "from the parent\n"),
        output(CHILD, "child", "second line\n"),
        observe(CHILD2, "child-2", "child-read", value=5),
        exit_(CHILD, "child", 0),
        exit_(CHILD2, "child-2", 1),
    )


def test_observations_and_first() -> None:
    run = reading_run()
    assert [d["value"] for d in run.observations("child-read")] == [1, 3, 5]
    assert [d["value"] for d in run.observations("child-read", "child")] == [1, 3]
    assert run.first("child-read") == {"what": "child-read", "value": 1, "id": 22}
    assert run.first("child-read", "child-2") == {"what": "child-read", "value": 5}
    assert run.first("parent-created", "child") is None
    assert run.first("nobody-saw-this") is None
    assert list(run.observations("nobody-saw-this")) == []


def test_output_joins_what_a_role_printed() -> None:
    run = reading_run()
    assert run.output("child") == "first line\nsecond line\n"
    assert run.output() == "first line\nfrom the parent\nsecond line\n"
    assert run.output("child-2") == ""


def test_exit_of_gives_the_last_exit_of_a_role() -> None:
    run = reading_run()
    assert run.exit_of("child") == {"exitcode": 0}
    assert run.exit_of("child-2") == {"exitcode": 1}
    assert run.exit_of("parent") is None
    run.apply(exit_(PARENT, "parent", -9, "SIGKILL"))
    assert run.exit_of("parent") == {"exitcode": -9, "signal": "SIGKILL"}


def test_findings_are_kept_in_order_with_their_verdicts() -> None:
    run = started(finding("child-sees-parent-change", True, True), finding("same-id", False, True),
                  finding("unchecked", None, True), end("ok"))
    assert [f.id for f in run.findings] == ["child-sees-parent-change", "same-id", "unchecked"]
    marks = [(f.id, v.mark) for f, v in run.verdicts()]
    assert marks == [("child-sees-parent-change", "✓"), ("same-id", "✗"), ("unchecked", "?")]


def test_the_fold_is_the_same_event_by_event() -> None:
    events = reading_run().events
    one_by_one = RunState()
    for event in events:
        one_by_one.apply(event)
    at_once = RunState(events)
    assert one_by_one.roles() == at_once.roles()
    assert one_by_one.status == at_once.status == "error"  # child-2 exited with 1
    assert one_by_one.events == at_once.events == events


# -- how a finding reads ------------------------------------------------------------------------------

class Claim:
    def __init__(self, holds: bool | None, lesson: bool | None) -> None:
        self.holds = holds
        self.lesson = lesson


@pytest.mark.parametrize(("holds", "lesson", "mark", "tone"), [
    (True, True, "✓", "agrees"),
    (False, False, "✓", "agrees"),  # spawn's same-id: it does not hold, and the lesson says so
    (True, False, "✗", "differs"),
    (False, True, "✗", "differs"),
    (None, True, "?", "unchecked"),
    (None, None, "?", "unchecked"),
    (True, None, "•", "unsaid"),
])
def test_one_verdict_per_finding(holds: bool | None, lesson: bool | None, mark: str, tone: str) -> None:
    v = verdict(Claim(holds, lesson))
    assert (v.mark, v.tone) == (mark, tone)
    said = {True: "holds", False: "does not hold", None: "could not be checked"}[holds]
    assert v.happened == said
    assert v.summary.startswith(said)


# -- a flood stays bounded ----------------------------------------------------------------------

def test_output_past_the_bound_is_counted_not_kept() -> None:
    """10 MiB printed in 1 MiB pieces: the first 4 MiB are kept for the findings to read, the
    rest is counted, and the run's other events are all still there."""
    piece = "x" * (1 << 20)
    state = started(*(output(CHILD, "child", piece) for _ in range(10)), exit_(CHILD, "child", 0))
    assert len(state.output("child")) == 4 << 20
    assert state.left_out == {"output bytes": 6 << 20}
    assert state.processes[CHILD].ended


def test_a_flood_of_observations_keeps_the_first_of_each_kind() -> None:
    """5,000 observations of one kind by one process: the first 2,000 are kept (first() still
    finds the very first), others of another kind or process are all kept, and a process held
    at a checkpoint is still let go by an observation that was only counted."""
    flood = [observe(CHILD, "child", "tick", value=i) for i in range(5000)]
    state = started(*flood, observe(CHILD, "child", "done", value=1),
                    observe(CHILD2, "child-2", "tick", value=7), checkpoint(CHILD, "child", "go"))
    assert state.held == {CHILD: "go"}
    state.apply(observe(CHILD, "child", "tick", value=5000))  # counted only: still it went on
    assert state.held == {}
    assert len(list(state.observations("tick", "child"))) == 2000
    assert state.first("tick", "child") == {"what": "tick", "value": 0}
    assert state.first("done") is not None and state.first("tick", "child-2") is not None
    assert state.left_out == {"observations": 3001}
