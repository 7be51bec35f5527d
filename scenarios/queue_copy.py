"""Queue copy: what goes through a Queue is a copy.

The parent puts a dict on a Queue and starts a child that takes it off. Once
the child has it, the parent changes its own dict; the child looks again.
With ``--mutate right-after-put`` the parent changes the dict straight after
``put()`` instead: a Queue pickles in a background feeder thread, so the
change may still be in the bytes that reach the child.
"""

from __future__ import annotations

from scenarios.engine.api import (
    Any,
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
    name="queue-copy",
    order=1,
    title="A dict through a Queue",
    summary="put a dict on a Queue, change it afterwards: the child keeps its copy",
    own=(Knob("mutate", "when the parent changes its dict",
              ("after-get", "right-after-put"), default="after-get"),),
    from_lesson=True,
)


def child(q: Any, child_got: Any, parent_changed: Any) -> None:
    var = q.get()
    observe("child-received", f"child received {var} with id {id(var):#x} from the queue",
            value=dict(var), id=id(var))
    child_got.release()
    parent_changed.acquire()
    observe("child-after-change", f"after the parent's change, the child's dict is {var}",
            value=dict(var), id=id(var))


def parent(lab: Lab) -> None:
    q = lab.ctx.Queue()
    child_got = lab.ctx.Semaphore(0)
    parent_changed = lab.ctx.Semaphore(0)

    var = {"key": "value"}
    observe("parent-put", f"parent puts {var} with id {id(var):#x} on the queue",
            value=dict(var), id=id(var))
    q.put(var)
    right_after = lab.cfg["mutate"] == "right-after-put"
    if right_after:
        var["key"] = "new-value"  # put() has returned, but the feeder thread may not have pickled yet

    process = lab.start(child, q, child_got, parent_changed)
    child_got.acquire()
    if right_after:
        checkpoint("before-change", "the child has its dict; the parent changed its own right "
                   "after put()")
    else:
        checkpoint("before-change", "the child has its dict; the parent is about to change its own")
        var["key"] = "new-value"
    observe("parent-changed", f"parent changed its dict to {var}"
            + (" right after put()" if right_after else ""), value=dict(var), id=id(var))
    parent_changed.release()
    lab.join(process)


def findings(run: RunState) -> list[Finding]:
    put = run.first("parent-put")
    received = run.first("child-received")
    after = run.first("child-after-change")
    changed = run.first("parent-changed")
    right_after = run.config.get("mutate") == "right-after-put"

    sees: bool | None = None
    sees_applies = True
    sees_evidence = missing(run, "parent-put", "child-received", "parent-changed",
                            "child-after-change")
    if put and changed and put["value"] == changed["value"]:
        # a change can be seen only if it happened: the claim is not about this run
        sees_applies = False
        sees_evidence = (f"the parent's dict was {put['value']} when put and {changed['value']} "
                         "after its change: nothing changed, so there was nothing to see")
    elif put and received and after and changed:
        sees = after["value"] == changed["value"]
        sees_evidence = (f"the child received {received['value']} and afterwards had "
                         f"{after['value']}; the parent's dict was {changed['value']}")
        if right_after and received["value"] == changed["value"]:
            sees_evidence += ("; put() only hands the dict to the Queue's feeder thread, which "
                              "pickled it after the parent's change, so the change travelled "
                              "with it: a copy of the object as it was when pickled, not when put")
        elif right_after:
            sees_evidence += ("; this time the feeder thread pickled the dict before the parent "
                              "changed it (a race: run it again)")
        else:
            sees_evidence += "; the child holds its own unpickled copy"

    same: bool | None = None
    same_evidence = missing(run, "parent-put", "child-received")
    if put and received:
        same = put["id"] == received["id"]
        same_evidence = (f"id in the parent {put['id']:#x}, in the child {received['id']:#x}: "
                         "the child's dict was built by unpickling, so it is another object"
                         if not same else
                         f"both ids are {put['id']:#x}; an address can repeat in another "
                         "process's memory without the objects being shared")
    return [
        Finding("child-sees-parent-change",
                "The child sees a change the parent makes to the dict after putting it",
                sees, False, sees_evidence, applies=sees_applies),
        Finding("same-id", "The dict has the same id() in parent and child",
                same, False, same_evidence),
    ]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
