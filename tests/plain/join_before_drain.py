"""Children that put bytes on a Queue nobody reads yet, with nothing but the standard library.

    python3 join_before_drain.py START_METHOD WAIT SIZE...

One child per SIZE puts that many bytes on a queue of its own. Once every put() has returned,
each child gets WAIT seconds to end. Then the parent looks at how many bytes wait in each
queue's pipe (FIONREAD on its read end: the whole message when the child could write it all,
the pipe's capacity when the pipe is full), reads each queue and joins. Prints one JSON object:
the capacity of a fresh pipe, and for each size whether the child ended on its own, the bytes
that were in the pipe, and the child's exit code.
"""

import array
import fcntl
import json
import multiprocessing
import os
import sys
import termios
import time
from multiprocessing.connection import wait


def child(q, size, done):
    q.put(bytes(size))
    done.release()


def in_pipe(fd):
    n = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, n)
    return n[0]


def main():
    method, seconds, sizes = sys.argv[1], float(sys.argv[2]), [int(a) for a in sys.argv[3:]]
    ctx = multiprocessing.get_context(method)
    r, w = os.pipe()
    capacity = fcntl.fcntl(w, fcntl.F_GETPIPE_SZ)
    os.close(r)
    os.close(w)
    done = ctx.Semaphore(0)
    tries = []
    for size in sizes:
        q = ctx.Queue()
        p = ctx.Process(target=child, args=(q, size, done))
        p.start()
        tries.append((size, q, p))
    for _ in tries:
        assert done.acquire(timeout=60)
    pending = {p.sentinel for _, _, p in tries}
    until = time.monotonic() + seconds
    while pending and time.monotonic() < until:
        pending -= set(wait(list(pending), until - time.monotonic()))
    found = {}
    for size, q, p in tries:
        alone = p.sentinel not in pending
        waiting = in_pipe(q._reader.fileno())  # the queue's read end: no public way to it
        got = q.get(timeout=60)
        p.join(60)
        found[str(size)] = {"alone": alone, "in_pipe": waiting, "got": len(got),
                            "exitcode": p.exitcode}
    print(json.dumps({"python": sys.version.split()[0], "method": method, "capacity": capacity,
                      "tries": found}))


if __name__ == "__main__":
    main()
