"""The app in a real terminal (a pty), killed while a run is paused: nothing of the run is left.

`statelab --scenario shared-value --run --step` pauses the run at its first
checkpoint. Then the app gets SIGHUP (the terminal went away, as when an SSH
connection drops) or SIGKILL; every process of the run (the runner and the
scenario's processes, found as descendants of the app) must be gone within
2 seconds.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from tests.ptyapp import AppInPty
from tests.test_app_support import wait_gone


@pytest.fixture
def app_in_pty() -> Iterator[AppInPty]:
    app = AppInPty("--scenario", "shared-value", "--run", "--step")
    try:
        yield app
    finally:
        app.close()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGKILL], ids=["SIGHUP", "SIGKILL"])
def test_killing_the_app_leaves_no_process(app_in_pty: AppInPty, sig: signal.Signals) -> None:
    pids = app_in_pty.wait_paused(3, timeout=20.0)
    assert len(pids) >= 3  # runner, the scenario's parent, its child
    os.kill(app_in_pty.proc.pid, sig)
    left = wait_gone(pids, timeout=2.0)
    assert not left, f"still alive 2 s after {sig.name}: {left}"
    app_in_pty.proc.wait(5)
