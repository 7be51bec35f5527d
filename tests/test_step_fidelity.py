"""A pause never changes what a process observes.

Every scenario is run twice under each start method: straight through, and with --step,
driven as a person would (read the runner's stdout line by line; at each held checkpoint
wait a while, then step with a newline on stdin). The findings, each id and whether it held,
must be the same. Each case is chosen so the scenario is deterministic (race with get_lock,
queue-copy changing its dict after the child has it); the pause at each checkpoint is longer
than any wait a scenario times (pass-via-queue's --wait), so a wait that counted the pause
would run out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runs import run
from tests.stepping import drive, held, verdicts

PAUSE = 0.4  # seconds held at each checkpoint before the step
WAIT = "0.3"  # pass-via-queue's receiver waits this long: less than a pause

CASES: dict[str, tuple[str, ...]] = {
    "queue-copy": (),
    "shared-value": (),
    "shared-array": (),
    "small-int-id": (),
    # the README's demo: the receiver's wait ran out while the parent was held at before-send
    "pass-via-queue": ("--channel", "pipe", "--wait", WAIT),
    "type-codes": (),
    "race": ("--guard", "get_lock", "--iterations", "20000"),
    "interleave": ("--guard", "get_lock"),  # with the lock held across both, no order loses
    "manager": (),
    "remote-manager": (),
    "shared-memory": (),
    "copy-on-write": (),
    "globals": (),
    "value-gc": (),
    "manager-nested": (),
    "unpicklable-target": (),
    "join-before-drain": (),
    "fork-with-threads": (),  # under fork the child waits for ever: both runs time out alike
}
# runs whose lesson is a hang or a failure: what the straight run ended with, stepping must too
ENDS = {"fork-with-threads": {"ok", "timeout"}, "join-before-drain": {"ok", "timeout"},
        "unpicklable-target": {"ok", "error"}}
MORE = [("pass-via-queue", ("--channel", "queue", "--wait", WAIT)),
        ("pass-via-queue", ("--channel", "simple-queue", "--wait", WAIT)),
        ("shared-memory", ("--order", "start-first")),
        ("queue-copy", ("--mutate", "after-get"))]


def test_every_scenario_has_a_case() -> None:
    experiments = Path(__file__).parent.parent / "scenarios"
    names = {f.stem.replace("_", "-") for f in experiments.glob("*.py") if not f.stem.startswith("_")}
    assert names == set(CASES)


@pytest.mark.parametrize(("scenario", "args"), [*CASES.items(), *MORE],
                         ids=lambda v: " ".join(v) if isinstance(v, tuple) else v)
def test_stepping_to_the_end_changes_no_finding(start_method: str, scenario: str,
                                               args: tuple[str, ...]) -> None:
    # a resource tracker's warning about a leak is part of what shared-memory shows
    leak = scenario == "shared-memory"
    straight = run(scenario, "--start-method", start_method, *args, leak_warning_ok=leak)
    stepped = drive(scenario, "--start-method", start_method, *args, pause=PAUSE,
                    leak_warning_ok=leak)
    assert straight.status == stepped.status, (straight.status, stepped.status)
    assert straight.status in ENDS.get(scenario, {"ok"}), straight.status
    assert verdicts(stepped) == verdicts(straight)
    if any(held(e) for e in stepped.events):
        assert not any(held(e) for e in straight.events), "only --step holds"


def test_the_receiver_waits_from_the_send_not_from_the_pause(start_method: str) -> None:
    stepped = drive("pass-via-queue", "--start-method", start_method, "--channel", "pipe",
                    "--wait", WAIT, pause=2 * PAUSE)
    events = [e for e in stepped.events if e["kind"] == "observe"]
    sent = next(e for e in events if e["data"]["what"] == "send-result")
    got = next(e for e in events if e["data"]["what"] == "receiver-result")
    assert sent["data"]["raised"] is True
    # the receiver gave up only after the parent had tried to send, however long the pause
    assert got["t"] >= sent["t"] + float(WAIT) * 0.9, (sent["t"], got["t"])
