"""Value garbage-collected: a Value made inline as a Process argument, then a second one.

CPython gh-110660. `Process.start()` drops the Process's own reference to its
arguments, so a `Value('i', 0)` written inside the call is garbage once start()
returns: the parent's shared-memory heap takes its slot back, while the child
still uses it. The next Value the parent makes can get that very slot, and two
"separate" counters become one. With a lock under spawn or forkserver the child
may not even get that far: the lock's named semaphore is unlinked with the
Value (gh-94765). Each child reports where its counter lives (the shared file's
inode and the offset in it, as its own /proc/self/maps says) and what it reads;
semaphores make the processes take turns, so what they read does not hang on
timing.
"""

from __future__ import annotations

import ctypes

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
    name="value-gc",
    order=21,
    title="A Value nobody keeps",
    summary="Value() made inline as a Process argument: freed at start(), its slot given again",
    uses=("lock",),
    own=(Knob("keep", "whether the parent keeps a reference to each Value (the fix)",
              ("false", "true"), default="false"),),
    defaults={"lock": "false"},
)

STEPS = {"child": 1, "child-2": 100}  # what each child adds: whose write it was stays visible


def where(var: Any) -> tuple[int, int] | None:
    """(inode, offset in the file) of the C number var holds, as this process maps it: the
    same pair in two processes is the same memory, whatever the addresses."""
    obj = var.get_obj() if hasattr(var, "get_obj") else var
    address = ctypes.addressof(obj)
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            low, high = (int(x, 16) for x in fields[0].split("-"))
            if low <= address < high:
                return int(fields[4]), address - low + int(fields[2], 16)
    return None


def counter(var: Any, name: str, done: Any, go: Any) -> None:
    at = where(var)
    first = var.value
    observe("counter-first", f"{name} reads {first} from its Value, at offset "
            f"{at[1] if at else '?'} of shared file inode {at[0] if at else '?'}",
            value=first, inode=at and at[0], offset=at and at[1], address=ctypes.addressof(
                var.get_obj() if hasattr(var, "get_obj") else var))
    var.value += STEPS[name]
    observe("counter-wrote", f"{name} added {STEPS[name]}: its counter reads {var.value}",
            value=var.value, step=STEPS[name])
    done.release()
    go.acquire()
    checkpoint("read-again", f"{name} is about to read its counter again")
    observe("counter-later", f"{name} reads its counter again: {var.value}", value=var.value)


def wait_for(done: Any, process: Any) -> bool:
    """Wait for the child's turn to end; False if the child ended without it (it could not
    open its Value, say), so the parent never waits for a child that is gone."""
    while not done.acquire(timeout=0.05):
        if process.exitcode is not None:
            return False
    return True


def parent(lab: Lab) -> None:
    keep = lab.cfg["keep"] == "true"
    kept = []
    turns = {name: (lab.ctx.Semaphore(0), lab.ctx.Semaphore(0)) for name in STEPS}
    started = {}
    for name in STEPS:
        done, go = turns[name]
        checkpoint(f"before-{name}", f"the parent is about to start {name} with a new Value")
        if keep:
            kept.append(lab.ctx.Value("i", 0, lock=lab.lock()))
            started[name] = lab.start(counter, kept[-1], name, done, go, role=name)
        else:  # the trap: nothing in the parent refers to the Value once start() returns
            started[name] = lab.start(counter, lab.ctx.Value("i", 0, lock=lab.lock()), name,
                                      done, go, role=name)
        observe("parent-started", f"the parent started {name} with Value('i', 0) "
                + ("and keeps a reference to it" if keep else "made in the call, keeping none"),
                child=name, keep=keep)
        if not wait_for(done, started[name]):
            observe("child-gone", f"{name} ended before it could use its Value", child=name)
    for name, process in started.items():
        turns[name][1].release()  # in turn: the first child reads again, then the second
        lab.join(process)


# -- findings ---------------------------------------------------------------------------------

def place(seen: dict[str, Any]) -> str:
    return f"offset {seen['offset']} of shared file inode {seen['inode']}"


def findings(run: RunState) -> list[Finding]:
    first = {name: run.first("counter-first", name) for name in STEPS}
    wrote = {name: run.first("counter-wrote", name) for name in STEPS}
    later = {name: run.first("counter-later", name) for name in STEPS}
    keep = run.config.get("keep") == "true"
    how = ("the parent kept a reference to each Value" if keep else
           "the parent kept no reference to either Value")
    a, b = first["child"], first["child-2"]

    same_slot, slot_evidence = None, missing(run, "counter-first")
    if a and b:
        same_slot = (a["inode"], a["offset"]) == (b["inode"], b["offset"])
        slot_evidence = (f"{how}; child's counter is at {place(a)}, child-2's at {place(b)}"
                         + (": the first Value's slot went back to the parent's heap when its "
                            "last reference went, and the second Value was given it while child "
                            "still used it" if same_slot else ""))

    crossed, cross_evidence = None, missing(run, "counter-wrote", "counter-later")
    if wrote["child"] and later["child"] and b and wrote["child-2"]:
        crossed = later["child"]["value"] != wrote["child"]["value"]
        cross_evidence = (f"{how}; child added 1 and read {wrote['child']['value']}; then "
                          f"child-2 read {b['value']} from its new Value and added 100 "
                          f"({wrote['child-2']['value']}); child then read "
                          f"{later['child']['value']} from its own counter"
                          + (f"; making the second Value wrote its 0 over child's "
                             f"{wrote['child']['value']}" if b["value"] != wrote["child"]["value"]
                             and crossed else ""))
    result = [
        Finding("separate-slots", "Two Values made for two children live in two places in "
                "shared memory", None if same_slot is None else not same_slot, True,
                slot_evidence),
        Finding("separate-counters", "What the second child adds to its Value does not change "
                "the first child's", None if crossed is None else not crossed, True,
                cross_evidence),
    ]
    if run.config.get("lock") != "false" and run.start_method != "fork" and not keep:
        result.append(opened(run, first))
    return result


def opened(run: RunState, first: dict[str, dict[str, Any] | None]) -> Finding:
    """With a lock under spawn or forkserver the child opens the lock's semaphore by name:
    if the parent has dropped the Value by then, the name is gone."""
    codes = {}  # the children that never read their Value -> their exit code, if known
    for name in STEPS:
        ended = run.exit_of(name) if first[name] is None else None
        if first[name] is None:
            codes[name] = ended["exitcode"] if ended else None
    failed = [name for name, code in codes.items() if code is not None and code > 0]
    holds: bool | None = not codes
    evidence = "each child opened its Value and read it"
    if failed:
        holds = False
        error = next((line.strip() for line in run.output().splitlines()
                      if line.startswith(("FileNotFoundError", "OSError"))), None)
        evidence = ("; ".join(f"{name} never read its Value and exited with code {codes[name]}"
                            for name in failed)
                    + (f"; the output says {error}" if error else ""))
    elif codes:  # stopped, killed or never started: nothing says why it did not read
        holds, evidence = None, missing(run, "counter-first")
    evidence += f" (lock {run.config.get('lock')}, under {run.start_method})"
    return Finding("child-opens-value", "A child can open a Value with a lock that the parent "
                   "did not keep", holds, True, evidence)


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
