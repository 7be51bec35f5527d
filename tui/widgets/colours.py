"""The app's colours: one per process (the process table and the log), one per verdict tone."""

from __future__ import annotations

PALETTE = ("#5fafff", "#87d75f", "#ffaf5f", "#d787ff", "#5fd7d7", "#ff87af", "#d7d75f",
           "#afafff", "#87ffaf", "#ffd787")
RUNNER = "#8a8a8a"
HELPER = "#9e9e9e"


class Colours:
    """Hands out palette colours to pids in the order they are first seen."""

    def __init__(self) -> None:
        self._by_pid: dict[int, str] = {}

    def clear(self) -> None:
        self._by_pid.clear()

    def of(self, pid: int, role: str = "", helper: bool = False) -> str:
        if role == "runner":
            return RUNNER
        if pid not in self._by_pid:
            if helper:
                return HELPER
            self._by_pid[pid] = PALETTE[len(self._by_pid) % len(PALETTE)]
        return self._by_pid[pid]


# how a finding reads, as a colour (the verdict's tone): agreement, never the outcome itself
TONES = {"agrees": "bold green", "differs": "bold red", "unchecked": "bold yellow",
         "unsaid": "dim"}
