"""Unpicklable target: which functions a Process can run, under each start method.

The parent starts one child per target: a function defined at module level
(the control), a lambda, a function nested in parent(), and a function that
exists only in the process that runs the file as a program, as one defined
under ``if __name__ == "__main__":`` does. fork hands the child the function
itself, in the copied memory; spawn and forkserver pickle it, by name: the
parent's start() raises if pickle cannot name it, and a child that cannot find
that name when it unpickles it dies before running anything.

How "defined under ``if __name__ == "__main__"``" is modelled: the engine
imports this module (it is never `__main__` in the engine), so such a block
would not run at all. What the block does in a script is define a module-level
function in the process that runs the file, and nowhere else: parent() does
just that, with `define_main_only()`, before it starts the child. A child that
imports the module again (spawn, forkserver) does not run parent(), just as a
script's child does not run the guarded block. Saved with `statelab source`
and run as a script, the module is `__main__` and the child's error names
`__mp_main__`, the name multiprocessing gives the script in the child.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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

TARGETS = ("module-level", "lambda", "nested", "main-only")

SPEC = Scenario(
    name="unpicklable-target",
    order=14,
    title="A lambda, a nested function, a __main__-only function as targets",
    summary="which functions a Process can run: fork runs them all; spawn and forkserver "
            "pickle the target by name",
    own=(
        Knob("target", "which targets to start, one child each (module-level is the control)",
             ("all", *TARGETS), default="all"),
    ),
)

CLAIMS = {
    "module-level": "A function defined at module level works as a Process target",
    "lambda": "A lambda works as a Process target",
    "nested": "A function nested in another works as a Process target",
    "main-only": "A function defined under if __name__ == \"__main__\" works as a Process target",
}
NAMES = {  # the name each target's error messages use
    "module-level": "module_level", "lambda": "<lambda>", "nested": "nested",
    "main-only": "main_only",
}


def ran(target: str) -> None:
    observe("target-ran", f"{target}: the target ran in the child", target=target)


def module_level() -> None:
    ran("module-level")


# declared, never bound at import: only define_main_only() binds it, in the process that calls it
main_only: Callable[[], None]


def define_main_only() -> Callable[[], None]:
    """What `if __name__ == "__main__": def main_only(): ...` does in a script: define a
    module-level function, in this process only (a child that imports the module again does
    not call this)."""
    global main_only

    def main_only() -> None:  # global: its __qualname__ is "main_only", a module-level name
        ran("main-only")

    return main_only


def parent(lab: Lab) -> None:
    def nested() -> None:
        ran("nested")

    targets: dict[str, Callable[[], None]] = {
        "module-level": module_level,
        "lambda": lambda: ran("lambda"),
        "nested": nested,
        "main-only": define_main_only(),
    }
    chosen = TARGETS if lab.cfg["target"] == "all" else (lab.cfg["target"],)
    for name in chosen:
        target = targets[name]
        checkpoint(f"start-{name}", f"the parent is about to start a child running the "
                   f"{name} target ({target.__module__}.{target.__qualname__})")
        try:
            process = lab.start(target, role=name)
        except Exception as exc:
            observe("start-refused",
                    f"start() raised {type(exc).__name__} in the parent for the {name} target: "
                    f"{exc}", target=name, exception=type(exc).__name__, message=str(exc))
            continue
        observe("started", f"start() returned for the {name} target: child pid {process.pid}",
                target=name, pid=process.pid)
        lab.join(process)


# -- findings -------------------------------------------------------------------------------

def error_line(run: RunState, name: str) -> str | None:
    """The last line of a traceback that names the target: the child's own words."""
    found = re.findall(rf"^\w+Error: .*'{re.escape(name)}'.*$", run.output(), re.MULTILINE)
    return re.sub(r" from '[^']*'>$", ">", found[-1]) if found else None  # the file is long


def finding(run: RunState, target: str) -> Finding:
    claim = CLAIMS[target]
    fid = f"{target}-target"
    refused = next((d for d in run.observations("start-refused", "parent")
                    if d["target"] == target), None)
    if refused is not None:
        return Finding(fid, claim, False, True,
                       f"under {run.start_method}, start() raised {refused['exception']} in the "
                       f"parent: {refused['message']}; no child was started")
    started = next((d for d in run.observations("started", "parent") if d["target"] == target),
                   None)
    if run.first("target-ran", target) is not None:
        return Finding(fid, claim, True, True,
                       f"under {run.start_method}, the child (pid "
                       f"{started['pid'] if started else '?'}) ran it")
    ended = run.exit_of(target)
    code = ended.get("exitcode") if ended else None
    if started is None or not isinstance(code, int) or code <= 0:
        # not started, not ended, ended well without a word, or ended by a signal (a stop):
        # nothing says whether it could have run the target
        return Finding(fid, claim, None, True,
                       missing(run, "start-refused", "started", "target-ran")
                       + (f"; the child was killed by {ended.get('signal')}"
                          if ended and ended.get("signal") else ""))
    said = error_line(run, NAMES[target])
    return Finding(fid, claim, False, True,
                   f"under {run.start_method}, start() returned in the parent, but the child "
                   f"(pid {started['pid']}) ended with code {code} without running "
                   "it"
                   + (f"; on the stderr it inherited from the parent (the log shows it under "
                      f"parent) it said: {said}" if said else "; no error naming it was printed"))


def findings(run: RunState) -> list[Finding]:
    chosen = run.config.get("target", "all")
    return [finding(run, t) for t in TARGETS if chosen in ("all", t)]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
