"""The runner's stdout, line by line, as typed events.

The app's run client and `statelab run` both read the runner's lines here.
Each is decoded with `protocol.decode`; a line that is not an event of the
contract is shown as what it is, never a crash and never a bare dict: text
that is not JSON becomes the runner's `output` (it printed something), JSON
that breaks the contract becomes the runner's `error`, saying why.
"""

from __future__ import annotations

import codecs
import json
import os
import select
from collections.abc import Callable, Iterator
from typing import IO

from scenarios.engine.protocol import Error, Event, Output, ProtocolError, decode

SHOWN = 1000  # characters of a malformed line that are kept (an event stays under 4 KiB)


class LineReader:
    """Decodes one run's lines; knows the runner's pid and the time of the last event."""

    def __init__(self, runner_pid: int) -> None:
        self.runner_pid = runner_pid
        self.t = 0.0  # a malformed line is placed at the time of the event before it

    def read(self, line: bytes | str) -> Event | None:
        """The event on this line; None for a blank line."""
        text = line.decode(errors="replace") if isinstance(line, bytes) else line
        if not text.strip():
            return None
        try:
            event = decode(line)
        except ProtocolError as e:
            return self.problem(text.rstrip("\r\n"), str(e))
        self.t = max(self.t, event.t)
        return event

    def problem(self, text: str, reason: str) -> Event:
        shown = text if len(text) <= SHOWN else text[:SHOWN] + " …"
        try:
            json.loads(text)
        except ValueError:
            return Output(self.t, self.runner_pid, "runner", shown, {"stream": "stdout"})
        return Error(self.t, self.runner_pid, "runner",
                     f"the runner wrote a line that is not a valid event: {reason}",
                     {"line": shown})


class TimedLines:
    """The lines of a pipe as they come, and a call to `on_quiet()` whenever none has come for
    `quiet` seconds (so a reader holding lines back to reorder them can let them go). Reading
    can be interrupted (Ctrl-C) and resumed: a partial line is kept."""

    def __init__(self, stream: IO[str], on_quiet: Callable[[], None], quiet: float) -> None:
        self.fd = stream.fileno()
        self.on_quiet = on_quiet
        self.quiet = quiet
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.partial = ""
        self.ended = False
        self.waiting = False  # in select(): a Ctrl-C may interrupt here
        self.interrupted = False  # a Ctrl-C came elsewhere: it interrupts at the next line

    def on_sigint(self, signum: int, frame: object) -> None:
        """SIGINT's handler while lines are read: a Ctrl-C that came in the middle of printing
        a line (Rich's buffer written, not yet cleared: the next print wrote it again) waits
        until that line is done."""
        if self.waiting:
            raise KeyboardInterrupt
        self.interrupted = True

    def __iter__(self) -> Iterator[str]:
        while not self.ended:
            if self.interrupted:  # Ctrl-C came while a line was being handled: now, between two
                self.interrupted = False
                raise KeyboardInterrupt
            self.waiting = True
            try:
                ready = select.select([self.fd], [], [], self.quiet)[0]
            finally:
                self.waiting = False
            if not ready:
                self.on_quiet()
                continue
            data = os.read(self.fd, 1 << 16)
            if not data:
                self.ended = True
                break
            self.partial += self.decoder.decode(data)
            *complete, self.partial = self.partial.split("\n")
            for row in complete:
                yield row + "\n"
        if self.partial:
            row, self.partial = self.partial, ""
            yield row
