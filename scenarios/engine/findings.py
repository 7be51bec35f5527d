"""Findings: claims checked against what the processes of one run observed.

A scenario's findings() reads the run's RunState and returns these. A claim that
is not about the run's configuration (a deadlock only a lock taken twice can
cause, in a run that never takes it twice) says so with `applies=False`: it
reads "not applicable", which is not "could not be checked" (missing evidence).
"""

from __future__ import annotations

from scenarios.engine.fields import Fields
from scenarios.engine.state import LESSON, RunState, verdict

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

class Finding(Fields):
    fields = ("id", "claim", "holds", "lesson", "evidence", "applies")  # the constructor's order
    __slots__ = fields
    id: str  # stable, kebab-case
    claim: str
    holds: bool | None  # what happened in this run; None when the run could not tell
    lesson: bool | None  # what the lesson says; None when it says nothing
    evidence: str  # what was observed; for a claim that does not apply, why it does not
    applies: bool  # False: the claim is not about this configuration (not "could not tell")

    def __init__(self, id: str, claim: str, holds: bool | None, lesson: bool | None,
                 evidence: str, applies: bool = True) -> None:
        super().__init__(id, claim, holds, lesson, evidence, applies)

    def not_applicable(self, why: str) -> Finding:
        """This finding, for a configuration the claim is not about (the deadlock of a lock
        taken twice when nothing takes it twice): it reads "not applicable", `why` leads its
        evidence, and `holds` keeps what the run saw, for whoever wants the bare fact."""
        return Finding(self.id, self.claim, self.holds, self.lesson,
                       f"{why}; {self.evidence}" if self.evidence else why, applies=False)

    @property
    def data(self) -> dict[str, bool]:
        """What the finding event carries in its data: only a claim that does not apply says so."""
        return {} if self.applies else {"applies": False}

    @property
    def agrees(self) -> bool | None:
        if self.holds is None or self.lesson is None:
            return None
        return self.holds == self.lesson

    def summary(self, source: str = LESSON) -> str:
        """How it reads: "holds, as the lesson says" (the one verdict model's words)."""
        return verdict(self, source).summary


CUT_SHORT = {"stopped": "the run was stopped", "timeout": "the run timed out",
             "error": "the run ended with an error"}


def missing(run: RunState | str, *what: str) -> str:
    """Evidence for a finding the run could not check: which of `what` (observation keys) no
    process reported, and, if the run was cut short, that it was (before they could be).

    `missing(run, "child-read", "parent-changed")` names only the keys `run` lacks; with no run
    (`missing("child-read", ...)`, the old form) every key given is named.
    """
    if isinstance(run, str):
        return "not observed in this run: " + ", ".join((run, *what))
    absent = [w for w in what if run.first(w) is None]
    cut = CUT_SHORT.get(run.status)
    if not absent:  # the caller needed more than these keys
        return (f"{cut}; " if cut else "") + f"observed {', '.join(what)}, but not enough to tell"
    text = "not observed in this run: " + ", ".join(absent)
    if cut:
        text += f" ({cut} before {'it was' if len(absent) == 1 else 'they were'} reported)"
    return text
