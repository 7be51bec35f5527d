"""The event contract (../shared/design.md, "Events"): every kind goes to a JSON line and back,
and a line that breaks the contract is refused with a ProtocolError that says why."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.engine.protocol import (
    KINDS,
    MAX_EVENT,
    Checkpoint,
    Error,
    Event,
    FindingEvent,
    Memory,
    Observe,
    Output,
    ProcessExit,
    ProcessStart,
    ProtocolError,
    RunEnd,
    RunStart,
    decode,
    encode,
    from_wire,
)

RUNNER, PARENT, CHILD = 4100, 4101, 4102

# one event of every kind, as the engine would make them
EVENTS: list[Event] = [
    RunStart(0.0, RUNNER, "runner", "shared-value under fork",
             {"config": {"scenario": "shared-value", "start_method": "fork"},
              "interpreter": {"python": "3.11.9", "platform": "linux", "default_start_method": "fork"},
              "runner": RUNNER}),
    ProcessStart(0.01, PARENT, "parent", "parent started", {"ppid": RUNNER}),
    Observe(0.02, PARENT, "parent", "the parent made a Value holding 1",
            {"what": "parent-created", "value": 1, "id": 140234, "rss": 1 << 20}),
    Checkpoint(0.03, CHILD, "child", "the child waits before reading",
               {"name": "before-read", "hold": True}),
    Memory(0.035, CHILD, "child", "child is ending",
           {"memory": {"rss": 12 << 20, "pss": 6 << 20, "uss": 4 << 20}, "at": "end"}),
    Output(0.04, CHILD, "child", "printed by the child\n", {"stream": "stdout", "thread": "MainThread"}),
    Error(0.05, CHILD, "child", "ValueError in the child",
          {"traceback": "Traceback (most recent call last):\nValueError: no"}),
    ProcessExit(0.06, CHILD, "child", "the child ended with exit 1", {"exitcode": 1}),
    FindingEvent(0.07, RUNNER, "runner", "same-id: does not hold, as the lesson says",
                 id="same-id", claim="the child sees the same id()", holds=False, lesson=False,
                 evidence="parent id 140234, child id 140998"),
    RunEnd(0.08, RUNNER, "runner", "run ended: error", {"seconds": 0.08}, status="error"),
]


def test_every_kind_has_an_example() -> None:
    assert {e.kind for e in EVENTS} == set(KINDS)


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.kind)
def test_round_trip(event: Event) -> None:
    wire = event.to_wire()
    assert wire["kind"] == event.kind
    assert {"t", "pid", "role", "kind", "text"} <= set(wire)
    line = event.encode()
    assert line.endswith(b"\n") and line.count(b"\n") == 1, "one event, one line"
    assert line == encode(wire)
    assert json.loads(line) == wire  # the wire form is plain JSON, as the README shows it
    back = decode(line)
    assert type(back) is type(event)
    assert back == event
    assert back.to_wire() == wire
    assert (back.t, back.pid, back.role, back.text, back.data) == (
        event.t, event.pid, event.role, event.text, event.data)
    assert decode(line.decode()) == event  # a str line decodes the same


def test_a_finding_carries_its_fields_at_the_top() -> None:
    finding = next(e for e in EVENTS if isinstance(e, FindingEvent))
    wire = json.loads(finding.encode())
    assert (wire["id"], wire["holds"], wire["lesson"]) == ("same-id", False, False)
    assert wire["claim"] == "the child sees the same id()"
    assert wire["evidence"] == "parent id 140234, child id 140998"
    back = decode(finding.encode())
    assert isinstance(back, FindingEvent)
    assert (back.id, back.claim, back.holds, back.lesson, back.evidence) == (
        "same-id", "the child sees the same id()", False, False, "parent id 140234, child id 140998")


@pytest.mark.parametrize("holds", [True, False, None])
@pytest.mark.parametrize("lesson", [True, False, None])
def test_a_finding_is_true_false_or_null_both_ways(holds: bool | None, lesson: bool | None) -> None:
    finding = FindingEvent(1.0, RUNNER, "runner", "f", id="f", claim="c", holds=holds, lesson=lesson,
                           evidence="e")
    back = decode(finding.encode())
    assert isinstance(back, FindingEvent)
    assert (back.holds, back.lesson) == (holds, lesson)


def test_run_end_has_one_status_at_the_top() -> None:
    end = RunEnd(2.5, RUNNER, "runner", "run ended: ok", {"seconds": 2.5}, status="ok")
    wire = json.loads(end.encode())
    assert wire["status"] == "ok"
    assert "status" not in wire.get("data", {})


def test_an_old_transcript_with_the_status_in_data_still_decodes() -> None:
    line = json.dumps({"t": 3.2, "pid": RUNNER, "role": "runner", "kind": "run-end",
                       "text": "run ended: timeout", "data": {"status": "timeout", "seconds": 3.2}})
    end = decode(line)
    assert isinstance(end, RunEnd)
    assert end.status == "timeout"
    assert end.seconds == 3.2
    again = json.loads(end.encode())  # written again, it carries the one status
    assert again["status"] == "timeout" and "status" not in again.get("data", {})


def test_the_typed_fields_read_the_data() -> None:
    decoded = {e.kind: decode(e.encode()) for e in EVENTS}
    start, observe, checkpoint = decoded["process-start"], decoded["observe"], decoded["checkpoint"]
    output, exit_ = decoded["output"], decoded["process-exit"]
    assert isinstance(start, ProcessStart) and start.ppid == RUNNER and start.helper is False
    assert isinstance(observe, Observe) and observe.what == "parent-created"
    assert isinstance(checkpoint, Checkpoint) and (checkpoint.name, checkpoint.hold) == ("before-read", True)
    assert isinstance(output, Output) and (output.stream, output.thread) == ("stdout", "MainThread")
    assert isinstance(exit_, ProcessExit) and exit_.exitcode == 1 and exit_.failed
    killed = decode(json.dumps({"t": 1.0, "pid": CHILD, "role": "child", "kind": "process-exit",
                                "text": "killed", "data": {"exitcode": -9, "signal": "SIGKILL"}}))
    assert isinstance(killed, ProcessExit) and killed.signal == "SIGKILL" and killed.failed
    clean = decode(json.dumps({"t": 1.0, "pid": CHILD, "role": "child", "kind": "process-exit",
                               "text": "ended", "data": {"exitcode": 0}}))
    assert isinstance(clean, ProcessExit) and not clean.failed


# -- what is refused, and how it is said -----------------------------------------------------

def line(**changes: Any) -> str:
    """An observe event's line with some fields changed (None removes one)."""
    wire: dict[str, Any] = {"t": 0.5, "pid": CHILD, "role": "child", "kind": "observe",
                            "text": "the child read 1", "data": {"what": "child-read", "value": 1}}
    wire.update(changes)
    return json.dumps({k: v for k, v in wire.items() if v is not None})


def finding_line(**changes: Any) -> str:
    wire: dict[str, Any] = {"t": 0.9, "pid": RUNNER, "role": "runner", "kind": "finding", "text": "f",
                            "id": "same-id", "claim": "c", "holds": True, "lesson": True,
                            "evidence": "e"}
    wire.update(changes)
    return json.dumps(wire)


MALFORMED = [
    ("not json", '{"t": 0.5, "pid": ', ["not JSON"]),
    ("not an object", "[1, 2, 3]", ["JSON object", "list"]),
    ("unknown kind", line(kind="gossip"), ["unknown kind", "'gossip'"]),
    ("no kind", line(kind=None), ["unknown kind"]),
    ("missing t", line(t=None), ["t must be", "None"]),
    ("negative t", line(t=-1.5), ["t must be", "-1.5"]),
    ("t as text", line(t="soon"), ["t must be", "'soon'"]),
    ("pid 0", line(pid=0), ["pid must be a positive integer", "0"]),
    ("pid negative", line(pid=-4), ["pid must be a positive integer", "-4"]),
    ("pid a bool", line(pid=True), ["pid must be a positive integer", "True"]),
    ("pid as text", line(pid="4102"), ["pid must be a positive integer", "'4102'"]),
    ("role empty", line(role=""), ["role must be a non-empty string"]),
    ("role missing", line(role=None), ["role must be a non-empty string"]),
    ("text not a string", line(text=7), ["text must be a string"]),
    ("data not an object", line(data=[1]), ["data must be an object"]),
    ("observe without data.what", line(data={"value": 1}), ["observe", "data.what"]),
    ("observe without data", line(data=None), ["observe", "data.what"]),
    ("finding holds 'yes'", finding_line(holds="yes"), ["finding", "holds", "'yes'"]),
    ("finding lesson 1", finding_line(lesson=1), ["finding", "lesson", "1"]),
    ("finding without a claim", finding_line(claim=None), ["finding", "claim"]),
    ("run-end status 'fine'", json.dumps({"t": 1.0, "pid": RUNNER, "role": "runner", "kind": "run-end",
                                          "text": "done", "status": "fine"}),
     ["run-end", "status", "'fine'"]),
    ("run-end without status", json.dumps({"t": 1.0, "pid": RUNNER, "role": "runner",
                                           "kind": "run-end", "text": "done"}),
     ["run-end", "status"]),
    ("run-start without config", json.dumps({"t": 0.0, "pid": RUNNER, "role": "runner",
                                             "kind": "run-start", "text": "go", "data": {}}),
     ["run-start", "config"]),
    ("a line over 4096 bytes", line(text="x" * 4200), ["4096", "bytes"]),
]


@pytest.mark.parametrize(("bad", "words"), [(b, w) for _, b, w in MALFORMED],
                         ids=[name for name, _, _ in MALFORMED])
def test_a_malformed_line_is_refused_saying_why(bad: str, words: list[str]) -> None:
    with pytest.raises(ProtocolError) as refused:
        decode(bad)
    message = str(refused.value)
    assert "\n" not in message, "one line"
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def test_a_protocol_error_is_a_value_error() -> None:
    # readers that guard with `except ValueError` (json's own error is one) keep working
    assert issubclass(ProtocolError, ValueError)


# -- anything at all: an event or a ProtocolError, nothing else --------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
# dicts shaped like events (the right keys, any values), so decoding gets past its first checks
event_like = st.fixed_dictionaries({}, optional={
    "t": json_values | st.floats(min_value=0, max_value=1e6),
    "pid": json_values | st.integers(min_value=1, max_value=2**22),
    "role": json_values | st.sampled_from(["runner", "parent", "child", "forkserver"]),
    "kind": json_values | st.sampled_from(sorted(KINDS)),
    "text": json_values,
    "data": json_values | st.dictionaries(st.sampled_from(["what", "config", "status", "hold", "name"]),
                                          json_values, max_size=3),
    "id": json_values, "claim": json_values, "evidence": json_values,
    "holds": json_values, "lesson": json_values,
    "status": json_values | st.sampled_from(["ok", "error", "timeout", "stopped"]),
    "truncated": json_values,
})


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=8) | event_like)
def test_from_wire_gives_an_event_or_a_protocol_error(wire: dict[str, Any]) -> None:
    try:
        event = from_wire(wire)
    except ProtocolError as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert isinstance(event, Event)
        assert event.kind == wire["kind"]


# -- too long for one line ----------------------------------------------------------------------

def test_an_over_long_event_is_trimmed_and_still_decodes() -> None:
    long = Observe(1.5, CHILD, "child", "the child read " + "x" * 9000,
                   {"what": "child-read", "value": "y" * 9000, "items": list(range(3000)),
                    **{f"key{i}": "z" * 500 for i in range(20)}})
    line = long.encode()
    assert len(line) < MAX_EVENT
    back = decode(line)
    assert isinstance(back, Observe)
    assert back.truncated
    assert back.what == "child-read", "what it was about survives the trimming"
    assert back.text.startswith("the child read xxx")
    assert (back.pid, back.role, back.t) == (CHILD, "child", 1.5)


def test_a_long_output_is_trimmed_and_still_decodes() -> None:
    out = Output(2.0, CHILD, "child", "a traceback line\n" * 1000, {"stream": "stderr"})
    back = decode(out.encode())
    assert isinstance(back, Output) and back.truncated and back.stream == "stderr"
    assert len(out.encode()) < MAX_EVENT


def test_a_long_output_of_wide_characters_is_trimmed_under_the_limit() -> None:
    out = Output(2.0, CHILD, "child", "😀" * 3000, {"stream": "stdout"})
    assert len(out.encode()) < MAX_EVENT
    assert isinstance(decode(out.encode()), Output)


def test_a_finding_with_long_evidence_is_trimmed_under_the_limit() -> None:
    finding = FindingEvent(3.0, RUNNER, "runner", "f", id="long", claim="c" * 2000, holds=True,
                           lesson=None, evidence="e" * 5000)
    assert len(finding.encode()) < MAX_EVENT
    assert isinstance(decode(finding.encode()), FindingEvent)
