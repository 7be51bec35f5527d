"""Join before drain: a child that put a big object on a Queue does not end until it is read.

`Queue.put()` returns at once: a feeder thread pickles the object and writes it
to a pipe. A process waits for its feeder threads before it ends, and a write
to a full pipe waits for a reader. So a parent that joins its child before it
reads the queue waits for ever once the message is bigger than the pipe holds.

The parent first finds that threshold on this machine: it reads the capacity of
a fresh pipe and starts four tries at once, each putting a message of half,
exactly, one byte more than, and twice that capacity on a queue of its own.
Once every try's put() has returned, each gets `--wait` seconds to end on its
own; the parent then reads each queue, and a try that had not ended ends. Then
the trap as people write it: a child puts `--size` bytes, the parent joins it
before it calls get(). Above the threshold the run ends by its deadline (short
by default), with the stacks of the stuck pair.
"""

from __future__ import annotations

import fcntl
import os
import select
import time
from multiprocessing.reduction import ForkingPickler

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
    role,
    run_as_script,
)

SPEC = Scenario(
    name="join-before-drain",
    order=15,
    title="Joining a child before reading its Queue",
    summary="a child puts --size bytes on a Queue, the parent joins it first: above the "
            "pipe's capacity the join waits for ever (the run ends at its 5 s timeout)",
    own=(
        Knob("size", "bytes the child puts on the Queue before the parent joins it",
             kind="int", low=0, high=16 << 20, default=100_000),
        Knob("wait", "seconds each try of the threshold gets to end on its own once its put() "
             "returned", kind="float", low=0.1, high=10.0, default=1.0),
    ),
    # above the threshold the join waits for ever by design: the deadline ends the demo soon
    defaults={"timeout": 5.0},
)

HEADER = 4  # Connection.send_bytes() writes the length as 4 bytes before the pickle (< 2 GiB)


def message_size(size: int) -> int:
    """Bytes the feeder thread writes to the pipe for `size` bytes: the Queue pickles with
    ForkingPickler, as here."""
    return HEADER + len(ForkingPickler.dumps(bytes(size)))


def payload_for(message: int) -> int:
    """The payload whose message is `message` bytes (or the nearest below, where the pickle's
    framing skips it)."""
    size = max(0, message - message_size(0))
    for _ in range(4):  # the pickle's overhead changes by a few bytes with the size
        size = max(0, size + message - message_size(size))
    while size and message_size(size) > message:
        size -= 1
    return size


def pipe_capacity() -> int:
    """The capacity of a fresh pipe, as the kernel gives it to this process now."""
    r, w = os.pipe()
    try:
        return int(fcntl.fcntl(w, fcntl.F_GETPIPE_SZ))
    finally:
        os.close(r)
        os.close(w)


def put(queue: Any, size: int, done: Any) -> None:
    queue.put(bytes(size))
    observe("put-returned", f"{role()}: put() of {size:,} bytes returned; the feeder thread "
            "writes them to the pipe, and the process waits for it before it ends", size=size)
    if done is not None:
        done.release()


def ended_within(sentinels: list[int], seconds: float) -> set[int]:
    """The sentinels of the processes that end within `seconds`."""
    ended: set[int] = set()
    until = time.monotonic() + seconds
    while len(ended) < len(sentinels):
        left = until - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([s for s in sentinels if s not in ended], [], [], left)
        ended.update(ready)
    return ended


def find_threshold(lab: Lab, capacity: int) -> None:
    wait = float(lab.cfg["wait"])
    ready = lab.ctx.Semaphore(0)
    tries = []
    for i, target in enumerate((capacity // 2, capacity, capacity + 1, 2 * capacity), 1):
        size = payload_for(target)
        queue = lab.ctx.Queue()
        tries.append((f"try-{i}", size, message_size(size), queue,
                      lab.start(put, queue, size, ready, role=f"try-{i}")))
    for _ in tries:  # from here on, each try only has to end
        if not ready.acquire(timeout=max(0.0, lab.remaining())):
            return  # the deadline came first: the findings say what is missing
    ended = ended_within([p.sentinel for *_, p in tries], wait)
    for name, size, message, queue, process in tries:
        alone = process.sentinel in ended
        read = time.monotonic()
        got = queue.get(timeout=max(0.0, lab.remaining()))
        lab.join(process)
        after = time.monotonic() - read
        observe("try", f"{name}: {size:,} bytes, a {message:,}-byte message in a "
                f"{capacity:,}-byte pipe: "
                + (f"the process ended on its own within {wait:g} s" if alone else
                   f"the process had not ended {wait:g} s after its put() returned; it ended "
                   f"{after:.3f} s after the parent read the queue"),
                name=name, size=size, message=message, alone=alone, after_read=round(after, 4),
                got=len(got), exitcode=process.exitcode)


def parent(lab: Lab) -> None:
    capacity = pipe_capacity()
    observe("pipe-capacity", f"parent: a fresh pipe holds {capacity:,} bytes here",
            capacity=capacity)
    find_threshold(lab, capacity)

    size = int(lab.cfg["size"])
    checkpoint("before-join", f"the parent starts a child that puts {size:,} bytes, and joins "
               "it before reading")
    queue = lab.ctx.Queue()
    process = lab.start(put, queue, size, None, role="child")
    observe("joining", f"parent: join() before get(); the message is "
            f"{message_size(size):,} bytes, the pipe holds {capacity:,}",
            size=size, message=message_size(size))
    began = time.monotonic()
    lab.join(process)  # the trap: join before get(); the lab's join waits past the deadline
    if process.exitcode is None:  # a saved script's lab gives up at the deadline; the lab's
        return  # runner ends the run there first, with the stacks
    observe("joined", f"parent: join() returned after {time.monotonic() - began:.3f} s",
            seconds=round(time.monotonic() - began, 4))
    got = queue.get(timeout=max(0.0, lab.remaining()))
    observe("got", f"parent: get() returned {len(got):,} bytes", size=len(got))
    lab.join(process)


# -- findings -------------------------------------------------------------------------------

def stuck_words(stack: str) -> str:
    """Where the threads of a stuck child wait, as its stack shows them."""
    said = []
    if "_finalize_join" in stack:
        said.append("its main thread waits for the feeder thread (Queue._finalize_join)")
    if "_feed" in stack and ("_send" in stack or "send_bytes" in stack):
        said.append("the feeder thread is writing to the pipe (_feed, send_bytes)")
    return "; ".join(said) or "its stack did not show the feeder thread"


def join_returns(run: RunState) -> Finding:
    joining = run.first("joining", "parent")
    size = joining["size"] if joining else run.config.get("size")
    claim = (f"join() returns once the child's function has returned (the child put "
             f"{size:,} bytes, nobody has read them yet)")
    joined = run.first("joined", "parent")
    if joined is not None:
        return Finding("join-returns", claim, True, True,
                       f"join() returned after {joined['seconds']:.3f} s: the "
                       f"{joining['message'] if joining else '?':,}-byte message fitted in the "
                       "pipe, so the feeder thread finished and the child ended")
    put_done = run.first("put-returned", "child")
    parent_stack, child_stack = run.stacks.get("parent", ""), run.stacks.get("child", "")
    if run.status != "timeout" or put_done is None or joining is None or not child_stack \
            or "in join" not in parent_stack:
        return Finding("join-returns", claim, None, True,
                       missing(run, "joining", "put-returned", "joined"))
    return Finding("join-returns", claim, False, True,
                   f"the child's put() returned, yet at the deadline ({run.config.get('timeout')}"
                   f" s) the parent still waited in join() and the child had not ended: "
                   f"{stuck_words(child_stack)}. The {joining['message']:,}-byte message does "
                   "not fit in the pipe, and nobody reads it")


def tries(run: RunState) -> list[dict[str, Any]]:
    return list(run.observations("try", "parent"))


def threshold(run: RunState) -> Finding:
    cap = run.first("pipe-capacity", "parent")
    capacity = cap["capacity"] if cap else None
    claim = ("Without a reader, a child ends only if its message fits in the pipe"
             + (f" ({capacity:,} bytes here)" if capacity else ""))
    done = tries(run)
    if capacity is None or len(done) < 4:
        return Finding("threshold-is-the-pipe", claim, None, None,
                       missing(run, "pipe-capacity", "try") if len(done) == 0 or not cap else
                       f"only {len(done)} of the 4 tries were done before the run ended")
    fits = [t for t in done if t["alone"]]
    waits = [t for t in done if not t["alone"]]
    holds = all(t["alone"] == (t["message"] <= capacity) for t in done)

    def sizes(group: list[dict[str, Any]]) -> str:
        return ", ".join(f"{t['message']:,}" for t in group) or "none"

    bracket = ""
    if fits and waits and max(t["message"] for t in fits) < min(t["message"] for t in waits):
        bracket = (f"; the threshold lies between {max(t['message'] for t in fits):,} and "
                   f"{min(t['message'] for t in waits):,} bytes")
    return Finding("threshold-is-the-pipe", claim, holds, None,
                   f"messages (4-byte header and pickle) that ended on their own: {sizes(fits)}"
                   f" bytes; that waited until the parent read them: {sizes(waits)} bytes"
                   f"{bracket}; the pipe holds {capacity:,}")


def reading_frees(run: RunState) -> list[Finding]:
    waited = [t for t in tries(run) if not t["alone"]]
    if not waited:
        return []  # nothing waited: there was nothing to free
    freed = all(t["exitcode"] == 0 for t in waited)
    return [Finding("reading-frees-the-child", "Reading the queue lets a waiting child end",
                    freed, None,
                    "; ".join(f"{t['name']} ({t['message']:,} bytes) "
                              + (f"ended {t['after_read']:.3f} s after the read"
                                 if t["exitcode"] == 0 else f"exit code {t['exitcode']}")
                              for t in waited))]


def findings(run: RunState) -> list[Finding]:
    return [join_returns(run), threshold(run), *reading_frees(run)]


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
