"""`make screenshots`: the README's pictures, made by the app itself from real runs.

Each picture is the app at a fixed terminal size, driven as a person would (keys and the same
actions), its screen saved with Textual's `save_screenshot` as SVG: a stepped copy-on-write run
held after the child wrote (its memory in the table), a race sweep over start methods, and the
findings of pass-via-queue. Run them alone: a loaded machine changes the figures in them, not
what they show.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from tui.app import StatelabApp

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
SIZE = (120, 34)


async def until(pilot: Any, condition: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("screenshots: timed out waiting for the app")
        await pilot.pause(0.05)


def moved_on(state: Any, seen: int) -> bool:
    """More events than seen, and the run held again (or ended)."""
    return len(state.events) > seen and bool(state.held or state.ended)


async def stepped_copy_on_write(out: Path) -> None:
    """Held just after the child wrote one byte in every page: its USS grew, the parent's not."""
    app = StatelabApp("copy-on-write", {"object": "bytearray", "touch": "write", "size": "64",
                                        "start_method": "fork"})
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, app.lab.complete.is_set)
        await app.action_step()
        await until(pilot, lambda: app.lab.state.held or app.lab.state.ended)
        state = app.lab.state  # the run's: a step adds to it
        while not state.ended and state.first("child-after") is None:
            await app.action_step()  # then wait for what the step let happen
            await until(pilot, partial(moved_on, state, len(state.events)))
        await pilot.pause(1.2)  # two sampler passes: the table shows the memory now
        app.save_screenshot(str(out / "copy-on-write-stepped.svg"))
        await app.stop_everything()


async def race_sweep(out: Path) -> None:
    from tui.screens.sweep import SweepScreen

    app = StatelabApp("race")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, app.lab.complete.is_set)
        await app.action_sweep("start-method")
        await until(pilot, lambda: isinstance(app.screen, SweepScreen))
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        await until(pilot, screen.finished.is_set, timeout=120)
        await pilot.pause()
        app.save_screenshot(str(out / "race-sweep.svg"))


async def pass_via_queue(out: Path) -> None:
    app = StatelabApp("pass-via-queue")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, app.lab.complete.is_set)
        await app.action_run()
        await until(pilot, lambda: app.lab.state.ended and not app.running)
        await pilot.pause(0.5)
        app.save_screenshot(str(out / "pass-via-queue-findings.svg"))


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for make in (stepped_copy_on_write, race_sweep, pass_via_queue):
        await make(out)
        print(f"screenshots: {make.__name__} done", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
