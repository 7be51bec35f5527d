"""One model of a run: a pure fold of its events, and the one way a finding reads.

`RunState.apply(event)` is the only place that works out which processes a
run has, their roles, which of them is held at a checkpoint, how each ended,
the findings and the status. The supervisor (for a scenario's `findings()`),
the app's widgets, `statelab run`, export and the tests all read a RunState,
so they cannot disagree. No I/O here, no clock, no Textual.

`verdict()` says how a finding reads: what happened, what the source of the
claim says (the lesson, or common belief beyond it), and whether they agree.
Every front end renders from it.

Two rules of the fold keep a run's account of its processes single-valued:

- **One role per process.** A process that announced itself (its own
  process-start, from the probe) keeps the role it gave. A helper role given by
  someone else (the runner's guess from /proc, or the process that started the
  helper) names a process that never announced itself; it never overrides an
  announcement, and it is dropped when the process announces itself later.
  Only a process named as a helper, and never announced, is a helper.
- **One exit per process: the kernel's answer.** An exit is reported by the
  process that reaped it: the runner (child subreaper of the whole run: the
  parent and every orphan), or the scenario's parent for the children it
  joins. `data.via` says how the reporter knows: `waitpid` when it reaped the
  process itself (the runner; the parent under fork and spawn, where
  `Process.exitcode` is its own waitpid's answer), `forkserver` when the fork
  server reaped it and relayed the status (multiprocessing makes up 255 when
  the fork server is gone, and the parent then reports nothing). The first
  report is kept; a later one replaces it only if it is a `waitpid` answer and
  the kept one is not (only one process can reap a pid: if the runner reaped a
  process whose exit was relayed, the relay was a guess). A `waitpid` answer
  is never replaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from scenarios.engine.fields import Fields
from scenarios.engine.protocol import (
    Checkpoint,
    Error,
    Event,
    FindingEvent,
    Memory,
    Observe,
    Output,
    ProcessExit,
    ProcessStart,
    RunEnd,
    RunStart,
)

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Claim(Protocol):
        @property
        def holds(self) -> bool | None: ...
        @property
        def lesson(self) -> bool | None: ...

LESSON = "the lesson"
BELIEF = "common belief"
# the lesson's own scenarios: transcripts written before run-start said where claims come from
LESSON_SCENARIOS = ("queue-copy", "shared-value", "shared-array", "pass-via-queue", "small-int-id")
KEEP_OUTPUT = 4 << 20  # characters of output kept; past them output is counted, not kept
KEEP_PER_KEY = 2000  # observations kept per process and kind (data.what)
KEEP_EVENTS = 100_000  # observations are no longer kept once the run has this many events
HELPER_ROLES = ("resource-tracker", "forkserver", "manager")
KEEP_POINTS = 1000  # memory points kept per process; past them the oldest sampled one goes
REAPED = "waitpid"  # data.via of an exit its reporter reaped itself: the kernel's answer


# -- how a finding reads --------------------------------------------------------------------



class Verdict(Fields):
    """How one finding reads, in words every front end shows the same way.

    Two things, kept apart: what happened in this run (`happened`, shown in a neutral style:
    a deadlock that happened is neither good nor bad news), and whether the source of the
    claim was right (`mark` and `tone`: a calm ✓, a loud ✗ where the source is wrong)."""

    fields = ("mark", "tone", "happened", "said", "summary")  # in the constructor's order
    __slots__ = fields

    mark: str  # is the source right? ✓ yes, ✗ no (the news), • it says nothing, ? not checked,
    #            – not applicable (legend() says each in words)
    tone: str  # "agrees", "differs", "unsaid", "unchecked", "n/a": front ends map it to a style
    happened: str  # "holds", "does not hold", "not applicable", "could not be checked"
    said: str  # "the lesson says it holds, and it is right", "... but it is wrong here", ...
    summary: str  # "holds, as the lesson says": the finding event's own words


NOT_APPLICABLE = "not applicable"


def legend(source: str = LESSON) -> list[tuple[str, str, str]]:
    """Each mark, what it says in a few words, and more: for the help screen, `statelab run`,
    the export and the sweep matrix."""
    return [("✓", f"{source} is right", "what happened is what it says"),
            ("✗", f"{source} is wrong here",
             "what happened is not what it says, and that is the news"),
            ("•", f"{source} says nothing about it", "what happened is shown as it is"),
            ("?", "could not be checked", "the run did not observe what the claim needs"),
            ("–", NOT_APPLICABLE, "the claim is not about this configuration (the evidence "
                                  "says why)")]


def verdict(finding: Claim, source: str = LESSON) -> Verdict:
    holds, lesson = finding.holds, finding.lesson
    says = ("says nothing about it" if lesson is None
            else f"says it {'holds' if lesson else 'does not hold'}")
    said = f"{source} {says}"
    if getattr(finding, "applies", True) is False:  # Claims made before `applies` existed apply
        return Verdict("–", "n/a", NOT_APPLICABLE, said, NOT_APPLICABLE)
    happened = {True: "holds", False: "does not hold", None: "could not be checked"}[holds]
    if holds is None:
        return Verdict("?", "unchecked", happened, said, happened)
    if lesson is None:
        return Verdict("•", "unsaid", happened, said, happened)
    if holds == lesson:
        how = "as the lesson says" if source == LESSON else "as commonly believed"
        return Verdict("✓", "agrees", happened, f"{said}, and it is right", f"{happened}, {how}")
    return Verdict("✗", "differs", happened, f"{said}, but it is wrong here",
                   f"{happened}: {source} is wrong here (it {says})")


def source_of(scenario: str, from_lesson: bool | None = None) -> str:
    """Where a scenario's claims come from."""
    if from_lesson is None:
        from_lesson = scenario in LESSON_SCENARIOS
    return LESSON if from_lesson else BELIEF


# -- the processes of a run -----------------------------------------------------------------

class MemoryPoint(Fields):
    """One reading of a process's memory, in bytes: taken by the process itself as it sent an
    event (source "self": at its start, each checkpoint, its end) or by the app's sampler."""

    fields = ("t", "rss", "pss", "uss", "source")  # in the constructor's order
    __slots__ = fields

    t: float  # seconds since the run started
    rss: int | None
    pss: int | None
    uss: int | None
    source: str  # "self" or "sampler"


class Proc:
    """One process of the run, as the events describe it."""

    __slots__ = ("exit", "held", "helper", "memory", "own", "pid", "ppid", "role", "started")

    def __init__(self, pid: int, role: str) -> None:
        self.pid = pid
        self.role = role
        self.ppid: int | None = None
        self.helper = role in HELPER_ROLES
        self.own = False  # it announced itself: its role is its own word
        self.started: float | None = None
        self.exit: ProcessExit | None = None  # the one exit kept (see the module's rules)
        self.held: str | None = None  # the checkpoint it waits at for a step
        self.memory: list[MemoryPoint] = []  # in the order they came, at most KEEP_POINTS

    def add_memory(self, point: MemoryPoint) -> None:
        self.memory.append(point)
        if len(self.memory) > KEEP_POINTS:  # its own readings are few: a sampled one goes
            gone = next((i for i, p in enumerate(self.memory) if p.source == "sampler"), 0)
            del self.memory[gone]

    @property
    def ended(self) -> bool:
        return self.exit is not None

    @property
    def failed(self) -> bool:
        """It ended badly and it is not a helper: a helper's exit code is the interpreter's,
        not the scenario's (Python 3.13's resource tracker exits with 1 after warning of a
        leak); a process of the scenario that failed or died by a signal fails the run."""
        return self.exit is not None and self.exit.failed and not self.helper

    def __repr__(self) -> str:
        return f"Proc({self.pid}, {self.role!r})"


class RunState:
    """Everything one run reported, folded: read by findings(), widgets, CLI and export."""

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self.events: list[Event] = []
        self.config: dict[str, Any] = {}
        self.interpreter: dict[str, Any] = {}
        self.runner_pid: int | None = None
        self.t0: float | None = None  # the runner's time.monotonic() at run start, if it said
        self.processes: dict[int, Proc] = {}  # in the order they were first named
        self.findings: list[FindingEvent] = []
        self.end: RunEnd | None = None
        self.errors = 0  # error events (the runner's and the processes')
        self.stacks: dict[str, str] = {}  # role -> stack of a process stuck at the timeout
        self.claims_from: str | None = None
        self.cut_short: str | None = None  # "timeout" or "stopped", from the runner's report
        self.kept_output = 0  # characters of output text kept
        self.per_key: dict[tuple[int, str], int] = {}  # observations seen per (pid, what)
        self.left_out: dict[str, int] = {}  # what was counted but not kept, by kind
        for event in events:
            self.apply(event)

    # -- the fold -----------------------------------------------------------------------------

    def keep(self, event: Event) -> bool:
        """Whether the event is kept in `events`, or only counted (in `left_out`): a flood of
        output or of observations must not grow the runner or the app without bound. What a
        finding can read stays: the first KEEP_OUTPUT bytes of output and KEEP_PER_KEY
        observations of each kind per process; every other kind of event is always kept."""
        if isinstance(event, Output):
            size = len(event.text)
            if self.kept_output + size > KEEP_OUTPUT:
                self.left_out["output bytes"] = self.left_out.get("output bytes", 0) + size
                return False
            self.kept_output += size
        elif isinstance(event, Observe):
            key = (event.pid, str(event.data.get("what")))
            seen = self.per_key[key] = self.per_key.get(key, 0) + 1
            if seen > KEEP_PER_KEY or len(self.events) >= KEEP_EVENTS:
                self.left_out["observations"] = self.left_out.get("observations", 0) + 1
                return False
        return True

    def apply(self, event: Event) -> None:
        if self.keep(event):
            self.events.append(event)
        if isinstance(event, RunStart):
            self.config = event.config
            self.interpreter = event.interpreter
            runner = event.data.get("runner")
            self.runner_pid = runner if isinstance(runner, int) else event.pid
            t0 = event.data.get("t0_monotonic")
            self.t0 = float(t0) if isinstance(t0, (int, float)) else None
            claims = event.data.get("claims_from")
            self.claims_from = claims if claims in (LESSON, BELIEF) else None
            self._proc(self.runner_pid, "runner")
            return
        if isinstance(event, RunEnd):
            self.end = event
            for proc in self.processes.values():
                proc.held = None
            return
        if isinstance(event, FindingEvent):
            self.findings.append(event)
            return
        if event.role == "runner" and event.pid == self.runner_pid:
            if isinstance(event, Error):
                self.errors += 1
                if "timeout" in event.data:
                    self.cut_short = self.cut_short or "timeout"
                elif "reason" in event.data:
                    self.cut_short = self.cut_short or "stopped"
            return
        own = isinstance(event, ProcessStart) and not (event.helper or event.role in HELPER_ROLES)
        proc = self._proc(event.pid, "?" if own else event.role)
        if isinstance(event, ProcessStart):
            if own:  # its own word: its role, and it is no helper, whatever was guessed before
                proc.role, proc.own, proc.helper = event.role, True, False
                proc.ppid = event.ppid if event.ppid is not None else proc.ppid
            elif not proc.own:  # named as a helper by someone else
                proc.helper = proc.helper or event.helper
                proc.ppid = event.ppid if proc.ppid is None else proc.ppid
            proc.started = event.t if proc.started is None else proc.started
        elif isinstance(event, ProcessExit):
            if proc.exit is None or (reaped(event) and not reaped(proc.exit)):
                proc.exit = event
        elif isinstance(event, Error):
            self.errors += 1
            if event.stack:
                self.stacks[event.role] = event.stack
        # a reading rides on the process's own events; a process-start given by someone else
        # (a helper named by its starter) carries none
        if isinstance(event, (ProcessStart, Checkpoint, Memory, Observe)) and (
                own or not isinstance(event, ProcessStart)):
            mem = event.memory
            if mem is not None:
                proc.add_memory(MemoryPoint(event.t, mem["rss"], mem["pss"], mem["uss"], "self"))
        if isinstance(event, Checkpoint) and event.hold and not proc.ended:
            proc.held = event.name
        elif not isinstance(event, Output):
            # anything else the process says means it went on (what a helper prints on an
            # inherited stream does not)
            proc.held = None

    def _proc(self, pid: int, role: str) -> Proc:
        proc = self.processes.get(pid)
        if proc is None:
            proc = self.processes[pid] = Proc(pid, role)
        elif role not in ("?", "unknown") and proc.role != role and not proc.own:
            # named by someone else: a process that announced itself keeps its own role
            proc.role = role
            proc.helper = proc.helper or role in HELPER_ROLES
        return proc

    def sampled(self, pid: int, at: float, rss: int | None, pss: int | None,
                uss: int | None) -> None:
        """The app's sampler read a process the events named, at `at` (time.monotonic(): a
        clock all processes share; an older transcript has no t0: after the points before)."""
        proc = self.processes.get(pid)
        last = proc.memory[-1] if proc is not None and proc.memory else None
        if last is not None and (last.rss, last.pss, last.uss) == (rss, pss, uss):
            return  # the same reading again (a paused process): nothing new to plot or show
        if proc is not None and (rss is not None or uss is not None):
            t = max(0.0, round(at - self.t0, 6)) if self.t0 is not None else (
                proc.memory[-1].t if proc.memory else 0.0)
            proc.add_memory(MemoryPoint(t, rss, pss, uss, "sampler"))

    def exit_known(self, pid: int) -> bool:
        """Has the kernel's own answer for pid been reported (a `waitpid` exit)? Then no other
        report may replace it."""
        proc = self.processes.get(pid)
        return proc is not None and proc.exit is not None and reaped(proc.exit)

    def extend(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)

    # -- what it adds up to -----------------------------------------------------------------

    @property
    def scenario(self) -> str:
        return str(self.config.get("scenario", ""))

    @property
    def start_method(self) -> str:
        return str(self.config.get("start_method", ""))

    @property
    def source(self) -> str:
        """Where the claims come from: the lesson, or common belief beyond it."""
        return self.claims_from or source_of(self.scenario)

    @property
    def status(self) -> str:
        """The status run-end gave; before it, what the events so far add up to (the
        supervisor ends the run with this one)."""
        if self.end is not None:
            return self.end.status
        return self.cut_short or ("error" if self.problems else "ok")

    @property
    def problems(self) -> int:
        """Errors, and processes of the scenario that failed (helpers' exits aside), counted
        from each process's one kept exit and its role as it stands now."""
        return self.errors + sum(1 for p in self.processes.values() if p.failed)

    @property
    def ended(self) -> bool:
        return self.end is not None

    @property
    def held(self) -> dict[int, str]:
        """pid -> the checkpoint it is held at, for every process waiting for a step."""
        return {p.pid: p.held for p in self.processes.values() if p.held is not None}

    def verdicts(self) -> list[tuple[FindingEvent, Verdict]]:
        return [(f, verdict(f, self.source)) for f in self.findings]

    def roles(self) -> dict[int, str]:
        return {p.pid: p.role for p in self.processes.values()}

    # -- what the findings read -------------------------------------------------------------

    def observations(self, what: str, role: str | None = None) -> Iterator[dict[str, Any]]:
        for e in self.events:
            if isinstance(e, Observe) and e.data.get("what") == what and (
                    role is None or e.role == role):
                yield e.data

    def first(self, what: str, role: str | None = None) -> dict[str, Any] | None:
        return next(self.observations(what, role), None)

    def of_kind(self, kind: str, role: str | None = None) -> list[Event]:
        return [e for e in self.events if e.kind == kind and (role is None or e.role == role)]

    def output(self, role: str | None = None) -> str:
        return "".join(e.text for e in self.of_kind("output", role))

    def exit_of(self, role: str) -> dict[str, Any] | None:
        """The data of the exit kept for the last process of that role that ended (exitcode,
        signal)."""
        exits = [p.exit for p in self.processes.values() if p.role == role and p.exit is not None]
        return exits[-1].data if exits else None


def reaped(event: ProcessExit) -> bool:
    """Did the reporter reap the process itself (the kernel's answer, not a relay)?"""
    return event.data.get("via") == REAPED
