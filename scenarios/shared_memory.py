"""Shared memory by name: SharedMemory and ShareableList, and the resource tracker.

The parent creates a SharedMemory block and a ShareableList, and sends their
names to a child through a Pipe. The child attaches by name, reads what the
parent wrote, writes something back, and closes. Every process closes its own
handles; one process unlinks each segment, once.

The resource tracker is a helper process multiprocessing starts the first
time something registers with it. On this interpreter, attaching by name
registers the segment too (3.13 adds `SharedMemory(..., track=False)` to opt
out). A tracker unlinks whatever is still registered when the last process
using it is gone, and warns about a "leak". Whether the child reports to its
parent's tracker or to one of its own depends on the start method, and on
whether a tracker was already running when the child was started: `--order`.
"""

from __future__ import annotations

import os
import select
import sys
import zlib
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import ShareableList, SharedMemory

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
    run_as_script,
)

SHM_DIR = "/dev/shm"  # where Linux keeps POSIX shared memory, one file per segment name
ITEMS: list[Any] = ["hello", 42, 3.5]
CHILD_ITEMS: list[Any] = ["child", 43, 3.5]  # written over ITEMS: same types, no longer


def _check(cfg: Config) -> str | None:
    if cfg["track"] == "false" and sys.version_info < (3, 13):
        return (f"--track false needs Python 3.13 (SharedMemory's track= is new there); "
                f"this is Python {sys.version.split()[0]}")
    return None


SPEC = Scenario(
    name="shared-memory",
    order=9,
    title="Shared memory by name",
    summary="SharedMemory and ShareableList: attach by name, close, unlink, the resource tracker",
    own=(
        Knob("size", "bytes in the SharedMemory block", kind="int", low=1, high=64 * 1024 * 1024,
             default=4096),
        Knob("unlink", "who unlinks the segments (never: left to the resource tracker)",
             ("parent", "child", "never"), default="parent"),
        Knob("track", "the child attaches with track=False (Python 3.13+) or as by default",
             ("default", "false"), default="default"),
        Knob("order", "the parent creates the segments before or after it starts the child",
             ("create-first", "start-first"), default="create-first"),
    ),
    check=_check,
)


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(SHM_DIR, name))


def tracker() -> dict[str, Any]:
    """Which resource tracker this process reports to: the pipe it writes to names it."""
    fd = resource_tracker.getfd()  # starts one if this process has none yet
    pid = getattr(resource_tracker._resource_tracker, "_pid", None)  # set only where started
    return {"tracker_pipe": os.fstat(fd).st_ino if fd is not None else None, "tracker_pid": pid}


def view(shm: SharedMemory) -> memoryview:
    buf = shm.buf
    assert buf is not None, "closed"
    return buf


def contents(shm: SharedMemory, sl: ShareableList[Any]) -> dict[str, Any]:
    return {"head": bytes(view(shm)[:8]).hex(" "), "crc32": zlib.crc32(view(shm)),
            "items": [sl[i] for i in range(len(sl))], "size": shm.size}


def child(conn: Any, track: str, unlink: str) -> None:
    name, list_name = conn.recv()
    opt_out: dict[str, Any] = {} if track == "default" else {"track": False}  # 3.13+
    shm = SharedMemory(name=name, **opt_out)
    sl: ShareableList[Any] = ShareableList(name=list_name)  # no track= here: it always registers
    seen = contents(shm, sl)
    mine = tracker()
    observe("child-attached",
            f"the child attached to {name} ({seen['size']} bytes; starts {seen['head']}; "
            f"crc32 {seen['crc32']:#010x}) and {list_name} {seen['items']}; it reports to the "
            f"resource tracker on pipe {mine['tracker_pipe']}", name=name, list_name=list_name,
            track=track, **seen, **mine)
    conn.send(mine)
    checkpoint("attached", "the child has read both segments; it writes next")

    note = b"child was here"[: shm.size]
    view(shm)[: len(note)] = note
    for i, item in enumerate(CHILD_ITEMS):
        sl[i] = item
    observe("child-wrote", f"the child wrote {note!r} into the block and {CHILD_ITEMS} into the "
            "list", **contents(shm, sl))
    shm.close()
    sl.shm.close()
    if unlink == "child":
        shm.unlink()
        sl.shm.unlink()
        observe("child-unlinked", f"the child unlinked both: {name} in {SHM_DIR}: {exists(name)}",
                exists=exists(name))


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait until a process that is not our child has ended (pidfd: no polling)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def parent(lab: Lab) -> None:
    size, unlink, order = lab.cfg["size"], lab.cfg["unlink"], lab.cfg["order"]
    here, there = lab.ctx.Pipe()
    if order == "start-first":  # no segment yet: under fork, no tracker for the child to inherit
        process = lab.start(child, there, lab.cfg["track"], unlink)

    shm = SharedMemory(create=True, size=size)
    view(shm)[:size] = (bytes(range(256)) * (size // 256 + 1))[:size]
    sl: ShareableList[Any] = ShareableList(ITEMS)
    made, mine = contents(shm, sl), tracker()
    observe("parent-created",
            f"the parent created {shm.name} ({made['size']} bytes; starts {made['head']}; "
            f"crc32 {made['crc32']:#010x}) and the ShareableList {sl.shm.name} {made['items']}; "
            f"it reports to the resource tracker on pipe {mine['tracker_pipe']} "
            f"(pid {mine['tracker_pid']})", name=shm.name, list_name=sl.shm.name, **made, **mine)
    checkpoint("created", "both segments exist; the child attaches by name next")

    if order == "create-first":
        process = lab.start(child, there, lab.cfg["track"], unlink)
    here.send((shm.name, sl.shm.name))
    theirs = here.recv()
    own_tracker = theirs["tracker_pipe"] != mine["tracker_pipe"]
    lab.join(process)
    if own_tracker and theirs["tracker_pid"]:
        # the child's own tracker acts once the child is gone: wait for it to finish (a fixed
        # bound, as lab.remaining() does not count step-mode pauses; the runner's deadline rules)
        ended = wait_for_exit(theirs["tracker_pid"], 5.0)
        observe("child-tracker-ended", f"the child's own resource tracker (pid "
                f"{theirs['tracker_pid']}) {'has ended' if ended else 'is still running'}",
                ended=ended, pid=theirs["tracker_pid"])

    left = {"exists": exists(shm.name), "list_exists": exists(sl.shm.name)}
    back = contents(shm, sl)  # through the parent's own mapping, which outlives any unlink
    observe("after-child-exit",
            f"the child has exited; in {SHM_DIR}: {shm.name} "
            f"{'is there' if left['exists'] else 'is gone'}, {sl.shm.name} "
            f"{'is there' if left['list_exists'] else 'is gone'}; the parent reads "
            f"{back['head']} and {back['items']}", **left, **back)
    checkpoint("child-gone", "the child has exited; the parent closes its handles"
               + (" and unlinks both" if unlink == "parent" else ""))

    shm.close()
    sl.shm.close()
    if unlink == "parent":
        for segment in (shm, sl.shm):
            try:
                segment.unlink()
                observe("parent-unlinked", f"the parent unlinked {segment.name}",
                        name=segment.name, error=None)
            except FileNotFoundError as e:
                observe("parent-unlinked", f"the parent could not unlink {segment.name}: it was "
                        f"already gone ({e.strerror})", name=segment.name, error=e.strerror)
    observe("parent-done", f"the parent closed its handles; {shm.name} in {SHM_DIR}: "
            f"{exists(shm.name)}", exists=exists(shm.name), list_exists=exists(sl.shm.name))


def findings(run: RunState) -> list[Finding]:
    made, seen = run.first("parent-created"), run.first("child-attached")
    wrote, after = run.first("child-wrote"), run.first("after-child-exit")
    unlink, python = run.config.get("unlink"), sys.version.split()[0]
    warned = [line.strip() for line in run.output().splitlines() if "leaked" in line]

    sees, sees_why = None, missing(run, "parent-created", "child-attached")
    if made and seen:
        sees = all(made[k] == seen[k] for k in ("head", "crc32", "items", "size"))
        sees_why = (f"the parent wrote {made['size']} bytes with crc32 {made['crc32']:#010x} and "
                    f"{made['items']}; attached by name, the child read {seen['size']} bytes with "
                    f"crc32 {seen['crc32']:#010x} and {seen['items']}")

    back, back_why = None, missing(run, "parent-created", "child-wrote", "after-child-exit")
    back_applies = True
    if made and wrote and (made["head"], made["items"]) == (wrote["head"], wrote["items"]):
        # a change can be seen only if it happened: without one the claim is not about this run
        back_applies = False
        back_why = (f"the child's write left {wrote['head']} and {wrote['items']} as the parent "
                    "had made them: there was no change for the parent to see")
    elif made and wrote and after:
        back = wrote["head"] == after["head"] and wrote["items"] == after["items"]
        back_why = (f"the child left {wrote['head']} and {wrote['items']}; after it exited the "
                    f"parent read {after['head']} and {after['items']}"
                    + (" (the child had unlinked both: the parent's mapping outlived the names)"
                       if unlink == "child" else ""))

    same, same_why = None, missing(run, "parent-created", "child-attached")
    if made and seen:
        same = made["tracker_pipe"] == seen["tracker_pipe"]
        same_why = (f"the parent writes to the resource tracker on pipe {made['tracker_pipe']}, "
                    f"the child to the one on pipe {seen['tracker_pipe']}, under "
                    f"{run.start_method} with --order {run.config.get('order')}")

    gone, gone_why = None, missing(run, "child-attached", "after-child-exit")
    if unlink == "child":  # a segment the child unlinked is not one "nobody unlinked"
        gone_why = "the child unlinked the segment itself; run with --unlink parent or never"
    elif (tracker := run.first("child-tracker-ended")) and not tracker["ended"]:
        gone_why = (f"the child's own resource tracker (pid {tracker['pid']}) was still running "
                    "when the parent looked, so it could not be told what it would do")
    elif after and seen:
        gone = not after["exists"]
        gone_why = (f"nobody had unlinked {seen['name']}; after the child (attached with "
                    f"track={seen['track']}) exited, it was "
                    f"{'gone' if gone else 'still'} in {SHM_DIR}, and the ShareableList's segment "
                    f"{'was gone' if not after['list_exists'] else 'was still there'}; "
                    + ("the child had a resource tracker of its own" if same is False
                       else "the child shared its parent's resource tracker")
                    + f"; Python {python}")

    return [
        Finding("attach-by-name-sees-data",
                "A child that attaches by name reads the bytes and items the parent wrote",
                sees, True, sees_why),
        Finding("parent-sees-child-write", "The parent sees what the child wrote", back, True,
                back_why, applies=back_applies),
        Finding("child-shares-parent-tracker",
                "The child reports to the same resource tracker as its parent", same, None,
                same_why),
        Finding("child-exit-removes-segment",
                "A segment nobody unlinked is removed when the child that attached to it exits",
                gone, False, gone_why, applies=unlink != "child"),
        tracker_warned(run, warned),
    ]


def tracker_warned(run: RunState, warned: list[str]) -> Finding:
    claim = "A resource tracker warned about leaked shared_memory at shutdown"
    holds = any("shared_memory" in w for w in warned)
    evidence = "; ".join(warned)[:600] or "no warning in the output of any process"
    if not holds and run.status in ("stopped", "timeout"):
        # the processes were ended before a tracker could have its say at shutdown
        how = "stopped" if run.status == "stopped" else "cut short by its timeout"
        return Finding("tracker-warns-leak", claim, None, None,
                       f"{evidence}, but the run was {how} before every process had ended")
    return Finding("tracker-warns-leak", claim, holds, None, evidence)


if __name__ == "__main__":  # saved from `statelab source`: python this_file.py [--knob value]...
    run_as_script(SPEC)
