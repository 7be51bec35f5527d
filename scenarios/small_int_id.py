"""Small int id: does ``id(1)`` match in parent and child?

The lesson says it does, because CPython keeps one object for each small
integer. That object lives at an address in each process's own memory: a
forked child inherits the parent's addresses, a spawned one does not, unless
address space layout randomisation is off or the interpreter is not built as
a position-independent executable.
"""

from __future__ import annotations

from pathlib import Path

from scenarios.engine.api import Finding, Lab, RunState, Scenario, missing, observe, run_as_script


def child() -> None:
    var = 1
    observe("child-id", f"child: id(1) = {id(var):#x}", value=var, id=id(var))


def parent(lab: Lab) -> None:
    var = 1
    observe("parent-id", f"parent: id(1) = {id(var):#x}", value=var, id=id(var))
    lab.join(lab.start(child))


SPEC = Scenario(
    name="small-int-id",
    order=5,
    title="id() of a small int",
    summary="id(1) in parent and child: same under fork, not always otherwise",
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
    mine, theirs = run.first("parent-id"), run.first("child-id")
    if not (mine and theirs):
        return [Finding("same-id", "id(1) is the same in parent and child", None, True,
                        missing("parent-id", "child-id"))]
    same = mine["id"] == theirs["id"]
    if run.start_method == "fork":
        why = "a forked child is a copy of the parent's memory, small-int objects included"
    elif same:
        why = "the interpreter's static data landed at the same address in the new process"
    else:
        why = ("the child is a new interpreter; its small ints live at a randomised address, "
               "so the lesson's claim only holds under fork")
    return [Finding(
        "same-id", "id(1) is the same in parent and child", same, True,
        f"parent {mine['id']:#x}, child {theirs['id']:#x} under {run.start_method}: {why}; {aslr()}")]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
