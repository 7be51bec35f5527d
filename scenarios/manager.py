"""Manager: the objects live in a server process; everyone else holds proxies.

``Manager()`` starts a server process. ``manager.dict()`` and
``manager.Value(typecode, value)`` create the real objects there and return
proxies: small picklable handles that send every operation to the server and
wait for its answer. Three consequences, each tried here:

1. a proxy can go through a Queue (a shared ctypes Value cannot): the child
   changes the dict through the proxy it received, and the parent sees it;
2. the manager's Value keeps the type code but never looks at it: a str or
   2**70 goes into Value('i') and comes back unchanged;
3. every operation is a round trip to the server: N increments through the
   proxy are timed against N on a shared ctypes Value, in the same run.
"""

from __future__ import annotations

import os
import time

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
    typecode,
)

SPEC = Scenario(
    name="manager",
    order=10,
    title="A Manager's dict and Value",
    summary="proxies pass through a Queue, the type code is ignored, each call is a round trip",
    uses=("typecode", "value"),
    own=(Knob("operations", "increments timed on each kind of Value", kind="int",
              low=100, high=20000, default=2000),),
    defaults={"typecode": "i"},
)

WRONG = (2**70, "text")  # too big for every integer code; not a number at all
CHILD_WRITES = 2**70 + 1
SLOWER = 10  # "much slower" means at least this many times; the common claim is about 100
ROUNDS = 5  # each kind of increment is timed in this many rounds; the fastest one counts


# -- the scenario -----------------------------------------------------------------------------

def store(what: str, var: Any, written: Any) -> None:
    """Set var.value = written and read it back: was it refused, converted, or kept?"""
    try:
        var.value = written
    except Exception as exc:
        observe(what, f"{type(var).__name__}.value = {written!r} raised "
                f"{type(exc).__name__}: {exc}", written=written,
                written_type=type(written).__name__, refused=True, error=type(exc).__name__,
                message=str(exc))
        return
    read = var.value
    observe(what, f"{type(var).__name__}.value = {written!r}, read back {read!r} "
            f"({type(read).__name__})", written=written, written_type=type(written).__name__,
            refused=False, read=read, read_type=type(read).__name__)


def child(queue: Any, wait: float) -> None:
    shared_dict = queue.get(timeout=wait)  # proxies, unpickled here: they connect to the server
    value = queue.get(timeout=wait)
    before = shared_dict.copy()
    observe("child-got-proxies", f"child got a {type(shared_dict).__name__} and a "
            f"{type(value).__name__} from the Queue; the dict holds {before}",
            types=[type(shared_dict).__name__, type(value).__name__], value=before)
    shared_dict["changed_by"] = "child"
    shared_dict["child_pid"] = os.getpid()
    observe("child-changed-dict", f"child changed the dict through its proxy: {shared_dict.copy()}",
            value=shared_dict.copy())

    read = value.value
    observe("child-reads-value", f"child reads {read!r} ({type(read).__name__}) from the manager's "
            f"Value", value=read, type=type(read).__name__)
    store("child-stores", value, CHILD_WRITES)


def time_increments(lab: Lab, manager: Any) -> None:
    """N increments through a proxy against N on a shared ctypes Value, in alternating rounds.

    Each kind is timed in ROUNDS rounds of N/ROUNDS and judged by its fastest round, as timeit
    does: one moment the scheduler took the CPU away slows one round, not the verdict.
    """
    n = lab.cfg["operations"]
    counter = manager.Value("q", 0)  # 'q' for both, so no count can wrap
    shared = lab.ctx.Value("q", 0)   # in shared memory, with its RLock
    checkpoint("before-timing", f"the parent is about to time {n} increments on each Value")
    sizes = [n // ROUNDS + (1 if i < n % ROUNDS else 0) for i in range(ROUNDS)]
    proxy_rounds: list[float] = []
    shared_rounds: list[float] = []
    for size in sizes:
        start = time.perf_counter()
        for _ in range(size):
            counter.value += 1  # two round trips to the server: get the value, then set it
        proxy_rounds.append((time.perf_counter() - start) / size)

        start = time.perf_counter()
        for _ in range(size):
            with shared.get_lock():  # the lock makes it one safe increment, as the proxy's is not
                shared.value += 1
        shared_rounds.append((time.perf_counter() - start) / size)

    proxy_best, shared_best = min(proxy_rounds), min(shared_rounds)
    ratio = proxy_best / shared_best if shared_best > 0 else None
    observe("cost", f"{n} increments, fastest of {ROUNDS} rounds: {proxy_best * 1e6:.1f} µs each "
            f"through the manager's proxy, {shared_best * 1e6:.2f} µs each on a shared Value "
            f"with get_lock()" + (f": {ratio:.0f} times slower" if ratio else ""),
            operations=n, rounds=ROUNDS,
            proxy_seconds=sum(t * k for t, k in zip(proxy_rounds, sizes, strict=True)),
            shared_seconds=sum(t * k for t, k in zip(shared_rounds, sizes, strict=True)),
            proxy_each=proxy_best, shared_each=shared_best, ratio=ratio,
            proxy_count=counter.value, shared_count=shared.value)


def value_on_queue(lab: Lab, shared: Any) -> None:
    """The contrast: put a shared ctypes Value on a Queue, then a marker after it."""
    queue = lab.ctx.Queue()
    queue.put(shared)  # returns at once: the Queue pickles later, in its feeder thread
    queue.put("marker")
    # the parent reads its own Queue: pickling, the step that fails, is the sender's either way
    first = queue.get(timeout=lab.cfg.timeout)
    queue.close()
    queue.join_thread()  # by now the feeder thread has printed whatever it raised
    got = first if isinstance(first, str) else type(first).__name__
    observe("value-on-queue", f"put() of the shared {type(shared).__name__} returned; the first "
            f"thing out of the Queue was {got!r}", put_returned=True, first=got)


def parent(lab: Lab) -> None:
    code = typecode(lab.cfg.typecode)
    with lab.ctx.Manager() as manager:  # leaving the block shuts the server process down
        lab.announce_manager(manager)
        shared_dict = manager.dict(changed_by="nobody")
        value = manager.Value(code.code, lab.cfg.value)
        shared = lab.ctx.Value(code.code, lab.cfg.value)
        observe("parent-created", f"parent made manager.Value({code.code!r}, {lab.cfg.value!r}), a "
                f"{type(value).__name__}, and a shared {type(shared).__name__} for contrast",
                typecode=code.code, value=value.value, type=type(value).__name__)

        # the type code: values that do not fit it, on both kinds of Value
        for wrong in WRONG:
            store("manager-stores", value, wrong)
            store("ctypes-stores", shared, wrong)

        # the proxies through a Queue; the child is started first, so it is never forked
        # from a parent that already runs a feeder thread
        checkpoint("before-put", "the parent is about to start the child and put the two proxies "
                   "on a Queue")
        queue = lab.ctx.Queue()
        # the child's get() waits at most the run's timeout; lab.remaining() would not know
        # about the time spent paused in step mode
        process = lab.start(child, queue, lab.cfg.timeout)
        queue.put(shared_dict)
        queue.put(value)
        lab.join(process)
        observe("parent-reads-dict", f"after the child ended, the parent reads the dict: "
                f"{shared_dict.copy()}", value=shared_dict.copy())
        read = value.value
        observe("parent-reads-value", f"the parent reads {read!r} ({type(read).__name__}) from the "
                f"manager's Value", value=read, type=type(read).__name__)

        value_on_queue(lab, shared)
        time_increments(lab, manager)
    lab.manager_ended(manager)


# -- findings ---------------------------------------------------------------------------------

def kept(stored: dict[str, Any]) -> bool:
    return not stored["refused"] and (stored["read"], stored["read_type"]) == (
        stored["written"], stored["written_type"])


def describe(stored: dict[str, Any]) -> str:
    if stored["refused"]:
        return f"{stored['written']!r} raised {stored['error']}"
    if kept(stored):
        return f"{stored['written']!r} came back unchanged"
    return f"{stored['written']!r} came back as {stored['read']!r}"


def findings(run: RunState) -> list[Finding]:
    return [through_queue(run), typecode_ignored(run), cost(run)]


def through_queue(run: RunState) -> Finding:
    got, changed = run.first("child-got-proxies"), run.first("child-changed-dict")
    seen = run.first("parent-reads-dict")
    holds, evidence = None, missing(run, "child-got-proxies", "child-changed-dict",
                                    "parent-reads-dict")
    applies = True
    if got and changed and got["value"] == changed["value"]:
        # a change can be seen only if it happened: the claim is not about this run
        applies = False
        evidence = (f"the child's writes left the dict as it was ({got['value']}): there was no "
                    "change for the parent to see")
    elif got and changed and seen:
        holds = all(seen["value"].get(k) == v for k, v in changed["value"].items())
        evidence = (f"the child got the dict proxy from a Queue, found {got['value']} and "
                    f"changed it to {changed['value']}; the parent then read {seen['value']}")
    contrast = run.first("value-on-queue")
    feeder = next((line.strip() for e in run.of_kind("output", "parent")
                   for line in e.text.splitlines() if line.startswith("RuntimeError")), None)
    if contrast:
        evidence += (f". A shared ctypes Value put on a Queue: put() returned, the first item out "
                     f"was {contrast['first']!r}"
                     + (f", and the feeder thread printed {feeder}" if feeder else ""))
    # the lesson: shared objects can only be inherited, never passed through a Queue
    return Finding("proxy-passes-through-queue",
                   "A manager's proxy can be passed through a Queue, and changes made through it "
                   "reach the other process", holds, False, evidence, applies=applies)


def typecode_ignored(run: RunState) -> Finding:
    tried = list(run.observations("manager-stores"))
    holds, evidence = None, missing(run, "manager-stores")
    if tried:
        holds = not all(kept(s) for s in tried)
        code = run.config.get("typecode")
        evidence = f"manager.Value({code!r}): " + "; ".join(describe(s) for s in tried)
        read, wrote = run.first("child-reads-value"), run.first("child-stores")
        back = run.first("parent-reads-value")
        if read:
            evidence += f"; the child read {read['value']!r} ({read['type']})"
        if wrote and back:
            evidence += f", wrote {wrote['written']!r}, and the parent read back {back['value']!r}"
        ctypes_tried = list(run.observations("ctypes-stores"))
        if ctypes_tried:
            evidence += (f". The shared ctypes Value({code!r}): "
                         + "; ".join(describe(s) for s in ctypes_tried))
    return Finding("typecode-enforced", "A manager's Value enforces its type code", holds, True,
                   evidence)


def cost(run: RunState) -> Finding:
    measured = run.first("cost")
    if not measured or not measured["ratio"]:
        return Finding("manager-slower", f"An increment through a manager's proxy is at least "
                       f"{SLOWER} times slower than on a shared Value", None, True,
                       "the increments on the shared Value took no measurable time"
                       if measured else missing(run, "cost"))
    n, ratio = measured["operations"], measured["ratio"]
    evidence = (f"{n} increments took {measured['proxy_seconds']:.3f} s through the proxy "
                f"and {measured['shared_seconds']:.4f} s on the shared Value with get_lock(); "
                f"in the fastest of {measured['rounds']} rounds each took "
                f"{measured['proxy_each'] * 1e6:.1f} µs through the proxy (two round trips) and "
                f"{measured['shared_each'] * 1e6:.2f} µs on the shared Value: a ratio of "
                f"{ratio:.0f} (the common claim is about 100)")
    return Finding("manager-slower", f"An increment through a manager's proxy is at least "
                   f"{SLOWER} times slower than on a shared Value", ratio >= SLOWER, True, evidence)


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
