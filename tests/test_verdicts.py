"""One verdict, three front ends: every finding reads the same in the app, `statelab run` and
the export.

Each scenario is run once headless; its events are folded into a RunState and its findings
rendered by the app's Findings tab (through the lab screen, as a live run's events reach it),
by `statelab run`'s findings table and by the export's Markdown. For every finding the three
show the same mark and the same words for what happened and what the source says, and those
are `verdict()`'s.
"""

from __future__ import annotations

import io
import re
from itertools import pairwise

import pytest
from rich.console import Console

from scenarios.engine import catalog
from scenarios.engine.protocol import Event, FindingEvent, RunEnd, RunStart, from_wire
from scenarios.engine.state import BELIEF, LESSON, RunState, legend, verdict
from tests.appsupport import until
from tests.runs import run
from tui import export, timeline
from tui.app import StatelabApp
from tui.messages import RunEvents
from tui.widgets import colours

Reading = tuple[str, str, str, str]  # mark, claim, what happened, what the source says
EXTRA = {"pass-via-queue": ("--wait", "0.2")}
MARKS = "✓✗?•–"
TRISTATE = (True, False, None)


def headless(name: str) -> RunState:
    result = run(name, "--start-method", "fork", "--timeout", "10", *EXTRA.get(name, ()))
    return RunState(from_wire(e) for e in result.events)


def made_up(source: str) -> RunState:
    """A run with one finding for each of the 18 combinations of holds, lesson and whether the
    claim applies to the run."""
    events: list[Event] = [RunStart(0.0, 1, "runner", "a made-up run", {
        "config": {"scenario": "made-up", "start_method": "fork"}, "claims_from": source})]
    combinations = ((h, s, a) for h in TRISTATE for s in TRISTATE for a in (True, False))
    for n, (holds, lesson, applies) in enumerate(combinations):
        events.append(FindingEvent(0.1, 1, "runner", "", None if applies else {"applies": False},
                                   id=f"f{n}",
                                   claim=f"claim {n}: holds={holds}, lesson={lesson}",
                                   holds=holds, lesson=lesson, evidence=f"evidence {n}"))
    events.append(RunEnd(0.2, 1, "runner", "run ended: ok", status="ok"))
    return RunState(events)


@pytest.fixture(scope="module")
def states() -> dict[str, RunState]:
    found = {name: headless(name) for name in catalog.names()}
    found["made-up: the lesson"] = made_up(LESSON)
    found["made-up: common belief"] = made_up(BELIEF)
    return found


def expected(state: RunState) -> list[Reading]:
    return [(v.mark, f.claim, v.happened, v.said) for f, v in
            ((f, verdict(f, state.source)) for f in state.findings)]


# -- how each front end reads ---------------------------------------------------------------

def read_app(text: str) -> list[Reading]:
    lines = text.splitlines()
    found: list[Reading] = []
    for head, words in pairwise(lines):
        claim = re.fullmatch(rf"([{MARKS}]) (.+)", head)
        said = re.fullmatch(r"  (.+) in this run; (.+)", words)
        if claim and said:
            found.append((claim[1], claim[2], said[1], said[2]))
    return found


def read_cli(state: RunState) -> list[Reading]:
    console = Console(file=io.StringIO(), record=True, width=2000, color_system=None)
    timeline.print_findings(state, console)
    found: list[Reading] = []
    for row in console.export_text().splitlines():
        cells = [c.strip() for c in row.split("│")[1:-1]]
        if len(cells) == 5 and cells[0] in MARKS and cells[0]:
            found.append((cells[0], cells[1], cells[2], cells[3]))
    return found


def read_export(state: RunState) -> list[Reading]:
    text = export.markdown(export.Transcript(state, ["made-up"], []))
    found: list[Reading] = []
    for row in text.splitlines():
        item = re.fullmatch(rf"- ([{MARKS}]) \*\*(.+)\*\*: (.+) in this run; (.+)\.  ", row)
        if item:
            found.append((item[1], item[2], item[3], item[4]))
    return found


async def test_app_cli_and_export_read_every_finding_alike(states: dict[str, RunState]) -> None:
    app = StatelabApp("shared-value")
    async with app.run_test(size=(160, 60)) as pilot:
        lab = app.lab
        await until(pilot, lab.complete.is_set, what="the whole screen")
        config = catalog.configure("shared-value", {"start_method": "fork"})
        for name, state in states.items():
            assert state.findings, f"{name} reported no findings"
            run_id = lab.begin_run(config)
            lab.post_message(RunEvents(run_id, list(state.events)))
            await until(pilot, lambda: lab.state.ended, what=f"{name}'s events to be shown")
            shown = lab.findings.plain()
            want = expected(state)
            assert read_app(shown) == want, (name, shown)
            assert read_cli(state) == want, name
            assert read_export(state) == want, name


# -- the verdict model itself ---------------------------------------------------------------

class Claim:
    def __init__(self, holds: bool | None, lesson: bool | None, applies: bool = True) -> None:
        self.holds = holds
        self.lesson = lesson
        self.applies = applies


HAPPENED = {True: "holds", False: "does not hold", None: "could not be checked"}


@pytest.mark.parametrize("source", [LESSON, BELIEF])
@pytest.mark.parametrize("applies", [True, False], ids=lambda v: f"applies={v}")
@pytest.mark.parametrize("lesson", TRISTATE, ids=lambda v: f"lesson={v}")
@pytest.mark.parametrize("holds", TRISTATE, ids=lambda v: f"holds={v}")
def test_every_combination_reads_one_way(holds: bool | None, lesson: bool | None,
                                         applies: bool, source: str) -> None:
    v = verdict(Claim(holds, lesson, applies), source)
    if not applies:
        mark, tone = "–", "n/a"
    elif holds is None:
        mark, tone = "?", "unchecked"
    elif lesson is None:
        mark, tone = "•", "unsaid"
    elif holds == lesson:
        mark, tone = "✓", "agrees"
    else:
        mark, tone = "✗", "differs"
    assert (v.mark, v.tone) == (mark, tone)
    assert v.happened == (HAPPENED[holds] if applies else "not applicable")
    said = {True: "says it holds", False: "says it does not hold", None: "says nothing about it"}
    judged = {"agrees": ", and it is right", "differs": ", but it is wrong here"}.get(tone, "")
    assert v.said == f"{source} {said[lesson]}{judged}"
    if tone == "agrees":
        how = {LESSON: "as the lesson says", BELIEF: "as commonly believed"}[source]
        assert v.summary == f"{v.happened}, {how}"
    elif tone == "differs":
        assert v.summary == f"{v.happened}: {source} is wrong here (it {said[lesson]})"
    else:
        assert v.summary == v.happened
    # the mark is styled by whether the source was right, in both front ends: no green (agreeing
    # is no success), loud only where the source is wrong, and what happened is neutral
    for tones, happened in ((colours.TONES, colours.HAPPENED), (timeline.TONES, timeline.HAPPENED)):
        style = tones[v.tone]
        assert "green" not in style and "green" not in happened and "red" not in happened
        assert ("red" in style) == (tone == "differs")
        assert (style == "dim") == (tone in ("unsaid", "n/a"))
    assert colours.TONES == timeline.TONES and colours.HAPPENED == timeline.HAPPENED


def test_a_claim_without_applies_reads_as_applying() -> None:
    """Findings from before `applies` (an old transcript's, a Claim without the field) apply."""
    assert verdict(Claim(True, True)).mark == verdict(_OldClaim(True, True)).mark == "✓"
    old = from_wire({"t": 0.1, "pid": 1, "role": "runner", "kind": "finding", "text": "",
                     "id": "x", "claim": "c", "holds": False, "lesson": True, "evidence": "e"})
    assert isinstance(old, FindingEvent) and old.applies
    assert verdict(old).mark == "✗"


class _OldClaim:
    def __init__(self, holds: bool | None, lesson: bool | None) -> None:
        self.holds = holds
        self.lesson = lesson


def test_every_mark_has_a_legend_line() -> None:
    for source in (LESSON, BELIEF):
        marks = [mark for mark, _, _ in legend(source)]
        assert sorted(marks) == sorted(MARKS)
        words = dict((mark, text) for mark, text, _ in legend(source))
        assert words["✗"] == f"{source} is wrong here" and words["–"] == "not applicable"
