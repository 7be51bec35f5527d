"""SharedMemory attached by name, and the resource tracker, with nothing but the standard library.

    python3 shm_tracker.py START_METHOD ORDER UNLINK [TRACK]

ORDER: create-first (the parent creates a segment, then starts the child) or start-first
(it starts the child, then creates the segment). UNLINK: parent, child or never. TRACK:
default, or false (the child attaches with track=False, Python 3.13+).

The child attaches by name, reads, writes, closes and (UNLINK child) unlinks. Prints one JSON
object: whether a tracker was running in the parent before and after the child was started,
the pipe (its inode) each process reports to its tracker on, what the child read, what the
parent read back, and whether the segment was still in /dev/shm after the child and its own
tracker (if it had one) had ended. With UNLINK never, what the trackers do at the end is seen
by whoever runs this script: their warnings on stderr, the segment gone from /dev/shm.
"""

import json
import multiprocessing
import os
import select
import sys
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory


def tracker_pid():
    return getattr(resource_tracker._resource_tracker, "_pid", None)


def pipe():
    return os.fstat(resource_tracker.getfd()).st_ino  # getfd() starts a tracker if none runs


def child(conn, track, unlink):
    name = conn.recv()
    shm = SharedMemory(name=name, **({} if track == "default" else {"track": False}))
    read = bytes(shm.buf[:4]).hex()
    shm.buf[:4] = b"kid!"
    conn.send({"child_pipe": pipe(), "child_tracker": tracker_pid(), "child_read": read})
    shm.close()
    if unlink == "child":
        shm.unlink()


def main():
    method, order, unlink = sys.argv[1:4]
    track = sys.argv[4] if len(sys.argv) > 4 else "default"
    ctx = multiprocessing.get_context(method)
    here, there = ctx.Pipe()
    found = {"python": sys.version.split()[0], "method": method, "tracker_before": tracker_pid()}

    def start():
        process = ctx.Process(target=child, args=(there, track, unlink))
        process.start()
        found["tracker_after_start"] = tracker_pid()
        return process

    if order == "start-first":
        process = start()
    shm = SharedMemory(create=True, size=4096)
    shm.buf[:4] = b"\x00\x01\x02\x03"
    found["name"] = shm.name
    if order == "create-first":
        process = start()
    here.send(shm.name)
    found.update(here.recv())
    found["parent_pipe"] = pipe()
    process.join()
    theirs = found["child_tracker"]
    if found["child_pipe"] != found["parent_pipe"] and theirs:
        try:  # the child's own tracker acts once the child is gone: wait until it has ended
            fd = os.pidfd_open(theirs)
            select.select([fd], [], [], 5.0)
            os.close(fd)
        except ProcessLookupError:
            pass
    found["exists_after_child"] = os.path.exists(f"/dev/shm/{shm.name}")
    found["parent_read_back"] = bytes(shm.buf[:4]).decode("latin-1")
    shm.close()
    if unlink == "parent":
        try:
            shm.unlink()
            found["parent_unlinked"] = True
        except FileNotFoundError:  # somebody else's tracker unlinked it already
            found["parent_unlinked"] = False
    print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main()
