"""The control protocol on stdin (with --control or --step): one command a line.

`step` (or `s`, or an empty line) lets every process held at a checkpoint go on;
`step ROLE` or `step PID` lets only that one go on, so that whoever reads the
stream can be the scheduler (any scenario, in step mode); `stop` (`x`, `q`, `quit`)
ends the run; the end of the input stops it too (the app that started the run is
gone). Which processes are held is the RunState's to say.

With --pace SECONDS a process held at a checkpoint is let go that long after its checkpoint
came, by the runner's select loop (its timeout is the next hold due: no thread, no timer of
the process's own). With --step too, whichever comes first lets it go: the pace, or a step.

Every byte here is untrusted: a line is bounded, and a command that names no held
process, or that is not a command, is said once, in a note of the runner's (an
`output` event on its `runner` stream), never an error: a typo does not fail the run.
"""

from __future__ import annotations

import os
import time

from scenarios.engine.protocol import Output

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

if TYPE_CHECKING:
    from scenarios.engine.supervisor.core import Core


LINE = 4096  # bytes: a command line longer than this is dropped
NOTES = 20  # notes on bad commands per run: a flood of them must not flood the stream
STEP = ("", "s", "step")
STOP = ("x", "stop", "q", "quit")
COMMANDS = "step, step ROLE, step PID, stop"


def shown(word: str) -> str:
    """A word from the input, fit to quote in a note: short and printable."""
    word = "".join(c if c.isprintable() else "?" for c in word)
    return repr(word if len(word) <= 40 else word[:37] + "...")


class Control:
    def __init__(self, sup: Core) -> None:
        self.sup = sup
        self.buffer = b""
        self.skipping = False
        self.notes = 0

    def read(self) -> None:
        sup = self.sup
        try:
            data = os.read(0, 4096)
        except OSError:
            data = b""
        if not data:
            sup.sel.unregister(0)
            sup.stop_reason = sup.stop_reason or "its control input was closed"
            return
        self.buffer += data
        if self.skipping:  # the rest of a line too long to be a command
            if b"\n" not in self.buffer:
                self.buffer = b""
                return
            self.buffer = self.buffer.split(b"\n", 1)[1]
            self.skipping = False
        if b"\n" not in self.buffer and len(self.buffer) > LINE:  # no command is that long
            self.buffer, self.skipping = b"", True
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            self.command(line.decode(errors="replace").strip())

    def command(self, line: str) -> None:
        words = line.split()
        verb = words[0].lower() if words else ""
        if verb in STEP and len(words) <= 1:
            if self.sup.cfg.step:  # a paced run that does not step lets each go by its pace only
                self.release()
        elif verb in STEP and len(words) == 2:
            self.release_one(words[1])
        elif verb in STOP and len(words) == 1:
            self.sup.stop_reason = self.sup.stop_reason or "asked to stop"
        else:
            self.note(f"unknown command {shown(line)}; the commands are {COMMANDS}",
                      command=line[:100])

    def release(self, only: list[int] | None = None) -> None:
        """One step: let every process held at a checkpoint go on (or only those in `only`)."""
        sup = self.sup
        for pid in sup.waiting() if only is None else only:
            sup.let_go.add(pid)  # once: a second step before it speaks must not skip its next hold
            sup.pace_until.pop(pid, None)  # a step came first: its pace is over too
            try:
                sup.answer_to[pid].sendall(b"g")
            except OSError:
                pass
        sup.update_pause()

    def pace_wait(self) -> float | None:
        """Seconds until the next paced hold is over (0 if one is due); None: none is paced."""
        if not self.sup.pace_until:
            return None
        return max(0.0, min(self.sup.pace_until.values()) - time.monotonic())

    def release_due(self) -> None:
        """Let go every process whose paced hold is over (if it still waits)."""
        sup = self.sup
        now = time.monotonic()
        due = [pid for pid, until in sup.pace_until.items() if until <= now]
        if not due:
            return
        for pid in due:
            del sup.pace_until[pid]
        waiting = sup.waiting()
        due = [pid for pid in due if pid in waiting]
        if due:
            self.release(due)

    def release_one(self, name: str) -> None:
        """`step ROLE` or `step PID`: let that process go on, if it waits for a step; else say
        once why not, naming those that do."""
        sup = self.sup
        waiting = sup.waiting() if sup.cfg.step else []  # held for the pace alone: not a step's
        procs = sup.state.processes
        if name.isdigit():
            named = [pid for pid in procs if str(pid) == name]
        else:
            named = [pid for pid, p in procs.items() if p.role == name and not p.helper]
            if not named:  # roles are lower case; a name typed otherwise still finds its process
                named = [pid for pid, p in procs.items()
                         if p.role.lower() == name.lower() and not p.helper]
        chosen = [pid for pid in named if pid in waiting]
        if chosen:
            self.release(chosen)
            return
        held = ", ".join(f"{procs[pid].role} (pid {pid}) at {procs[pid].held}" for pid in waiting)
        if not sup.cfg.step and sup.cfg.pace is not None:
            why = "this run is paced, not in step mode: each hold ends by itself"
        elif not sup.cfg.step:
            why = "this run is not in step mode: no process waits for a step"
        elif not named:
            why = f"no process of this run is named {shown(name)}"
        elif any(pid in sup.let_go for pid in named):
            why = f"{procs[named[0]].role} was let go already and has not reached its next checkpoint"
        elif any(procs[pid].ended for pid in named):
            why = f"{procs[named[0]].role} has ended"
        else:
            why = (f"{procs[named[0]].role} is not held at a checkpoint (it is running, or "
                   "waits for something else)")
        self.note(f"step {shown(name)}: {why}; " + (f"held: {held}" if held else "none is held"),
                  command=f"step {name[:100]}", held=[procs[pid].role for pid in waiting])

    def note(self, text: str, **data: object) -> None:
        """Say what the runner made of a command, on its own stream; at most NOTES a run."""
        self.notes += 1
        if self.notes > NOTES:
            return
        if self.notes == NOTES:
            text += f" (the last note on commands in this run: {NOTES} is enough)"
        self.sup.emit(Output, text, data={"stream": "runner", **data})
