"""A child held longer than any bound of the lab's own still ends before its parent goes on.

The lab's waits for a process to end (Lab.join, and the wait for a child the fork server can no
longer report) were bounded by the run's remaining time plus 5 s. In step mode or with a pace a
hold does not move that bound on, so a child held longer made the parent give up on it and go on
while it was still held: the parent then observed what it would not have in a straight run
("the child has exited" before the child wrote). With a pace or steps those waits have no limit
of their own; the runner's deadline, which the pauses move on, still ends a run that is stuck.

Each hold here is longer than the old bound: --timeout 0.5 and a pace of 6 s (0.5 + 5 < 6).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.runs import Run, run
from tests.stepping import answering, held, verdicts

TIMEOUT = 0.5
PACE = 6.0
OLD_BOUND = TIMEOUT + 5.0  # what the lab waited at most, in step mode, for a child to end
assert PACE > OLD_BOUND  # the premise of every test here


def index(events: list[dict[str, Any]], role: str, what: str) -> int:
    """Where `role` observed `what` in the stream (exactly once)."""
    found = [i for i, e in enumerate(events) if e["kind"] == "observe" and e["role"] == role
             and e["data"]["what"] == what]
    assert len(found) == 1, (role, what, [e["text"] for e in events])
    return found[0]


def exit_of(events: list[dict[str, Any]], role: str) -> int:
    found = [i for i, e in enumerate(events) if e["kind"] == "process-exit" and e["role"] == role]
    assert len(found) == 1, (role, [e["text"] for e in events])
    return found[0]


def hold_only(role: str, scenario: str, *args: str, timeout: float = 60.0) -> Run:
    """Run the scenario with --step: let each held process go at once (`step PID`: that one
    only), except those of `role`, which are left to the pace (--pace in args). The whole run,
    checked and left clean."""
    def respond(event: dict[str, Any], holds: int) -> str | None:
        return None if event["role"] == role else f"step {event['pid']}"

    return answering(scenario, *args, respond=respond, timeout=timeout, leak_warning_ok=True)


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_stepped_run_whose_child_is_held_long_finds_what_a_straight_run_finds(
        start_method: str) -> None:
    # the bug's own case: the parent joins the child while the child is held at "attached"
    args = ("--start-method", start_method, "--timeout", str(TIMEOUT))
    held_long = hold_only("child", "shared-memory", *args, "--pace", str(PACE))
    straight = run("shared-memory", *args, leak_warning_ok=True)
    assert held_long.status == straight.status == "ok", [e["text"] for e in held_long.events]

    events = held_long.events
    holds = [i for i, e in enumerate(events) if held(e) and e["role"] == "child"]
    assert len(holds) == 1
    went_on = next(e for e in events[holds[0] + 1:] if e["pid"] == events[holds[0]]["pid"]
                   and e["kind"] != "output")
    assert went_on["t"] - events[holds[0]]["t"] >= PACE > OLD_BOUND  # held past the old bound
    # the parent went on only once the child had written and ended
    assert index(events, "child", "child-wrote") < exit_of(events, "child") \
        < index(events, "parent", "after-child-exit")
    assert verdicts(held_long) == verdicts(straight)
    assert held_long.holds("parent-sees-child-write") is True


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_paced_join_waits_for_a_child_held_past_the_deadline(start_method: str) -> None:
    # the test fixture `misbehave` (how=fine): the child holds once, the parent joins it and
    # then observes; paced, with no step: the pace alone lets the child go
    args = ("misbehave", "--how", "fine", "--start-method", start_method,
            "--timeout", str(TIMEOUT))
    paced = run(*args, "--pace", str(PACE))
    straight = run(*args)
    assert paced.status == straight.status == "ok", [e["text"] for e in paced.events]
    for result in (paced, straight):
        events = result.events
        exit_event = events[exit_of(events, "child")]
        # the parent's join saw the child end (not the runner, after the parent had gone on)
        assert exit_event["data"]["reported_by"] == result.pid_of("parent"), exit_event
        assert exit_of(events, "child") < index(events, "parent", "parent-done")
    checkpoint = next(e for e in paced.events if held(e))
    assert checkpoint["role"] == "child"
    done = paced.events[index(paced.events, "parent", "parent-done")]
    assert done["t"] - checkpoint["t"] >= PACE
    assert verdicts(paced) == verdicts(straight)


@pytest.mark.parametrize("stepped", [False, True], ids=["paced", "stepped"])
def test_a_stuck_child_still_ends_a_paced_run_at_the_runners_deadline(stepped: bool) -> None:
    # with no limit of the lab's own, the parent's join waits for a child that never ends: the
    # runner's deadline (the timeout plus the pauses) ends the run and takes the parent's stack.
    # Stepped: the parent is never held, the child's one hold is left to its pace
    args = ("misbehave", "--how", "hang", "--start-method", "fork", "--timeout", "1",
            "--pace", "0.3")
    result = hold_only("child", *args) if stepped else run(*args, timeout=30)
    assert result.status == "timeout", [e["text"] for e in result.events]
    assert result.returncode == 1
    assert "join" in result.stack("parent")
    end = result.of_kind("run-end")[0]
    assert 1.3 <= end["t"] < 1.3 + 5.0  # the timeout, moved on by the pace, and the stacks
