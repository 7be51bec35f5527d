"""CPython gh-110660 with nothing but the standard library: a Value made inline as a Process
argument, no reference kept, then a second one.

    python3 value_gc.py START_METHOD KEEP LOCK

KEEP: true keeps a reference to each Value in the parent, false does not. LOCK: true or false,
the Value's lock= argument. The parent starts a child with Value('i', 0) made in the call; the
child adds 1. The parent then starts a second child the same way; it adds 100. Then the first
child reads its counter again, and the second child reads its own. Semaphores make them take
turns. Each child says where its counter lives (the inode of the shared file and the offset in
it, from /proc/self/maps) and what it read. Prints one JSON object.
"""

import ctypes
import json
import multiprocessing
import sys


def where(var):
    """(inode, offset in the file) of the C number var holds, as this process maps it."""
    obj = var.get_obj() if hasattr(var, "get_obj") else var
    address = ctypes.addressof(obj)
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            low, high = (int(x, 16) for x in fields[0].split("-"))
            if low <= address < high:
                return [int(fields[4]), address - low + int(fields[2], 16)]
    return None


def counter(var, step, conn, done, go):
    first = var.value
    var.value += step
    wrote = var.value
    done.release()
    go.acquire()
    conn.send({"at": where(var), "first": first, "wrote": wrote, "later": var.value})


def main():
    method, keep, lock = sys.argv[1], sys.argv[2] == "true", sys.argv[3] == "true"
    ctx = multiprocessing.get_context(method)
    kept = []
    turns = [(ctx.Semaphore(0), ctx.Semaphore(0)) for _ in range(2)]
    pipes = [ctx.Pipe(duplex=False) for _ in range(2)]
    children = []
    for n, step in enumerate((1, 100)):
        done, go = turns[n]
        if keep:
            kept.append(ctx.Value("i", 0, lock=lock))
            args = (kept[-1], step, pipes[n][1], done, go)
        else:
            args = (ctx.Value("i", 0, lock=lock), step, pipes[n][1], done, go)
        process = ctx.Process(target=counter, args=args)
        del args  # the inline case: nothing in the parent refers to the Value now
        process.start()
        children.append(process)
        while not done.acquire(timeout=0.05):
            if process.exitcode is not None:  # it could not open its Value
                sys.exit(f"child {n + 1} did not report (exit code {process.exitcode})")
    seen = []
    for n, process in enumerate(children):
        turns[n][1].release()
        seen.append(pipes[n][0].recv())
        process.join()
    print(json.dumps({"python": sys.version.split()[0], "method": method, "keep": keep,
                      "lock": lock, "children": seen,
                      "exitcodes": [p.exitcode for p in children]}))


if __name__ == "__main__":
    main()
