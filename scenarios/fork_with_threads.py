"""Fork with threads: a lock that a thread of the parent holds when the child starts.

A thread of the parent takes a module-level `threading.Lock` and keeps it while
the parent starts a child; then it lets go. The child then takes the same lock.
A forked child is a copy of the parent's memory with one thread, the one that
called fork(): it gets the lock in the state it was in, held, and no thread of
its own will ever release it. A spawned or forkserver child imports the module
afresh and makes a lock of its own. The run under fork ends by its deadline
(short by default), with the stuck child's stack.

A second child, the witness, is started while the thread still runs, with
every warning recorded: whether this interpreter warns about forking a
multi-threaded process (3.12 added a DeprecationWarning) is what it recorded;
whether a user would see it is what the parent's stderr showed for the first
child, started with the warning filters as a script has them.
"""

from __future__ import annotations

import re
import sys
import threading
import warnings

from scenarios.engine.api import (
    Finding,
    Knob,
    Lab,
    RunState,
    Scenario,
    checkpoint,
    missing,
    observe,
    run_as_script,
)

SPEC = Scenario(
    name="fork-with-threads",
    order=13,
    title="Forking while a thread holds a lock",
    summary="a thread holds a lock as the child starts: a forked child waits for ever "
            "(under fork the run ends at its 3 s timeout)",
    own=(
        Knob("held", "whether the parent's thread holds the lock when the child starts "
             "(false: it lets go first, then the child starts)", ("true", "false"),
             default="true"),
    ),
    # a forked child waits for ever by design: the default deadline ends the demo soon
    defaults={"timeout": 3.0},
)

LOCK = threading.Lock()  # module level, as a library's lock is: a thread lock cannot be pickled
FORK_WARNING = "is multi-threaded, use of fork()"  # the words of 3.12's DeprecationWarning


def holder(holding: threading.Event, let_go: threading.Event, leave: threading.Event) -> None:
    """The parent's second thread: takes the lock, keeps it until told, then stays alive, so
    the parent is multi-threaded whenever it starts a child."""
    with LOCK:
        holding.set()
        let_go.wait()
    leave.wait()


def take() -> None:
    """A frame of its own, so that the stack taken at the deadline shows where the child waits."""
    LOCK.acquire()


def child() -> None:
    threads = [t.name for t in threading.enumerate()]
    locked = LOCK.locked()
    observe("child-before-take",
            f"child: the lock is {'held' if locked else 'free'} in this process, whose threads "
            f"are {', '.join(threads)}; it takes the lock", locked=locked, threads=threads)
    checkpoint("before-take", "the child is about to take the lock")
    take()
    observe("child-took", "child took the lock")
    LOCK.release()


def witness() -> None:
    observe("witness-ran", "witness: started while the parent's thread ran, and ends")


def parent(lab: Lab) -> None:
    held = lab.cfg["held"] == "true"
    holding, let_go, leave = threading.Event(), threading.Event(), threading.Event()
    # a daemon: a stop (SystemExit in the main thread) must not leave the parent's end waiting
    # for a holder that nobody will tell to let go
    thread = threading.Thread(target=holder, args=(holding, let_go, leave), name="holder",
                              daemon=True)
    thread.start()
    holding.wait()
    if not held:
        let_go.set()
        with LOCK:  # returns once the holder has let go
            pass
    threads = [t.name for t in threading.enumerate()]
    observe("parent-before-start",
            f"parent: threads {', '.join(threads)}; the lock is "
            f"{'held by the holder thread' if LOCK.locked() else 'free'}",
            locked=LOCK.locked(), threads=threads, warnoptions=list(sys.warnoptions),
            dev_mode=sys.flags.dev_mode)
    checkpoint("before-start", "the parent is about to start the child")

    process = lab.start(child)  # the warning filters as a script has them: what a user sees

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # record whatever is warned, shown by default or not
        spare = lab.start(witness, role="witness")
    said = [{"category": w.category.__name__, "message": str(w.message),
             "filename": w.filename, "lineno": w.lineno} for w in caught]
    observe("start-warnings",
            f"starting the witness under {lab.cfg.start_method} warned: "
            + ("; ".join(f"{w['category']}: {w['message']} ({w['filename']}:{w['lineno']})"
                         for w in said) or "nothing"),
            warnings=said)

    let_go.set()
    leave.set()
    thread.join()
    observe("parent-released",
            f"parent: the holder thread let go and ended; in the parent the lock is "
            f"{'still held' if LOCK.locked() else 'free'}", locked=LOCK.locked())
    lab.join(spare)
    lab.join(process)  # under fork with the lock held: until the run's deadline


# -- findings -------------------------------------------------------------------------------

def threads_in(stack: str) -> int:
    """How many threads a faulthandler dump shows."""
    return len(re.findall(r"^(?:Current thread|Thread) 0x", stack, re.MULTILINE))


def waits_in_take(stack: str) -> bool:
    return re.search(r"line \d+ in take\b", stack) is not None


def takes(run: RunState) -> Finding:
    claim = "The child takes the lock once the parent's thread has let go of it"
    before = run.first("child-before-take", "child")
    took = run.first("child-took", "child")
    released = run.first("parent-released", "parent")
    if took is not None:
        return Finding("child-takes-the-lock", claim, True, True,
                       f"the child took it: in the child the lock was "
                       f"{'held' if before and before['locked'] else 'free'} when it started"
                       + ("" if run.start_method == "fork" else
                          f" (under {run.start_method} the child imported the module again and "
                          "made a lock of its own)"))
    stack = run.stacks.get("child", "")
    if run.status != "timeout" or before is None or not waits_in_take(stack):
        return Finding("child-takes-the-lock", claim, None, True,
                       missing(run, "child-before-take", "child-took", "parent-released")
                       if before is None or run.status != "timeout" else
                       "the run timed out, but the child's stack did not show it waiting in "
                       "take()")
    n = threads_in(stack)
    return Finding(
        "child-takes-the-lock", claim, False, True,
        f"at the deadline ({run.config.get('timeout')} s) the child still waited in take(); "
        f"its stack shows {n} thread{'s' if n != 1 else ''} ({', '.join(before['threads'])}), "
        f"and the lock was {'already held' if before['locked'] else 'free'} in the child "
        "before it tried: the copy the fork made is held by a holder thread the child does "
        "not have"
        + (", while in the parent the holder had let go" if released and not released["locked"]
           else ""))


def warns(run: RunState) -> list[Finding]:
    start = run.first("start-warnings", "parent")
    claim = ("Starting a child while another thread runs makes this interpreter warn "
             "(DeprecationWarning: use of fork() may lead to deadlocks)")
    if start is None:
        return [Finding("interpreter-warns", claim, None, None,
                        missing(run, "start-warnings"))]
    fork_warnings = [w for w in start["warnings"] if FORK_WARNING in w["message"]]
    python = run.interpreter.get("python", "?")
    if not fork_warnings:
        return [Finding("interpreter-warns", claim, False, None,
                        f"Python {python} under {run.start_method} warned of nothing when the "
                        "witness started, with every warning recorded"
                        + ("" if run.start_method == "fork" else
                           f": {run.start_method} does not fork the parent"))]
    w = fork_warnings[0]
    found = [Finding("interpreter-warns", claim, True, None,
                     f"Python {python} warned {w['category']}: {w['message']!r}, attributed to "
                     f"{w['filename']}:{w['lineno']}")]
    shown = FORK_WARNING in run.output("parent")
    options = run.first("parent-before-start", "parent") or {}
    configured = bool(options.get("warnoptions") or options.get("dev_mode"))
    setting = (f"warning options {options.get('warnoptions')}, dev mode "
               f"{'on' if options.get('dev_mode') else 'off'}")
    where = w["filename"].rsplit("/", 1)[-1]
    found.append(Finding(
        "user-sees-warning", "A user who starts the child sees that warning", shown, None,
        (f"the parent's stderr showed it when the child started ({setting})" if shown else
         f"the parent's stderr showed nothing when the child started ({setting}): "
         + (f"the warning is attributed to {where}, and the default filters show a "
            "DeprecationWarning only when it is attributed to __main__" if not configured else
            "these settings hid it"))))
    return found


def findings(run: RunState) -> list[Finding]:
    return [takes(run), *warns(run)]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
