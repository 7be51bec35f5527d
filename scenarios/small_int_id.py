"""Small int id: does ``id(1)`` match in parent and child?

The lesson says it does, because CPython keeps one object for each small
integer. That object lives at an address in each process's own memory: a
forked child inherits the parent's addresses, a spawned one does not, unless
address space layout randomisation is off or the interpreter is not built as
a position-independent executable. Two children are started, so the run also
shows that forkserver children, forked from one fork server, share its
addresses with each other but not with the parent.
"""

from __future__ import annotations

from pathlib import Path

from scenarios.engine.api import (
    Finding,
    Lab,
    RunState,
    Scenario,
    missing,
    observe,
    role,
    run_as_script,
)


def child() -> None:
    var = 1
    observe("child-id", f"{role()}: id(1) = {id(var):#x}", value=var, id=id(var))


def parent(lab: Lab) -> None:
    var = 1
    observe("parent-id", f"parent: id(1) = {id(var):#x}", value=var, id=id(var))
    first = lab.start(child)
    lab.join(first)  # one after the other: under forkserver both are forked from the same server
    lab.join(lab.start(child))


SPEC = Scenario(
    name="small-int-id",
    order=5,
    title="id() of a small int",
    summary="id(1) in parent and two children: same under fork, not always otherwise",
    from_lesson=True,
)


def aslr() -> str:
    try:
        level = Path("/proc/sys/kernel/randomize_va_space").read_text().strip()
    except OSError:
        return "address space layout randomisation: unknown on this system"
    return f"/proc/sys/kernel/randomize_va_space is {level}" + (
        " (randomisation off)" if level == "0" else " (randomisation on)")


def findings(run: RunState) -> list[Finding]:
    return [_parent_and_child(run), _two_children(run)]


def _parent_and_child(run: RunState) -> Finding:
    claim = "id(1) is the same in parent and child"
    mine, theirs = run.first("parent-id"), run.first("child-id", "child")
    if not (mine and theirs):
        return Finding("same-id", claim, None, True, missing(run, "parent-id", "child-id"))
    same = mine["id"] == theirs["id"]
    if run.start_method == "fork":
        why = "a forked child is a copy of the parent's memory, small-int objects included"
    elif same:
        why = "the interpreter's static data landed at the same address in the new process"
    elif run.start_method == "forkserver":
        why = ("the child was forked from the fork server, a separate interpreter started with "
               "its own randomised addresses, so it has the server's addresses, not the parent's")
    else:
        why = ("the child is a new interpreter, and its small ints live in its static data, "
               "at an address randomised for each process")
    return Finding(
        "same-id", claim, same, True,
        f"parent {mine['id']:#x}, child {theirs['id']:#x} under {run.start_method}: {why}; "
        f"{aslr()}")


def _two_children(run: RunState) -> Finding:
    claim = "id(1) is the same in two children of the same parent"
    one, two = run.first("child-id", "child"), run.first("child-id", "child-2")
    if not (one and two):
        return Finding("children-same-id", claim, None, None, missing(run, "child-id"))
    same = one["id"] == two["id"]
    why = {("fork", True): "both are copies of the parent's memory",
           ("forkserver", True): "both were forked from the same fork server, so both have its "
                                 "addresses",
           ("spawn", False): "each is a new interpreter, placed at its own randomised address",
           ("spawn", True): "each is a new interpreter, yet their static data landed at the "
                            "same address"}.get((run.start_method, same), "")
    return Finding("children-same-id", claim, same, None,
                   f"child {one['id']:#x}, child-2 {two['id']:#x} under {run.start_method}"
                   + (f": {why}" if why else ""))

if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
