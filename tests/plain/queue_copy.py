"""The lesson's dict-through-a-Queue program, with nothing but the standard library.

    python3 queue_copy.py START_METHOD [MUTATE]

MUTATE: after-get (the parent changes its dict once the child has it) or right-after-put (the
parent changes it straight after put(), before the child is started). Prints one JSON object:
what the child received and had after the change, the parent's dict, and both ids.
"""

import json
import multiprocessing
import sys


def child(q, conn, child_got, parent_changed):
    var = q.get()
    received = dict(var)
    child_got.release()
    parent_changed.acquire()
    conn.send({"received": received, "child_after": dict(var), "child_id": id(var)})


def main():
    method = sys.argv[1]
    mutate = sys.argv[2] if len(sys.argv) > 2 else "after-get"
    ctx = multiprocessing.get_context(method)
    q = ctx.Queue()
    here, there = ctx.Pipe()
    child_got, parent_changed = ctx.Semaphore(0), ctx.Semaphore(0)
    var = {"key": "value"}
    put_id = id(var)
    q.put(var)
    if mutate == "right-after-put":
        var["key"] = "new-value"
    process = ctx.Process(target=child, args=(q, there, child_got, parent_changed))
    process.start()
    child_got.acquire()
    var["key"] = "new-value"
    parent_changed.release()
    found = here.recv()
    process.join()
    print(json.dumps({"python": sys.version.split()[0], "method": method, "parent": var,
                      "parent_id": put_id, **found}))


if __name__ == "__main__":
    main()
