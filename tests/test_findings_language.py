"""One visual language for findings, checked on real runs.

What happened (holds, does not hold, not applicable, could not be checked) is drawn in a
neutral style whatever it was: a deadlock that happened is not shown as good. The mark says
whether the lesson (or common belief) was right, loud only where it is wrong. A claim that is
not about the run's configuration reads "not applicable", never "could not be checked", and the
app's Findings tab, `statelab run` and the export say it with the same mark and words.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from rich.text import Text

from scenarios.engine import catalog
from scenarios.engine.protocol import FindingEvent, from_wire
from scenarios.engine.state import RunState, verdict
from tests.appsupport import until
from tests.runs import Run, run
from tests.test_verdicts import Reading, read_app  # the Findings tab's text, read the same way
from tui import export
from tui.app import StatelabApp
from tui.messages import RunEvents
from tui.widgets import findings_view

DEADLOCK_CLAIM = "The run deadlocked: a worker waits for a lock it already holds"


def state_of(result: Run) -> RunState:
    return RunState(from_wire(e) for e in result.events)


def finding(state: RunState, fid: str) -> FindingEvent:
    return next(f for f in state.findings if f.id == fid)


def race(*args: str) -> RunState:
    return state_of(run("race", "--start-method", "fork", "--processes", "2",
                        "--iterations", "2000", *args))


def styles(text: Text) -> str:
    return " ".join(str(span.style) for span in text.spans) + f" {text.style}"


# -- not applicable is not "could not be checked" ---------------------------------------------

def test_race_without_get_lock_says_the_deadlock_claim_does_not_apply() -> None:
    state = race("--guard", "none")
    assert state.status == "ok"
    deadlock = finding(state, "deadlock")
    assert deadlock.claim == DEADLOCK_CLAIM
    assert deadlock.data.get("applies") is False and not deadlock.applies
    v = verdict(deadlock, state.source)
    assert (v.mark, v.happened) == ("–", "not applicable")
    assert "--guard none" in deadlock.evidence, "the reason is given"
    # the lost-updates claim still applies: it is about this configuration
    assert finding(state, "lost-updates").applies


def test_race_with_get_lock_and_an_rlock_checks_the_deadlock_claim() -> None:
    state = race("--guard", "get_lock", "--lock", "rlock")
    deadlock = finding(state, "deadlock")
    assert deadlock.applies and deadlock.holds is False
    assert verdict(deadlock, state.source).happened == "does not hold"


def test_float_codes_have_no_wrap_claim_left_unchecked() -> None:
    for code, c_type in (("d", "double"), ("f", "float")):
        state = state_of(run("type-codes", "--typecode", code, "--start-method", "fork"))
        assert state.status == "ok"
        assert [f.id for f, v in state.verdicts() if v.mark == "?"] == [], code
        wraps = finding(state, "wraps-silently")
        assert verdict(wraps).mark == "–" and not wraps.applies
        assert f"a C {c_type} has no other end to wrap to" in wraps.evidence
        other = "float" if c_type == "double" else "double"
        assert f"C {other}" not in wraps.evidence, "the evidence names the C type of this code"
    # an integer code wraps, and the claim is checked
    ints = finding(state_of(run("type-codes", "--typecode", "b", "--start-method", "fork")),
                   "wraps-silently")
    assert ints.applies and ints.holds is True


def test_shared_value_with_a_double_checks_every_claim() -> None:
    state = state_of(run("shared-value", "--typecode", "d", "--start-method", "fork"))
    assert state.status == "ok" and state.findings
    assert [v.mark for _, v in state.verdicts() if v.mark in "?–"] == []


def test_a_change_that_did_not_happen_is_not_applicable() -> None:
    # 1e300 + 2 is 1e300: the parent's change left the Value as it was, nothing to see
    state = state_of(run("shared-value", "--typecode", "d", "--value", "1e300",
                         "--start-method", "fork"))
    sees = finding(state, "child-sees-parent-change")
    assert not sees.applies and verdict(sees).happened == "not applicable"
    assert "left the Value as it was" in sees.evidence


# -- a deadlock that happened is not good news -------------------------------------------------

def test_a_deadlock_that_happened_is_drawn_neutral() -> None:
    state = state_of(run("race", "--start-method", "fork", "--lock", "lock", "--guard", "get_lock",
                         "--processes", "2", "--iterations", "1000", "--timeout", "1"))
    assert state.status == "timeout" and finding(state, "deadlock").holds is True
    block = next(lines for mark, lines in findings_view.blocks(state)
                 if mark is not None and lines[0].plain == DEADLOCK_CLAIM)
    happened = block[1]
    assert happened.plain.startswith("holds in this run; ")
    assert "green" not in styles(happened) and "green" not in styles(block[0])


def test_a_deadlock_the_belief_did_not_expect_is_marked_loud() -> None:
    """fork-with-threads under fork: the child never takes the lock (it waits for a holder
    thread it does not have); common belief says it does: the belief is wrong here."""
    state = state_of(run("fork-with-threads", "--start-method", "fork", "--timeout", "1"))
    takes = finding(state, "child-takes-the-lock")
    assert takes.holds is False and takes.lesson is True
    mark, lines = next((m, ls) for m, ls in findings_view.blocks(state)
                       if m is not None and ls[0].plain == takes.claim)
    assert mark.plain == "✗" and "red" in styles(mark)
    assert lines[1].plain.endswith("but it is wrong here")
    assert "green" not in styles(lines[1])


# -- the same mark and words in the app, `statelab run` and the export -------------------------

def read_cli(out: str) -> list[Reading]:
    found: list[Reading] = []
    for row in out.splitlines():
        cells = [c.strip() for c in row.split("│")[1:-1]]
        if len(cells) == 5 and len(cells[0]) == 1:
            found.append((cells[0], cells[1], cells[2], cells[3]))
    return found


def read_export(text: str) -> list[Reading]:
    return [(m[1], m[2], m[3], m[4]) for m in
            re.finditer(r"^- (\S) \*\*(.+)\*\*: (.+) in this run; (.+)\.  $", text, re.MULTILINE)]


async def test_app_cli_and_export_say_not_applicable_alike() -> None:
    args = ("--start-method", "fork", "--guard", "none", "--processes", "2",
            "--iterations", "2000")
    state = state_of(run("race", *args))
    env = dict(os.environ, NO_COLOR="1", COLUMNS="400")
    cli = subprocess.run([sys.executable, "-m", "tui", "run", "race", *args],
                         capture_output=True, text=True, timeout=60, env=env)
    assert cli.returncode == 0, cli.stderr
    app = StatelabApp("race")
    async with app.run_test(size=(160, 60)) as pilot:
        lab = app.lab
        await until(pilot, lab.complete.is_set, what="the whole screen")
        run_id = lab.begin_run(catalog.configure("race", {"start_method": "fork"}))
        lab.post_message(RunEvents(run_id, list(state.events)))
        await until(pilot, lambda: lab.state.ended, what="the run's events to be shown")
        shown = read_app(lab.findings.plain())
    want = ("–", DEADLOCK_CLAIM, "not applicable", f"{state.source} says nothing about it")
    assert want in shown
    assert want in read_cli(cli.stdout), cli.stdout
    assert want in read_export(export.markdown(export.Transcript(state, ["race"], [])))
    assert len(shown) == len(read_cli(cli.stdout)) == 2, "both findings, in each"
    assert "– not applicable" in cli.stdout, "the legend under the table names the mark used"


def test_the_help_screen_explains_every_mark() -> None:
    from tui.screens.help import HELP

    section = HELP[HELP.index("**Reading the findings.**"):]
    for words in ("holds", "does not hold", "not applicable", "could not be checked"):
        assert f"*{words}*" in section, words
    for mark in "✓✗•?–":  # each mark the front ends draw, on a line of its own
        assert re.search(rf"^- `{re.escape(mark)}` \S", section, re.MULTILINE), mark
