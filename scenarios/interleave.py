"""Interleave: be the scheduler of a lost update.

Two or three processes each run ``x = v.value`` and then ``v.value = x + 1`` on
one shared Value, with a checkpoint before the read and one between the read and
the write. In step mode every process waits at each checkpoint, and whoever runs
it releases one process at a time (`step ROLE` on the control input; a number in
`statelab run --step`): the schedule is chosen by hand, so the lost update of
*race* happens exactly when two processes both read before either writes. Without
step mode the OS chooses, and the findings report the same things.

``--guard get_lock`` puts ``with v.get_lock():`` around the read and the write:
a process that holds the lock keeps it while it waits at its checkpoint, and
another one that asks for the lock blocks there (not at a checkpoint), so it
cannot read until the first has written. It says so before it asks.

Each read and write is timed (monotonic clock, shared by the processes) just
before and just after it: the schedule the findings give is the order in which
they were done, taken from what the processes observed, never from the steps.
"""

from __future__ import annotations

import time

from scenarios.engine.api import (
    Any,
    Config,
    Finding,
    Knob,
    Lab,
    RunState,
    Scenario,
    checkpoint,
    observe,
    role,
    run_as_script,
)

OPS = ("read", "wrote")


def check(cfg: Config) -> str | None:
    if cfg["guard"] == "get_lock" and cfg.lock == "false":
        return ("--guard get_lock needs a lock: with --lock false the Value is a raw ctypes "
                "object, which has no get_lock()")
    if cfg["guard"] == "get_lock" and cfg.lock == "lock":
        return ("--guard get_lock with --lock lock deadlocks at the first read (the value "
                "property takes the same plain Lock again; see race): use --lock true or rlock")
    return None


SPEC = Scenario(
    name="interleave",
    order=8,
    title="Be the scheduler",
    summary="each process reads, then writes one Value; in step mode you choose who goes next",
    uses=("lock",),
    own=(
        Knob("processes", "how many processes each add 1 to the Value", kind="int",
             low=2, high=3, default=2),
        Knob("guard", "none: x = v.value, then v.value = x + 1; get_lock: both inside "
             "with v.get_lock():", ("none", "get_lock"), default="none"),
    ),
    defaults={"lock": "true"},
    check=check,
)


def worker(v: Any, guard: str) -> None:
    me = role()
    checkpoint("before-read", f"{me} is about to read the Value")
    if guard == "get_lock":
        lock = v.get_lock()
        observe("wants-lock", f"{me} asks for the Value's lock (it waits here while another "
                "process holds it)", at=time.monotonic())
        asked = time.monotonic()
        with lock:
            got = time.monotonic()
            observe("got-lock", f"{me} holds the Value's lock, after waiting {got - asked:.3f} s",
                    waited=got - asked, at=got)
            add_one(v, me)
        observe("let-go-lock", f"{me} let go of the Value's lock", at=time.monotonic())
    else:
        add_one(v, me)


def add_one(v: Any, me: str) -> None:
    start = time.monotonic()
    x = v.value
    end = time.monotonic()
    observe("read", f"{me} read {x}", value=x, start=start, end=end)
    checkpoint("before-write", f"{me} read {x} and is about to write {x + 1}")
    start = time.monotonic()
    v.value = x + 1
    end = time.monotonic()
    observe("wrote", f"{me} wrote {x + 1}", value=x + 1, start=start, end=end)


def parent(lab: Lab) -> None:
    n, guard = lab.cfg["processes"], lab.cfg["guard"]
    v = lab.ctx.Value("i", 0, lock=lab.lock())
    line = ("with v.get_lock(): x = v.value; v.value = x + 1" if guard == "get_lock"
            else "x = v.value; v.value = x + 1")
    observe("setup", f"{n} processes will each run `{line}` once on a {type(v).__name__} "
            f"holding 0 (lock mode {lab.cfg.lock})", processes=n, guard=guard, lock=lab.cfg.lock)
    workers = [lab.start(worker, v, guard) for _ in range(n)]
    for w in workers:
        while w.exitcode is None:  # in step mode a held worker may wait longer than a join
            lab.join(w)
    final = v.value
    observe("result", f"after {n} processes each added 1, the Value holds {final}",
            final=final, increments=n)


# -- findings -------------------------------------------------------------------------------

class Op:
    """One read or write, as the process that did it observed it."""

    def __init__(self, who: str, what: str, data: dict[str, Any]) -> None:
        self.who, self.what = who, what
        self.value: int = data["value"]
        self.start: float = data["start"]
        self.end: float = data["end"]

    def __str__(self) -> str:
        return f"{self.who} {self.what} {self.value}"


def operations(run: RunState) -> list[Op]:
    """Every read and write, in the order they were done (when each one ended)."""
    ops = [Op(e.role, str(e.data["what"]), e.data) for e in run.of_kind("observe")
           if e.data.get("what") in OPS]
    return sorted(ops, key=lambda op: op.end)


def workers_of(run: RunState) -> list[str]:
    return sorted({p.role for p in run.processes.values()
                   if p.role.startswith("child") and not p.helper})


def unaccounted(run: RunState, ops: list[Op], n: int) -> str | None:
    """What is missing for the whole story (each of n processes read and wrote once), or None."""
    done = {(op.who, op.what) for op in ops}
    roles = workers_of(run)
    noun = {"read": "read", "wrote": "write"}
    lacking = [f"{who}'s {noun[what]}" for who in roles for what in OPS if (who, what) not in done]
    if len(roles) < n:
        lacking.append(f"{n - len(roles)} of the {n} processes")
    if run.first("result") is None:
        lacking.append("the final value")
    if not lacking:
        return None
    cut = {"stopped": " (the run was stopped first)", "timeout": " (the run timed out first)"}
    return "not observed in this run: " + ", ".join(lacking) + cut.get(run.status, "")


def schedule(ops: list[Op]) -> tuple[str, bool, list[str]]:
    """The schedule as one line; whether the processes took turns (no one read while another
    had read and not yet written); the pairs too close in time to order for sure."""
    reading: dict[str, int] = {}
    turns = True
    close = []
    for i, op in enumerate(ops):
        if op.what == "read":
            turns = turns and not reading
            reading[op.who] = op.value
        else:
            reading.pop(op.who, None)
        if i and op.start < ops[i - 1].end:
            close.append(f"{ops[i - 1]} and {op}")
    return ", ".join(str(op) for op in ops), turns, close


def lock_waits(run: RunState, ops: list[Op]) -> list[str]:
    """Who asked for the lock and got it only after another process had written (the times
    each observed: asking, getting, writing)."""
    asked: dict[str, float] = {}
    got: dict[str, float] = {}
    for e in run.of_kind("observe"):
        if e.data.get("what") in ("wants-lock", "got-lock"):
            (asked if e.data["what"] == "wants-lock" else got)[e.role] = e.data["at"]
    said = []
    for who in sorted(set(asked) & set(got)):
        meanwhile = [op for op in ops if op.what == "wrote" and op.who != who
                     and asked[who] < op.end <= got[who]]
        if meanwhile:
            said.append(f"{who} asked for the lock and got it {got[who] - asked[who]:.3f} s later, "
                        f"after {' and '.join(f'{op.who} wrote {op.value}' for op in meanwhile)}")
    return said


def findings(run: RunState) -> list[Finding]:
    n = int(run.config.get("processes", 2))
    guarded = run.config.get("guard") == "get_lock"
    ops = operations(run)
    result = run.first("result")
    gap = unaccounted(run, ops, n)
    # common belief: a Value made with a lock is safe to update from many processes
    belief = None if run.config.get("lock") == "false" else False
    claims = (("final-value", f"The Value ends at {n}: every process's increment counted"),
              ("lost-update", "An update was lost (the final value is less than the number "
                              "of increments)"),
              ("took-turns", "The processes took turns: none read the Value while another had "
                             "read it and not yet written"))
    if gap is not None or result is None:
        return [Finding(fid, claim, None, lesson, gap or "no final value")
                for (fid, claim), lesson in zip(claims, (None, belief, None), strict=True)]
    final = result["final"]
    line, turns, close = schedule(ops)
    chooser = ("step mode: each went on when it was stepped" if run.config.get("step")
               else "the OS's: no step mode")
    order = (f"the schedule ({chooser}), in the order the processes did each: {line}"
             + (f"; too close in time to order for sure: {'; '.join(close)}" if close else ""))
    last = max((op for op in ops if op.what == "wrote"), key=lambda op: op.end)
    reads = {op.who: op.value for op in ops if op.what == "read"}
    wrote = {op.who: op.value for op in ops if op.what == "wrote"}
    why = "".join(
        f"; {' and '.join(same)} each read {x}, and wrote "
        f"{' and '.join(str(wrote[who]) for who in same)}"
        for x in sorted(set(reads.values()))
        for same in [[who for who in sorted(reads) if reads[who] == x]] if len(same) > 1)
    guard = ""
    if guarded:
        waited = lock_waits(run, ops)
        guard = ("; with v.get_lock() around the read and the write: "
                 + ("; ".join(waited) if waited else "no process had to wait for the lock"))
    return [
        Finding("final-value", claims[0][1], final == n, None,
                f"the parent read {final} after {n} processes each added 1; the last write "
                f"was {last.who}'s {last.value}"),
        Finding("lost-update", claims[1][1], final < n, belief,
                f"{n} increments, final value {final}{why}{guard}"),
        Finding("took-turns", claims[2][1], turns, None, order),
    ]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
