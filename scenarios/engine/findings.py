"""Findings: claims checked against what the processes of one run observed.

A scenario's findings() reads the run's RunState and returns these.
"""

from __future__ import annotations

from scenarios.engine.fields import Fields
from scenarios.engine.state import LESSON, verdict

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

class Finding(Fields):
    fields = ("id", "claim", "holds", "lesson", "evidence")  # in the constructor's order
    __slots__ = fields
    id: str  # stable, kebab-case
    claim: str
    holds: bool | None  # what happened in this run; None when the run could not tell
    lesson: bool | None  # what the lesson says; None when it says nothing
    evidence: str

    @property
    def agrees(self) -> bool | None:
        if self.holds is None or self.lesson is None:
            return None
        return self.holds == self.lesson

    def summary(self, source: str = LESSON) -> str:
        """How it reads: "holds, as the lesson says" (the one verdict model's words)."""
        return verdict(self, source).summary


def missing(*what: str) -> str:
    return "not observed in this run: " + ", ".join(what)
