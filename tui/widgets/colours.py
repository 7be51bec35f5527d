"""The app's colours: one per process (the process table and the log), one per verdict tone."""

from __future__ import annotations

from scenarios.engine.state import HELPER_ROLES

PALETTE = ("#5fafff", "#87d75f", "#ffaf5f", "#d787ff", "#5fd7d7", "#ff87af", "#d7d75f",
           "#afafff", "#87ffaf", "#ffd787")
RUNNER = "#8a8a8a"
HELPER = "#9e9e9e"


class Colours:
    """A colour per role, by its name alone: the parent is always PALETTE[0], child-N always the
    N-th of the others, in the table and the log alike and from one run to the next (a role is the same
    process of the lesson in every run; a pid is not)."""

    def __init__(self) -> None:
        self._by_role: dict[str, str] = {}

    def clear(self) -> None:
        self._by_role.clear()

    def of(self, pid: int, role: str = "", helper: bool = False) -> str:
        """The colour of a process: `pid` is not used (kept for the callers' sake)."""
        if role == "runner":
            return RUNNER
        colour = self._by_role.get(role)
        if colour is None:
            n = role_number(role)
            if n is None and (helper or role in (*HELPER_ROLES, "?", "process", "")):
                return HELPER  # a helper, or not named yet (parent and child-N never are)
            if n is None:  # a role of a scenario's own naming ("witness"): the same every run
                n = sum(role.encode())
            # the parent's colour is its own; the children go round the others
            colour = PALETTE[0] if n == 0 else PALETTE[1 + (n - 1) % (len(PALETTE) - 1)]
            self._by_role[role] = colour
        return colour


def role_number(role: str) -> int | None:
    """0 for the parent, N for child-N (1 for child), None for any other role."""
    if role == "parent":
        return 0
    if role == "child":
        return 1
    head, _, n = role.rpartition("-")
    return int(n) if head == "child" and n.isdigit() else None


# a verdict's tone (is the lesson right?) as the style of its mark: never the outcome itself,
# which is drawn in HAPPENED whatever it was (a deadlock that happened is not good news). No
# green: agreeing with the lesson is no success; the loud one is where the lesson is wrong
TONES = {"agrees": "blue", "differs": "bold red", "unchecked": "bold magenta", "unsaid": "dim",
         "n/a": "dim"}
HAPPENED = "bold"
