"""The runner's stdout, line by line, as typed events.

The app's run client and `statelab run` both read the runner's lines here.
Each is decoded with `protocol.decode`; a line that is not an event of the
contract is shown as what it is, never a crash and never a bare dict: text
that is not JSON becomes the runner's `output` (it printed something), JSON
that breaks the contract becomes the runner's `error`, saying why.
"""

from __future__ import annotations

import json

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
