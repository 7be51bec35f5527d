"""The app in a real terminal (a pty), leaving while a run is paused: nothing of the run is left.

`statelab --scenario shared-value --run --step` pauses the run at its first
checkpoint. Then the app gets SIGHUP (the terminal went away, as when an SSH
connection drops), SIGTERM or SIGKILL, or its terminal is closed with no signal
at all (`make run` in tmux: make is the session leader and passes no SIGHUP on).
Every process of the run (the runner and the scenario's processes, found as
descendants of the app) must be gone within 2 seconds, the app too, and the run
must leave no /dev/shm entry and no pymp-* folder: it is ended the way a stop
ends it, the scenario's parent first, so multiprocessing cleans up.
"""

from __future__ import annotations

import glob
import os
import signal
import time

import pytest

from tests.appsupport import wait_gone
from tests.ptyapp import AppInPty
from tests.runs import alive, shm

WAYS_OUT = ["SIGHUP", "SIGTERM", "SIGKILL", "terminal-lost"]


def run_entries() -> set[str]:
    return {n for n in shm() if n.startswith(("sem.mp-", "psm_", "mp-"))}


def pymp_folders() -> set[str]:
    return set(glob.glob("/tmp/pymp-*"))


def left_behind(run_shm: set[str], run_pymp: set[str], within: float) -> tuple[set[str], set[str]]:
    """Which of the run's /dev/shm entries and pymp folders are still there after `within`
    seconds (polled: the run's clean-up goes on for a moment after its processes are gone)."""
    deadline = time.monotonic() + within
    while True:
        shm_left, pymp_left = run_shm & run_entries(), run_pymp & pymp_folders()
        if not (shm_left or pymp_left) or time.monotonic() > deadline:
            return shm_left, pymp_left
        time.sleep(0.05)  # polling with a deadline


@pytest.mark.parametrize("way", WAYS_OUT)
def test_leaving_with_a_paused_run_leaves_nothing(way: str, start_method: str) -> None:
    before_shm, before_pymp = run_entries(), pymp_folders()
    app = AppInPty("--scenario", "shared-value", "--start-method", start_method, "--run", "--step")
    try:
        pids = app.wait_paused(3, timeout=20.0)
        assert len(pids) >= 3  # runner, the scenario's parent, its child
        # what appeared while the run started (other programs on the machine may add to it)
        run_shm, run_pymp = run_entries() - before_shm, pymp_folders() - before_pymp
        if start_method != "fork":  # under fork a semaphore's name is unlinked at once
            assert run_shm, "the paused run holds its semaphores in /dev/shm"
        if start_method == "forkserver":
            assert run_pymp, "the fork server has its folder in /tmp"
        if way == "terminal-lost":
            app.hang_up()
        else:
            os.kill(app.proc.pid, getattr(signal, way))
        left = wait_gone({*pids, app.proc.pid}, timeout=2.0)
        assert not left, f"still alive 2 s after {way}: {left}"
        shm_left, pymp_left = left_behind(run_shm, run_pymp, within=1.0)
        assert not shm_left, f"/dev/shm entries left after {way}: {shm_left}"
        assert not pymp_left, f"fork-server folders left after {way}: {pymp_left}"
        assert not alive(app.proc.pid)
    finally:
        app.close()
