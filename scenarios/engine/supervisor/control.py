"""The control protocol on stdin (with --control or --step): one command a line.

`step` (or `s`, or an empty line) lets every process held at a checkpoint go on;
`stop` (`x`, `q`, `quit`) ends the run; the end of the input stops it too (the app
that started the run is gone). Which processes are held is the RunState's to say.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

if TYPE_CHECKING:
    from scenarios.engine.supervisor.core import Core


LINE = 4096  # bytes: a command line longer than this is dropped


class Control:
    def __init__(self, sup: Core) -> None:
        self.sup = sup
        self.buffer = b""
        self.skipping = False

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
            command = line.decode(errors="replace").strip().lower()
            if command in ("", "s", "step"):
                self.release()
            elif command in ("x", "stop", "q", "quit"):
                sup.stop_reason = sup.stop_reason or "asked to stop"

    def release(self) -> None:
        """One step: let every process held at a checkpoint go on."""
        sup = self.sup
        for pid in sup.waiting():
            sup.let_go.add(pid)  # once: a second step before it speaks must not skip its next hold
            try:
                sup.answer_to[pid].sendall(b"g")
            except OSError:
                pass
        sup.update_pause()
