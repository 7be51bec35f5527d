"""Manager, nested: a plain list inside a managed dict, changed by a child.

A managed dict lives in the manager's server process. `d["plain"]` sends the
list back pickled, so `d["plain"].append(x)` changes a copy in the caller and
the server's list stays as it was. Two ways that work: change the copy and
assign it back to the key (a second call that sends the whole list), or store
a manager list in the dict (proxies inside proxies, since Python 3.6), whose
append goes to the server. The child tries all three through the same dict
proxy; the parent reads the dict after the child has ended.
"""

from __future__ import annotations

from scenarios.engine.api import (
    Any,
    Finding,
    Lab,
    RunState,
    Scenario,
    checkpoint,
    missing,
    observe,
    run_as_script,
)

SPEC = Scenario(
    name="manager-nested",
    order=22,
    title="A list inside a managed dict",
    summary="d['key'].append() in a child changes a copy; reassigning or a nested proxy does not",
)

WAYS = {  # the key in the dict -> how the child changes the list under it
    "plain": "d['plain'].append('child')",
    "reassigned": "x = d['reassigned']; x.append('child'); d['reassigned'] = x",
    "nested": "d['nested'].append('child'), where d['nested'] is a manager list",
}


def child(shared: Any) -> None:
    got = {key: type(shared[key]).__name__ for key in WAYS}
    observe("child-got", f"child reads the types under each key: {got}", types=got)
    shared["plain"].append("child")  # appends to the copy this call returned
    copy = shared["reassigned"]
    copy.append("child")
    shared["reassigned"] = copy       # sends the whole list back to the server
    shared["nested"].append("child")  # a proxy: the append runs in the server
    seen = {key: list(shared[key]) for key in WAYS}
    observe("child-reads-back", f"the child changed each list and reads the dict again: {seen}",
            value=seen)


def parent(lab: Lab) -> None:
    with lab.ctx.Manager() as manager:  # leaving the block shuts the server process down
        lab.announce_manager(manager)
        shared = manager.dict(plain=[], reassigned=[], nested=manager.list())
        before = {key: list(shared[key]) for key in WAYS}
        observe("parent-made", f"the parent made a managed dict {before}, 'nested' holding a "
                f"{type(shared['nested']).__name__}", value=before,
                types={key: type(shared[key]).__name__ for key in WAYS})
        checkpoint("before-child", "the parent is about to start the child with the dict proxy")
        lab.join(lab.start(child, shared))
        after = {key: list(shared[key]) for key in WAYS}
        observe("parent-reads", f"after the child ended, the parent reads {after}", value=after)
    lab.manager_ended(manager)


# -- findings ---------------------------------------------------------------------------------

CLAIMS = {
    "plain": ("plain-list-change-reaches-parent", "Appending to a plain list inside a managed "
              "dict changes the dict, for the parent too"),
    "reassigned": ("reassigned-list-reaches-parent", "Changing a copy of the list and assigning "
                   "it back to the key reaches the parent"),
    "nested": ("nested-proxy-reaches-parent", "Appending to a manager list nested in the "
               "managed dict reaches the parent"),
}


def findings(run: RunState) -> list[Finding]:
    made, back = run.first("parent-made"), run.first("child-reads-back")
    after, got = run.first("parent-reads"), run.first("child-got")
    result = []
    for key, (finding_id, claim) in CLAIMS.items():
        holds, evidence = None, missing(run, "parent-made", "child-reads-back", "parent-reads")
        if made and back and after:
            holds = "child" in after["value"][key]
            evidence = (f"the child did {WAYS[key]}"
                        + (f" (it read a {got['types'][key]} there)" if got else "")
                        + f"; the child then read {back['value'][key]} under {key!r}, and after "
                        f"it ended the parent read {after['value'][key]} (it was "
                        f"{made['value'][key]})")
        result.append(Finding(finding_id, claim, holds, True, evidence))
    return result


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
