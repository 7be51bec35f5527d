"""Findings: claims checked against what the processes of one run observed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple


class Finding(NamedTuple):
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

    def verdict(self, from_lesson: bool = True) -> str:
        if self.holds is None:
            return "could not be checked"
        word = "holds" if self.holds else "does not hold"
        if self.agrees is None:
            return word
        if from_lesson:
            return f"{word}, {'as the lesson says' if self.agrees else 'unlike what the lesson says'}"
        return f"{word}, {'as commonly believed' if self.agrees else 'unlike common belief'}"


class Record:
    """Everything one run reported, for a scenario's findings() to read."""

    def __init__(self, config: dict[str, Any], events: list[dict[str, Any]] | None = None,
                 status: str = "ok") -> None:
        self.config = config
        self.events: list[dict[str, Any]] = events if events is not None else []
        self.status = status
        self.stacks: dict[str, str] = {}  # role -> stack, when the run timed out

    @property
    def start_method(self) -> str:
        return str(self.config["start_method"])

    def observations(self, what: str, role: str | None = None) -> Iterator[dict[str, Any]]:
        for e in self.events:
            if e["kind"] == "observe" and e.get("data", {}).get("what") == what and (
                role is None or e["role"] == role
            ):
                yield e["data"]

    def first(self, what: str, role: str | None = None) -> dict[str, Any] | None:
        return next(self.observations(what, role), None)

    def of_kind(self, kind: str, role: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events if e["kind"] == kind and (role is None or e["role"] == role)]

    def output(self, role: str | None = None) -> str:
        return "".join(e["text"] for e in self.of_kind("output", role))

    def exit_of(self, role: str) -> dict[str, Any] | None:
        exits = self.of_kind("process-exit", role)
        return exits[-1].get("data", {}) if exits else None


def missing(*what: str) -> str:
    return "not observed in this run: " + ", ".join(what)
