"""One role and one exit per process, from what really happened (issue 8, items 4 to 6).

- Every helper a run starts is found, named by its real role and credited with what it
  printed: under fork, a child started before its parent's resource tracker starts a tracker of
  its own, which warns of a leak (and on 3.13 exits with 1) once the child is gone.
- A process has one role: a forkserver child carries the fork server's command line, but it is
  a child; only real helpers' exits are excused; a child that dies by a signal fails the run.
- An exit is reported once, from the kernel's answer: when the fork server is gone,
  multiprocessing says 255 for each of its children; the runner, their subreaper, reaps them
  and reports how they really ended.

Runs under whatever interpreter runs pytest (CI: 3.11 to 3.13).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from scenarios.engine.protocol import Event, from_wire
from scenarios.engine.state import RunState
from tests.runs import Run, run

RUNNER, PARENT, CHILD, TRACKER, SERVER = 700, 701, 702, 703, 704


def state_of(result: Run) -> RunState:
    return RunState(from_wire(e) for e in result.events)


def starts(result: Run) -> Counter[int]:
    return Counter(e["pid"] for e in result.of_kind("process-start"))


def exits_of(result: Run, pid: int) -> list[dict[str, Any]]:
    return [e for e in result.of_kind("process-exit") if e["pid"] == pid]


def roles_by_pid(result: Run) -> dict[int, set[str]]:
    roles: dict[int, set[str]] = {}
    for e in result.events:
        if e["role"] != "runner":
            roles.setdefault(e["pid"], set()).add(e["role"])
    return roles


# -- item 5: forkserver children are children, not the fork server ------------------------------


def test_forkserver_children_have_one_role_each() -> None:
    result = run("race", "--start-method", "forkserver", "--processes", "8", "--iterations", "1000")
    assert result.status == "ok", [e["text"] for e in result.events]
    started = result.of_kind("process-start")
    assert [e["role"] for e in started].count("forkserver") == 1, [e["text"] for e in started]
    assert all(n == 1 for n in starts(result).values()), starts(result)
    roles = roles_by_pid(result)
    assert all(len(r) == 1 for r in roles.values()), roles
    children = {e["pid"] for e in started if e["role"].startswith("child")}
    assert len(children) == 8
    fork_server = result.pid_of("forkserver")
    state = state_of(result)
    for pid in children:
        proc = state.processes[pid]
        assert not proc.helper and proc.ppid == fork_server  # forked by it, not it
        assert [e["data"]["exitcode"] for e in exits_of(result, pid)] == [0]
    assert "unknown" not in {e["role"] for e in result.events}


def test_a_child_killed_by_a_signal_fails_the_run(start_method: str) -> None:
    result = run("misbehave", "--how", "signal", "--start-method", start_method)
    assert result.status == "error" and result.returncode == 1
    child = result.pid_of("child")
    assert roles_by_pid(result)[child] == {"child"}
    assert [e["data"].get("signal") for e in exits_of(result, child)] == ["SIGKILL"]
    assert not state_of(result).processes[child].helper


# -- item 6: killing the fork server invents no exit --------------------------------------------


def test_killing_the_fork_server_invents_no_exit() -> None:
    result = run("kill-forkserver", "--start-method", "forkserver", "--processes", "4", "--code", "3")
    texts = [e["text"] for e in result.events]
    assert not [e for e in result.of_kind("process-exit") if e["data"].get("exitcode") == 255], texts
    assert not [e for e in result.of_kind("error") if e["role"] == "parent"], texts
    children = [e for e in result.of_kind("process-start") if e["role"].startswith("child")]
    assert len(children) == 4
    for start in children:
        pid = start["pid"]
        exits = exits_of(result, pid)
        assert [e["data"]["exitcode"] for e in exits] == [3], texts  # once, its real code
        assert exits[0]["data"]["reported_by"] == result.events[0]["data"]["runner"]
        last_word = max(i for i, e in enumerate(result.events) if e["pid"] == pid
                        and e["kind"] == "observe")
        assert result.events.index(exits[0]) > last_word, "reported after it really ended"
    # the parent could not know, and said so: join() gave None, after the children had ended
    assert result.first("joined", "parent")["codes"] == [None] * 4
    assert result.first("joined", "parent")["multiprocessing_says"] == [255] * 4
    fork_server = result.pid_of("forkserver")
    assert [e["data"].get("signal") for e in exits_of(result, fork_server)] == ["SIGKILL"]
    assert result.holds("children-outlived") is True


# -- item 4: a tracker a child started is found, named and credited ------------------------------


@pytest.mark.parametrize("unlink", ["parent", "never"])
def test_a_tracker_a_child_started_is_named_and_credited(unlink: str) -> None:
    result = run("shared-memory", "--start-method", "fork", "--order", "start-first",
                 "--unlink", unlink, leak_warning_ok=True)
    texts = [e["text"] for e in result.events]
    parent, child = result.pid_of("parent"), result.pid_of("child")
    trackers = {e["data"]["ppid"]: e["pid"] for e in result.of_kind("process-start")
                if e["role"] == "resource-tracker"}
    assert set(trackers) == {parent, child}, texts  # each started its own, and both are named
    assert all(n == 1 for n in starts(result).values()), starts(result)
    assert "unknown" not in {e["role"] for e in result.events}, texts
    # each tracker warned of the segments registered with it, on its starter's stream
    warned = {e["pid"] for e in result.of_kind("output") if "leaked" in e["text"]}
    assert warned == set(trackers.values()), texts
    assert all(e["role"] == "resource-tracker" for e in result.of_kind("output")
               if "leaked" in e["text"])
    for pid in trackers.values():
        assert len(exits_of(result, pid)) == 1, texts
        assert {e["role"] for e in exits_of(result, pid)} == {"resource-tracker"}
    # on 3.13 the child's tracker exits with 1 after its warning: a helper's exit, excused
    assert result.status == "ok", texts
    assert result.observed("child-tracker-ended")[0]["pid"] == trackers[child]


# -- the fold: one role, one exit ------------------------------------------------------------


def ev(kind: str, pid: int, role: str, t: float, **data: Any) -> Event:
    return from_wire({"t": t, "pid": pid, "role": role, "kind": kind, "text": f"{role} {kind}",
                      "data": data})


def begun(*events: Event) -> RunState:
    return RunState([
        from_wire({"t": 0.0, "pid": RUNNER, "role": "runner", "kind": "run-start",
                   "text": "started", "data": {"config": {"scenario": "race",
                                                          "start_method": "forkserver"},
                                               "interpreter": {}, "runner": RUNNER}}),
        ev("process-start", PARENT, "parent", 0.01, ppid=RUNNER),
        *events])


def guess(pid: int, role: str, t: float) -> Event:
    """What the runner makes of a process it found in /proc."""
    return ev("process-start", pid, role, t, helper=True, ppid=SERVER)


def own(pid: int, role: str, t: float) -> Event:
    """A process's own announcement."""
    return ev("process-start", pid, role, t, ppid=SERVER)


def killed(pid: int, role: str, t: float, via: str) -> Event:
    return ev("process-exit", pid, role, t, exitcode=-9, signal="SIGKILL", via=via)


@pytest.mark.parametrize("order", ["guess-first", "own-first"])
def test_a_guessed_helper_role_never_overrides_a_process_own(order: str) -> None:
    named = [guess(CHILD, "forkserver", 0.02), own(CHILD, "child", 0.03)]
    run = begun(*(named if order == "guess-first" else named[::-1]))
    proc = run.processes[CHILD]
    assert (proc.role, proc.helper, proc.own) == ("child", False, True)
    assert run.status == "ok"
    run.apply(killed(CHILD, "child", 0.05, "forkserver"))
    assert run.status == "error", "a child killed by a signal never ends a run ok"


def test_only_real_helpers_are_excused() -> None:
    run = begun(guess(SERVER, "forkserver", 0.02), guess(TRACKER, "resource-tracker", 0.02),
                ev("process-exit", TRACKER, "resource-tracker", 0.5, exitcode=1, via="waitpid"),
                killed(SERVER, "forkserver", 0.6, "waitpid"))
    assert run.status == "ok"
    assert run.processes[SERVER].helper and run.processes[TRACKER].helper


def relay(code: int, t: float) -> Event:
    return ev("process-exit", CHILD, "child", t, exitcode=code, via="forkserver",
              reported_by=PARENT)


def reaped(code: int, t: float) -> Event:
    return ev("process-exit", CHILD, "child", t, exitcode=code, via="waitpid", reported_by=RUNNER)


@pytest.mark.parametrize(("events", "kept"), [
    pytest.param([relay(255, 0.4), reaped(3, 0.5)], 3, id="the-runner-reaped-what-was-relayed"),
    pytest.param([reaped(3, 0.4), relay(255, 0.5)], 3, id="a-relay-never-replaces-the-kernel"),
    pytest.param([relay(0, 0.4), relay(255, 0.5)], 0, id="the-first-relay-stands"),
    pytest.param([reaped(0, 0.4), reaped(1, 0.5)], 0, id="the-first-waitpid-stands"),
])
def test_one_exit_per_process(events: list[Event], kept: int) -> None:
    run = begun(own(CHILD, "child", 0.02), *events)
    exit_ = run.processes[CHILD].exit
    assert exit_ is not None and exit_.exitcode == kept
    assert run.exit_of("child") == exit_.data
    assert run.status == ("ok" if kept == 0 else "error")
