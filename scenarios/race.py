"""Race: N processes each add 1 to one shared Value, M times.

``v.value += 1`` is a read and then a write. With ``lock=True`` each of the two
takes the Value's lock, but the lock is let go in between, so two processes
can read the same number and both write it back plus one: an update is lost.
``with v.get_lock(): v.value += 1`` holds the lock across both. Give a plain
``Lock()`` as the lock and that same line deadlocks: the ``value`` property
takes the lock again, and a ``Lock`` is not reentrant.

The workers wait at a gate (``go``) until all of them are ready, so they really
run at the same time. The hot loop is plain code: no event is sent inside it.
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
    missing,
    observe,
    role,
    run_as_script,
    typecode,
)

# Bounds measured on 2 cores: the worst case, 64 spawned processes with get_lock and
# 1,000,000 increments in all, takes about 3 s, so a run stays well inside the default 10 s.
MAX_PROCESSES = 64
MAX_ITERATIONS = 500_000
MAX_TOTAL = 1_000_000  # processes × iterations


def check(cfg: Config) -> str | None:
    """Refuse what cannot run, or cannot count, with the reason."""
    if cfg["guard"] == "get_lock" and cfg.lock == "false":
        return ("--guard get_lock needs a lock: with --lock false the Value is a raw ctypes "
                "object, which has no get_lock()")
    total = cfg["processes"] * cfg["iterations"]
    if total > MAX_TOTAL:
        return (f"--processes {cfg['processes']} × --iterations {cfg['iterations']} = {total:,} "
                f"increments; at most {MAX_TOTAL:,} in all (processes 1 to {MAX_PROCESSES}, "
                f"iterations 1 to {MAX_ITERATIONS:,})")
    code = typecode(cfg.typecode)
    if code.kind not in ("int", "float"):
        return f"--typecode {code.code} holds a character; the race adds 1, so choose a number type"
    # the largest count the type holds exactly: floats stop counting at 2**24 (f) or 2**53 (d)
    exact = {"f": 2**24, "d": 2**53}.get(code.code, code.high)
    if total > exact:
        return (f"--typecode {code.code} ({code.c_type}) counts exactly only up to {exact:,}; "
                f"{total:,} increments need a wider type (i, l or q)")
    return None


SPEC = Scenario(
    name="race",
    order=7,
    title="A race on a shared Value",
    summary="N processes × M increments of one Value: lost updates, and a lock that deadlocks",
    uses=("typecode", "lock"),
    own=(
        Knob("processes", "how many processes increment the Value", kind="int",
             low=1, high=MAX_PROCESSES, default=2),
        # 200,000: raw (--lock false) loops lost updates in 180 of 180 runs on 2 cores (3.11 to
        # 3.13, every start method); at 100,000 a few runs in 20 ended before they overlapped
        Knob("iterations", "how many times each process adds 1", kind="int",
             low=1, high=MAX_ITERATIONS, default=200_000),
        Knob("guard", "none: v.value += 1; get_lock: with v.get_lock(): v.value += 1",
             ("none", "get_lock"), default="none"),
    ),
    defaults={"typecode": "i", "lock": "true"},
    check=check,
)


def worker(counter: Any, iterations: int, guard: str, ready: Any, go: Any, clock: Any,
           slot: int) -> None:
    ready.release()
    go.wait()
    done = 0
    start, cpu = time.monotonic(), time.process_time()
    if guard == "get_lock":
        for done in range(1, iterations + 1):  # noqa: B007 - done counts what was really done
            with counter.get_lock():
                counter.value += 1
    else:
        for done in range(1, iterations + 1):  # noqa: B007
            counter.value += 1
    end, cpu = time.monotonic(), time.process_time() - cpu
    clock[2 * slot], clock[2 * slot + 1] = start, end  # this worker's own slots: no lock needed
    seconds = end - start
    observe("worker-done", f"{role()} added 1 {done:,} times in {seconds:.3f} s "
            f"({done / seconds:,.0f} increments/s)",
            count=done, seconds=seconds, rate=done / seconds, start=start, end=end,
            cpu_seconds=cpu)  # CPU time: what the loop cost, even on a busy machine


def parent(lab: Lab) -> None:
    n, m, guard = lab.cfg["processes"], lab.cfg["iterations"], lab.cfg["guard"]
    counter = lab.ctx.Value(lab.cfg.typecode, 0, lock=lab.lock())
    ready = lab.ctx.Semaphore(0)
    go = lab.ctx.Event()
    clock = lab.ctx.RawArray("d", 2 * n)  # (start, end) of each worker's loop
    line = "with v.get_lock(): v.value += 1" if guard == "get_lock" else "v.value += 1"
    observe("setup", f"{n} processes will each run `{line}` {m:,} times on a "
            f"{type(counter).__name__} ({lab.cfg.typecode!r}, lock mode {lab.cfg.lock})",
            processes=n, iterations=m, guard=guard, lock=lab.cfg.lock, type=type(counter).__name__)

    workers = [lab.start(worker, counter, m, guard, ready, go, clock, i) for i in range(n)]
    for _ in workers:
        while not ready.acquire(timeout=0.2):
            # a worker that died on its way to the gate never comes: say so, do not wait for ever
            dead = [w.name for w in workers if w.exitcode is not None]
            if dead:
                for w in workers:
                    w.terminate()
                raise RuntimeError(f"{', '.join(dead)} ended before reaching the gate")
    checkpoint("gate", f"all {n} workers are ready; the parent opens the gate")
    go.set()
    for w in workers:
        lab.join(w)

    final = counter.value
    expected = n * m
    seconds = max(clock[1::2]) - min(clock[0::2])
    observe("result", f"expected {expected:,}, the Value holds {final:,}: "
            f"{expected - final:,} updates lost; {expected:,} increments in {seconds:.3f} s "
            f"({expected / seconds:,.0f}/s)",
            expected=expected, final=final, lost=expected - final, seconds=seconds,
            rate=expected / seconds)


# -- findings -------------------------------------------------------------------------------

def _lost_updates(run: RunState) -> Finding:
    claim = "Some increments were lost (the final count is less than expected)"
    raw = run.config["lock"] == "false"
    # the lesson: Value() makes reads and writes "process-safe"; it claims nothing for lock=False
    lesson = None if raw else False
    result = run.first("result")
    if result is None:
        return Finding("lost-updates", claim, None, lesson, missing(run, "result"))
    done = [w["count"] for w in run.observations("worker-done")]
    evidence = (f"{len(done)} workers did {sum(done):,} increments; the Value holds "
                f"{result['final']:,} of {result['expected']:,}")
    lost = result["final"] < result["expected"]
    if lost and run.config["guard"] == "none":
        evidence += (": `v.value += 1` reads, then writes; "
                     + ("with lock=False nothing guards either step"
                        if raw else "the lock is taken for the read and again for the write, "
                        "and let go in between")
                     + ", so two processes wrote back the same number")
    elif not lost and run.config["guard"] == "get_lock":
        evidence += ": get_lock() held the lock across the read and the write"
    elif not lost:
        evidence += (": no loss this time; a race loses updates only when two processes "
                     "interleave (try more --iterations or --processes)")
    return Finding("lost-updates", claim, lost, lesson, evidence)


def _stuck_in_property(stack: str) -> bool:
    """True if the stack shows the Value's generated getter or setter waiting on its lock."""
    return any(f"in {name}" in line and "<string>" in line
               for line in stack.splitlines() for name in ("getvalue", "setvalue"))


def _deadlock(run: RunState) -> Finding:
    claim = "The run deadlocked: a worker waits for a lock it already holds"
    nested = run.config["guard"] == "get_lock"
    reentrant = run.config["lock"] in ("true", "rlock")
    if run.status == "stopped":
        return Finding("deadlock", claim, None, None,
                       "the run was stopped before it could end or time out")
    if run.status != "timeout":
        evidence = f"the run ended ({run.status}) without a timeout"
        if nested and reentrant:
            evidence += ("; the lock is an RLock, which the process holding it may take again, "
                         "so the value property could take it inside `with v.get_lock():`")
        return Finding("deadlock", claim, False, None, evidence)
    if not run.stacks:
        return Finding("deadlock", claim, None, None,
                       "the run timed out but no stack was collected")
    inside = sorted(r for r, s in run.stacks.items() if _stuck_in_property(s))
    if nested and not reentrant and inside:
        return Finding("deadlock", claim, True, None,
                       f"the run timed out; {', '.join(inside)} stuck in the Value's getter or "
                       "setter (the `value` property's self.acquire()) inside `with "
                       "v.get_lock():`: the property takes the same lock again, and a plain "
                       "Lock() is not reentrant, so the process waits for itself; every other "
                       "worker waits at get_lock() for it")
    # in the property without holding the lock (guard none), or holding an RLock: only slow
    where = f"{', '.join(inside)} in the value property, " if inside else ""
    return Finding("deadlock", claim, False, None,
                   f"the run timed out, but no process waited for a lock it held ({where}"
                   f"stacks of {len(run.stacks)} processes): it was too slow, not deadlocked; "
                   "try fewer --iterations or --processes, or a longer --timeout")


def findings(run: RunState) -> list[Finding]:
    deadlock = _deadlock(run)
    if run.config["guard"] != "get_lock":  # only `with v.get_lock():` takes the lock twice
        deadlock = deadlock.not_applicable(
            "with --guard none no worker holds the lock when the value property takes it, so "
            "none can wait for itself (--guard get_lock with --lock lock is the deadlock)")
    return [_lost_updates(run), deadlock]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
