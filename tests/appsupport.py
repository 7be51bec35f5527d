"""Helpers for the app's tests (no tests here): waiting on conditions, and checking processes."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from scenarios.engine.protocol import Event, decode
from tests.runs import alive

DATA = Path(__file__).parent / "data"


@asynccontextmanager
async def opened(app: Any, size: tuple[int, int]) -> AsyncIterator[Pilot[Any]]:
    """app.run_test, once the whole screen is built (settings, log and tabs mount after the
    first frame)."""
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.lab.complete.is_set(), what="the whole screen")
        yield pilot


async def until(pilot: Pilot[Any], condition: Callable[[], object], timeout: float = 15.0,
                what: str = "condition") -> None:
    """Let the app run until condition() is true; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.05)


def wait_gone(pids: set[int], timeout: float = 2.0) -> list[int]:
    """Poll until none of pids is alive, or the deadline passes; return those still alive."""
    deadline = time.monotonic() + timeout
    while True:
        left = sorted(p for p in pids if alive(p))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)  # polling with a deadline, not a sleep standing in for a sync


def run_pids(events: Iterable[Event]) -> set[int]:
    """Every pid the events named: the runner and each process of the run."""
    pids = {e.pid for e in events}
    pids.discard(os.getpid())
    return pids


def recorded(name: str) -> list[Event]:
    """A transcript of tests/data, decoded as every reader decodes it."""
    return [decode(line) for line in (DATA / name).read_text().splitlines() if line.strip()]
