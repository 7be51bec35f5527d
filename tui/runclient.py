"""Start one run of the engine as a subprocess and read its events without blocking the loop.

The runner (`python -m scenarios ... --control`) is started in its own session
(so its own process group, and no SIGHUP from the app's terminal). Its stdin is
the control channel (`step`, `stop`); if the app dies, stdin closes and the
runner stops the run by itself. The scenario's processes are in a second group,
led by the scenario's parent: a hard kill signals both groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable

from textual.message import Message

from scenarios.engine.knobs import Config
from scenarios.engine.protocol import Event, ProcessStart, RunStart
from tui.interpreters import Interpreter, own
from tui.lines import LineReader
from tui.messages import RunEnded, RunEvents

CHUNK = 1 << 16


def _signal_group(pgid: int, sig: int) -> None:
    if pgid > 1 and pgid != os.getpgrp():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


class RunClient:
    """One run: the runner subprocess, its control channel, and the pids it reported."""

    def __init__(self, config: Config, run_id: int, post: Callable[[Message], object],
                 python: Interpreter | None = None) -> None:
        self.config = config
        self.python = python or own()  # the runner's interpreter (tui.interpreters checked it)
        self.run_id = run_id
        self._post = post
        self.proc: asyncio.subprocess.Process | None = None
        self.parent_pid = 0  # leader of the scenario's process group
        self.pids: set[int] = set()  # every pid the events named
        self.ended = asyncio.Event()
        self.returncode: int | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lines = LineReader(0)

    @property
    def argv(self) -> list[str]:
        return self.python.command("-m", "scenarios", *self.config.to_argv(), "--control")

    @property
    def runner_pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    @property
    def running(self) -> bool:
        return self.proc is not None and not self.ended.is_set()

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env=self.python.env(),
        )
        self.pids.add(self.proc.pid)
        self._lines = LineReader(self.proc.pid)
        self._reader = asyncio.create_task(self._read(), name=f"statelab-run-{self.run_id}")

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        stdout = self.proc.stdout
        buffer = bytearray()  # a line not yet complete
        try:
            while True:
                chunk = await stdout.read(CHUNK)
                if not chunk:
                    break
                end = chunk.rfind(b"\n")
                if end < 0:
                    buffer += chunk
                    continue
                complete = bytes(buffer) + chunk[:end] if buffer else chunk[:end]
                buffer = bytearray(chunk[end + 1:])
                events = self._decode(complete.split(b"\n"))
                if events:
                    self._post(RunEvents(self.run_id, events))
            if buffer.strip():
                events = self._decode([bytes(buffer)])
                if events:
                    self._post(RunEvents(self.run_id, events))
            stderr = b""
            if self.proc.stderr is not None:
                stderr = await self.proc.stderr.read()
            self.returncode = await self.proc.wait()
        finally:
            self.ended.set()
        self._post(RunEnded(self.run_id, self.returncode, stderr.decode(errors="replace")))

    def _decode(self, lines: list[bytes]) -> list[Event]:
        events: list[Event] = []
        for line in lines:
            event = self._lines.read(line)
            if event is None:
                continue
            self._note(event)
            events.append(event)
        return events

    def _note(self, event: Event) -> None:
        if isinstance(event, (ProcessStart, RunStart)):
            self.pids.add(event.pid)
            if isinstance(event, ProcessStart) and event.role == "parent":
                self.parent_pid = event.pid

    # -- control ----------------------------------------------------------------------------

    def _send(self, line: bytes) -> bool:
        if not self.running or self.proc is None or self.proc.stdin is None:
            return False
        try:
            self.proc.stdin.write(line)
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            return False
        return True

    def step(self) -> bool:
        """Release every process held at a checkpoint."""
        return self._send(b"step\n")

    def step_process(self, role: str) -> bool:
        """Release only the process of this role (step mode: the user is the scheduler). A role
        comes from the run's events: one that could smuggle in another command is not sent."""
        if not role or not role.isprintable() or " " in role:
            return False
        return self._send(f"step {role}\n".encode())

    def stop(self) -> bool:
        """Ask the runner to stop the run (it kills every process and reports)."""
        return self._send(b"stop\n")

    def stop_now(self) -> None:
        """Synchronous, for SIGHUP, exit paths and atexit: SIGTERM the runner, which ends the run
        the way a stop does (the scenario's parent first, so multiprocessing cleans up what it
        made; then escalation with bounded waits) and reaps every process, with or without us."""
        if self.proc is None or self.ended.is_set():
            return
        _signal_group(self.runner_pid, signal.SIGTERM)

    async def shutdown(self, grace: float = 1.0) -> None:
        """Stop the run and make sure every process of it is gone: stop, then TERM, then KILL."""
        if self.proc is None:
            return
        if not self.ended.is_set():
            self.stop()
            if not await self._wait(grace):
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    _signal_group(self.parent_pid, sig)
                    _signal_group(self.runner_pid, sig)
                    if await self._wait(0.5):
                        break
        if self._reader is not None and not self._reader.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._reader), 0.5)
        if self.proc.stdin is not None:
            with contextlib.suppress(Exception):
                self.proc.stdin.close()

    async def _wait(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.ended.wait(), seconds)
        except TimeoutError:
            return False
        return True
