"""The messages that carry a run's events and process samples to the screen.

The run client (an asyncio task) and the sampler (a thread worker) only post
these, to the lab screen; its handlers fold the events into the run's
`RunState` and update the widgets. Tests feed recorded events and fixed
samples through the same messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from scenarios.engine.protocol import Event


class RunEvents(Message):
    """A batch of typed events of one run, in the order they were read."""

    def __init__(self, run_id: int, events: list[Event]) -> None:
        super().__init__()
        self.run_id = run_id
        self.events = events

    def can_replace(self, message: Message) -> bool:
        # Called on a queued batch with the next queued message: when the events come faster
        # than the screen draws, the next batch absorbs this one and the handler runs once.
        # This batch's list takes the next one's events (appending: a merge costs what it
        # adds, not what was merged before it) and becomes the next batch's list.
        if isinstance(message, RunEvents) and message.run_id == self.run_id:
            self.events.extend(message.events)
            message.events = self.events
            return True
        return False


class RunEnded(Message):
    """The runner process ended (after its last event was posted). It bubbles from the screen
    (which updates the view) to the app (which stops the sampler)."""

    def __init__(self, run_id: int, returncode: int | None, stderr: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.returncode = returncode
        self.stderr = stderr


@dataclass(frozen=True)
class ProcSample:
    """What psutil saw of one process at one moment (sizes in bytes)."""

    pid: int
    ppid: int | None
    state: str
    rss: int | None
    uss: int | None
    pss: int | None
    cpu: float | None
    threads: int | None
    guess: str = ""  # a role guessed from the command line, for processes no event named yet


class Samples(Message):
    """One sampling pass over every live process of a run."""

    def __init__(self, run_id: int, samples: dict[int, ProcSample], gone: frozenset[int]) -> None:
        super().__init__()
        self.run_id = run_id
        self.samples = samples
        self.gone = gone

    def can_replace(self, message: Message) -> bool:
        # a newer pass supersedes an older one that was not drawn yet
        if isinstance(message, Samples) and message.run_id == self.run_id:
            message.gone = message.gone | self.gone
            return True
        return False


class ScenarioChosen(Message):
    """Someone (the command palette) chose a scenario by name."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
