"""Shared Array: five numbers in shared memory, inherited by a child process.

The parent makes ``Array(typecode, range(5), lock=...)`` and starts a child
that reads element 0. The parent adds 100 to it and the child reads it again.
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
    name="shared-array",
    order=3,
    title="A shared Array",
    summary="Array(typecode, range(5)): the parent does arr[0] += 100, the child sees it",
    uses=("typecode", "lock"),
    defaults={"typecode": "i", "lock": "true"},
    from_lesson=True,
)


def child(arr: Any, child_read: Any, parent_changed: Any) -> None:
    observe("child-first-read", f"child reads arr[0] = {arr[0]!r}, id(arr) = {id(arr):#x}",
            value=arr[0], id=id(arr), items=list(arr))
    child_read.release()
    parent_changed.acquire()
    observe("child-after-change", f"after the parent's change, the child reads arr[0] = {arr[0]!r}",
            value=arr[0], id=id(arr), items=list(arr))


def parent(lab: Lab) -> None:
    code = typecode(lab.cfg.typecode)
    child_read = lab.ctx.Semaphore(0)
    parent_changed = lab.ctx.Semaphore(0)

    # c and u hold characters, which range(5) is not: give them five letters instead
    initial: Any = {"byte": b"abcde", "char": "abcde"}.get(code.kind, range(5))
    arr = lab.ctx.Array(code.code, initial, lock=lab.lock())
    observe("parent-created", f"parent made Array({code.code!r}, {initial!r}) of type "
            f"{type(arr).__name__}: {list(arr)!r}, id(arr) = {id(arr):#x}",
            value=arr[0], id=id(arr), items=list(arr), type=type(arr).__name__)

    process = lab.start(child, arr, child_read, parent_changed)
    child_read.acquire()
    checkpoint("before-change", "the child has read arr[0]; the parent is about to change it")

    before = arr[0]
    if code.kind in ("int", "float"):
        arr[0] += 100
    else:  # a character cannot take += 100: move it on instead
        arr[0] = code.next_after(arr[0])
    changed = repr(arr[0]) != repr(before)  # a change can be seen only if it happened
    observe("parent-changed", f"parent changed arr[0] from {before!r} to {arr[0]!r}" if changed
            else f"parent's change left arr[0] as it was: {arr[0]!r}", value=arr[0], before=before,
            changed=changed, id=id(arr), items=list(arr))
    parent_changed.release()
    lab.join(process)


def findings(run: RunState) -> list[Finding]:
    claim = "The child sees the parent's change to arr[0]"
    first = run.first("child-first-read")
    after = run.first("child-after-change")
    changed = run.first("parent-changed")
    if changed and not changed["changed"]:
        return [Finding("child-sees-parent-change", claim, None, True,
                        f"the parent's change left arr[0] as it was ({changed['before']!r}), so "
                        "there was no change for the child to see", applies=False)]
    if not (first and after and changed):
        return [Finding("child-sees-parent-change", claim, None, True,
                        missing(run, "child-first-read", "parent-changed", "child-after-change"))]
    sees = after["value"] == changed["value"]
    return [Finding(
        "child-sees-parent-change", claim, sees, True,
        f"the child read arr[0] = {first['value']!r} before and {after['value']!r} after; the "
        f"parent changed it from {changed['before']!r} to {changed['value']!r}; both processes "
        "index the same block of shared memory")]

if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
