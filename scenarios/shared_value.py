"""Shared Value: a ctypes object in shared memory, inherited by a child process.

The parent makes ``Value(typecode, value, lock=...)`` and starts a child that
reads it. The parent then adds 2 to it, and the child reads it again. The two
semaphores only make the processes take turns.
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
    typecode,
)

SPEC = Scenario(
    name="shared-value",
    order=2,
    title="A shared Value",
    summary="Value(typecode, value, lock): the parent adds 2, the child sees it",
    uses=("typecode", "lock", "value"),
    defaults={"typecode": "I", "lock": "true"},
    from_lesson=True,
)


def child(var: Any, child_read: Any, parent_changed: Any) -> None:
    observe("child-first-read", f"child reads {var.value!r} from the Value, id(var) = {id(var):#x}",
            value=var.value, id=id(var))
    child_read.release()
    parent_changed.acquire()
    observe("child-after-change", f"after the parent's change, the child reads {var.value!r}",
            value=var.value, id=id(var))


def parent(lab: Lab) -> None:
    code = typecode(lab.cfg.typecode)
    child_read = lab.ctx.Semaphore(0)
    parent_changed = lab.ctx.Semaphore(0)

    var = lab.ctx.Value(code.code, lab.cfg.value, lock=lab.lock())
    in_range = code.in_range(lab.cfg.value)
    observe("parent-created",
            f"parent made Value({code.code!r}, {lab.cfg.value!r}) of type {type(var).__name__}: "
            f"it holds {var.value!r}, id(var) = {id(var):#x}"
            + ("" if in_range else f" (out of range for {code.c_type}: stored what ctypes kept)"),
            value=var.value, requested=lab.cfg.value, in_range=in_range, id=id(var),
            type=type(var).__name__)

    process = lab.start(child, var, child_read, parent_changed)
    child_read.acquire()
    checkpoint("before-change", "the child has read the Value; the parent is about to change it")

    before = var.value
    if code.kind in ("int", "float"):
        var.value += 2
    else:  # c and u hold one character: move it two code points on
        var.value = code.next_after(var.value)
    after = var.value
    # a float can be too big for + 2 to change it (1e300, inf), and nan never equals itself
    changed = repr(after) != repr(before)
    text = (f"parent changed the Value from {before!r} to {after!r}" if changed
            else f"parent's change left the Value as it was: {before!r} + 2 is {after!r}")
    # ctypes stores what fits without a word: an integer past its C type's range wraps around
    asked = before + 2 if code.kind == "int" else after
    if asked != after:
        text += (f": += 2 asked for {asked!r}, and a {code.c_type} holds "
                 f"{code.describe_range()}, so ctypes stored {after!r} (it wrapped around)")
    observe("parent-changed", text, value=after, before=before, changed=changed, id=id(var),
            asked=asked, wrapped=asked != after)

    parent_changed.release()
    lab.join(process)


def unchanged(changed: dict[str, Any], after: dict[str, Any] | None) -> str:
    """Why there was no change to see: the parent's write left the Value as it was."""
    def shown(value: Any) -> str:  # nan and ±inf travel as words
        return value if value in ("nan", "inf", "-inf") else repr(value)

    before = shown(changed["before"])
    if before == "nan":
        why = "nan + 2 is nan"
    elif before in ("inf", "-inf"):
        why = f"{before} + 2 is {before}"
    else:  # a float so big that the next one its C type holds is more than 2 away
        why = f"at {before} the C type's neighbouring values are more than 2 apart"
    return (f"the parent's += 2 left the Value as it was ({before} before and after: {why}), "
            "so there was no change for the child to see"
            + (f"; the child read {shown(after['value'])}" if after else ""))


def findings(run: RunState) -> list[Finding]:
    created = run.first("parent-created")
    changed = run.first("parent-changed")
    first = run.first("child-first-read")
    after = run.first("child-after-change")
    fork = run.start_method == "fork"
    sees = same = None
    sees_applies = True
    sees_evidence = missing(run, "child-first-read", "parent-changed", "child-after-change")
    same_evidence = missing(run, "parent-created", "child-first-read")
    if changed and not changed["changed"]:
        # a change can be seen only if it happened: the claim is not about this run
        sees_applies, sees_evidence = False, unchanged(changed, after)
    elif changed and after and first:
        sees = after["value"] == changed["value"]
        sees_evidence = (f"the child read {first['value']!r} before and {after['value']!r} after; "
                         f"the parent had changed it from {changed['before']!r} to "
                         f"{changed['value']!r}")
    if created and first:
        same = created["id"] == first["id"]
        same_evidence = (f"id in the parent {created['id']:#x}, in the child {first['id']:#x}, "
                         f"under {run.start_method}: "
                         + ("a forked child starts as a copy of the parent's memory, so the "
                            "wrapper object sits at the same address"
                            if fork else "the child rebuilt the wrapper from a pickle")
                         + "; either way, the number in shared memory is the same one")
    return [
        Finding("child-sees-parent-change", "The child sees the parent's change to the Value",
                sees, True, sees_evidence, applies=sees_applies),
        Finding("same-id", "The Value has the same id() in parent and child",
                same, fork, same_evidence),
    ]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
