"""The scenario's parent: the child the runner forks at start, which runs the scenario's
parent() and ends the way a script ends; and the Linux process controls both sides use
(the supervisor as subreaper, the parent's death signal)."""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import sys
import threading

from scenarios.engine import catalog, probe, procfs
from scenarios.engine.knobs import Config
from scenarios.engine.lab import Lab

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from typing import NoReturn

PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1


def format_exc() -> str:
    import traceback  # only when something went wrong

    return traceback.format_exc()


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


_runner_pid = os.getpid()


def self_pid() -> int:
    """The runner's pid, as the forked parent remembers it."""
    return _runner_pid


def set_parent_death_signal(sig: int) -> None:
    """Linux: have the kernel send `sig` to this process when the runner dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        pass


_lab: Lab | None = None  # the parent's Lab, once made: whose children a stop ends
_lab_owner = 0  # the parent's pid (a process forked from it, a manager's server, inherits _lab)


def stop_parent(signum: int, frame: object) -> None:
    """SIGTERM in the scenario's parent: end the children it started, then unwind.

    Only the children: a manager's server is shut down by its manager on the way out (the
    scenario's `with` block, or multiprocessing's finalizer at exit: a shutdown message, then
    terminate() after 1 s), so it removes the pymp-* folder of its listener. Terminated, it
    left that folder under spawn and forkserver."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once is enough
    for child in _lab.started() if _lab is not None and _lab_owner == os.getpid() else ():
        if child.is_alive():
            child.terminate()
    raise SystemExit(128 + signum)


def be_parent(cfg: Config, module: catalog.Module, link: probe.Link) -> NoReturn:
    """The forked child: become the scenario's parent process. Never returns."""
    global _lab, _lab_owner
    code, stopped = 1, False
    try:
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        os.setpgid(0, 0)  # the run's own process group: one signal reaches all of it
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        # stopped, or orphaned by a runner that died: end the children, then exit as a
        # script does, so multiprocessing cleans up what it registered (no "leaked" warning)
        signal.signal(signal.SIGTERM, stop_parent)
        set_parent_death_signal(signal.SIGTERM)
        if os.getppid() != self_pid():
            raise SystemExit("the runner ended before the run began")
        probe.install(link, "parent", procfs.memory)
        probe.process_started(os.getppid())
        lab = _lab = Lab(cfg, link)
        _lab_owner = os.getpid()
        try:
            module.parent(lab)
            lab.finish()
            code = 0
        except SystemExit:
            stopped = True
            lab.finish()  # the children were told to end: report how they did
        except Exception as exc:
            probe.error(f"parent raised {type(exc).__name__}: {exc}",
                        exception=type(exc).__name__, traceback=format_exc())
        # from here it ends as a script ends, and a stop (SIGTERM, the runner's or its death
        # signal) would only cut that short: multiprocessing's clean-up (the pymp-* folder of
        # the fork server's listener, for one) ran half or not at all. It is ending already
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # its tracker warns of leaks only after the parent is gone, when a scan that sees it
        # first would take the runner (which adopts it) for its starter: the parent says so
        probe.trackers_started(None)
        # what a script's normal exit does: join threads, then run atexit (multiprocessing's
        # own clean-up joins queue feeder threads and finalizes shared objects)
        shutdown = getattr(threading, "_shutdown", None)
        if shutdown is not None:
            shutdown()
        atexit._run_exitfuncs()
        probe.ending()  # its memory a last time, once multiprocessing has cleaned up
    except BaseException:  # a forked child must never return into the runner
        try:
            probe.error("the parent process failed", traceback=format_exc())
        except Exception:
            pass
    finally:
        for f in (sys.stdout, sys.stderr):
            try:
                f.flush()
            except Exception:
                pass
        if stopped:  # end the way a stopped process ends: by the signal
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
        os._exit(code)
