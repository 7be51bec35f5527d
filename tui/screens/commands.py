"""The command palette's lab commands: everything the keys do, and every choice a setting has.

Loaded when the palette first opens. Like the scenario provider it imports neither the app nor
the lab screen: each command is an action string, run by the app (`run`, `sweep('lock')`) or by
the lab screen it was opened on (`screen.set_knob('start_method', 'spawn')`), so a command does
exactly what its key does, checks included.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from scenarios.engine import ctypes_table
from scenarios.engine.knobs import COMMON, START_METHODS

# (what the palette shows, the action, what it does); the key in brackets where there is one
KEYS = (
    ("run", "run", "run the scenario with these settings (r)"),
    ("step", "step", "start a run paused at its first checkpoint, or release the held (s)"),
    ("stop", "stop", "stop the run: every process of it ends (x)"),
    ("pace", "pace", "the next run's pace, in turn: off, 0.5 s, 1 s, 2 s (p)"),
    ("export", "export", "write the transcript: Markdown and JSON lines (e)"),
    ("sweep", "sweep", "run the scenario once per start method, lock, type code or Python (w)"),
    ("sidebar", "toggle_sidebar", "hide or show the list and the settings (b)"),
    ("maximise", "screen.maximise", "the log or the tabs take the whole screen (m)"),
    ("tab: findings", "screen.show_tab('tab-findings')", "the findings of the run (1)"),
    ("tab: code", "screen.show_tab('tab-code')", "the scenario's source (2)"),
    ("tab: lesson", "screen.show_tab('tab-lesson')", "the lesson (3)"),
    ("log", "screen.show_log", "the observation log (4)"),
    ("help", "help", "keys, panes and how the findings read (?)"),
    ("quit", "quit", "stop the run and quit (q)"),
)
PACES = ((None, "pace: off"), (0.5, "pace: 0.5 s"), (1.0, "pace: 1 s"), (2.0, "pace: 2 s"))
SWEEPS = (("start-method", "each start method"), ("lock", "each lock mode"),
          ("typecode", "each type code"), ("python", "each CPython 3.11+ found"))


def commands() -> Iterator[tuple[str, str, str]]:
    yield from KEYS
    for pace, text in PACES:
        yield text, f"set_pace({pace!r})", "hold each checkpoint that long, then go on (p)"
    for axis, what in SWEEPS:
        yield f"sweep over {axis}", f"sweep({axis!r})", f"the scenario once per {what}"
    for method in START_METHODS:
        yield (f"start method: {method}", f"screen.set_knob('start_method', {method!r})",
               "how the children are started")
    for code, info in ctypes_table.TYPECODES.items():
        yield (f"type code: {code}", f"screen.set_knob('typecode', {code!r})",
               f"{info.c_type}, {info.size} bytes")
    for mode in COMMON["lock"].choices:
        yield f"lock: {mode}", f"screen.set_knob('lock', {mode!r})", "the Value's lock= mode"


class LabCommands(Provider):
    """Run, step, stop, pace, export, sweep, tabs, and the settings' choices."""

    async def discover(self) -> Hits:
        for text, action, help in KEYS:
            yield DiscoveryHit(text, partial(self.app.run_action, action), help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, action, help in commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.run_action, action),
                          help=help)
