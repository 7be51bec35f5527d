"""Module globals: what a child sees of a module-level variable and list, and what it changes.

The parent rebinds a module-level int and appends to a module-level list after
the module was imported and before it starts a child; each child reads both,
adds 1 and appends its role. A forked child is a copy of the parent, so it
starts from the parent's values; a spawned or forkserver child gets its
function by name and so imports the module again, running its top level: it
starts from the values the module's source gives. Either way each process
changes only its own copy. The module notes the pid of the process that ran
its top level, so each child says whose import it is running.
"""

from __future__ import annotations

import os

from scenarios.engine.api import (
    Finding,
    Lab,
    RunState,
    Scenario,
    checkpoint,
    missing,
    observe,
    role,
    run_as_script,
)

SPEC = Scenario(
    name="globals",
    order=20,
    title="Module-level globals",
    summary="a global int and list changed before start(): what each child sees and changes",
)

COUNTER = 0        # the module's own values: what running this file's top level gives
ITEMS: list[str] = []
LOADED_IN = os.getpid()  # the process that ran this module's top level
CHANGED_TO = 10    # what the parent sets COUNTER to before it starts a child
CHILDREN = ("child", "child-2")


def child() -> None:
    global COUNTER
    me = role()
    observe("child-sees", f"{me} reads COUNTER = {COUNTER}, ITEMS = {ITEMS}; its module's top "
            f"level ran in pid {LOADED_IN}" + (" (itself)" if os.getpid() == LOADED_IN else ""),
            value=COUNTER, items=list(ITEMS), loaded_in=LOADED_IN,
            own_import=os.getpid() == LOADED_IN)
    COUNTER += 1
    ITEMS.append(me)
    observe("child-changed", f"{me} added 1 and appended {me!r}: COUNTER = {COUNTER}, "
            f"ITEMS = {ITEMS}", value=COUNTER, items=list(ITEMS))


def parent(lab: Lab) -> None:
    global COUNTER
    observe("parent-imported", f"the parent's module holds COUNTER = {COUNTER}, ITEMS = {ITEMS} "
            f"(its top level ran in pid {LOADED_IN})", value=COUNTER, items=list(ITEMS),
            loaded_in=LOADED_IN)
    COUNTER = CHANGED_TO
    ITEMS.append("parent")
    observe("parent-changed", f"the parent set COUNTER = {COUNTER} and appended 'parent': "
            f"ITEMS = {ITEMS}", value=COUNTER, items=list(ITEMS))
    for name in CHILDREN:  # one after the other: the second starts once the first has ended
        checkpoint(f"before-{name}", f"the parent is about to start {name}")
        lab.join(lab.start(child, role=name))
    observe("parent-after", f"after both children ended, the parent reads COUNTER = {COUNTER}, "
            f"ITEMS = {ITEMS}", value=COUNTER, items=list(ITEMS))


# -- findings ---------------------------------------------------------------------------------

def seen(data: dict[str, object]) -> str:
    return f"COUNTER = {data['value']}, ITEMS = {data['items']}"


def origin(run: RunState, data: dict[str, object], name: str) -> str:
    """Whose import of the module a child runs, in words."""
    if data["own_import"]:
        return "imported the module itself"
    who = run.roles().get(int(str(data["loaded_in"])))
    return (f"runs the module imported in pid {data['loaded_in']}"
            + (f" ({who})" if who else "") + ", copied by fork")


def findings(run: RunState) -> list[Finding]:
    imported, changed = run.first("parent-imported"), run.first("parent-changed")
    after = run.first("parent-after")
    sees = {name: run.first("child-sees", name) for name in CHILDREN}
    made = {name: run.first("child-changed", name) for name in CHILDREN}

    holds, evidence = None, missing(run, "parent-changed", "child-sees")
    if changed and all(sees.values()):
        holds = all((d["value"], d["items"]) == (changed["value"], changed["items"])
                    for d in sees.values() if d)
        evidence = (f"the parent changed its module to {seen(changed)}"
                    + (f" (the module's own values: {seen(imported)})" if imported else "")
                    + "; " + "; ".join(f"{name} {origin(run, d, name)} and read {seen(d)}"
                                       for name, d in sees.items() if d))

    reaches, reach_evidence = None, missing(run, "parent-changed", "child-changed",
                                            "parent-after")
    if changed and after and all(made.values()):
        reaches = (after["value"], after["items"]) != (changed["value"], changed["items"])
        first, second = made["child"], sees["child-2"]
        reach_evidence = ("; ".join(f"{name} left its copy at {seen(d)}"
                                    for name, d in made.items() if d)
                          + f"; after both ended the parent read {seen(after)}"
                          + (f", and child-2 had started from {seen(second)}, not from "
                             f"child's {seen(first)}" if first and second else ""))
    return [
        Finding("child-sees-parent-change", "A child sees the module-level variable and list as "
                "the parent changed them before start()", holds, True, evidence),
        Finding("child-change-reaches-parent", "A child's change to a module-level variable "
                "and list reaches the parent", reaches, True, reach_evidence),
    ]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
