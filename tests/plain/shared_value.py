"""The lesson's shared Value program, with nothing but the standard library.

    python3 shared_value.py START_METHOD CODE EXPR [LOCK]

The parent makes Value(CODE, EXPR, lock=LOCK) (LOCK: true, false, lock or rlock; default true),
starts a child that reads it, adds 2 (or, for c and u, moves the character two code points
on), and the child reads it again. Prints one JSON object: reprs of what each process read,
both processes' id() of the Value, its type and the type of its lock.
"""

import json
import math
import multiprocessing
import sys


def child(var, conn, child_read, parent_changed):
    first = repr(var.value)
    child_read.release()
    parent_changed.acquire()
    conn.send({"child_first": first, "child_after": repr(var.value), "child_id": id(var)})


def main():
    method, code, expr = sys.argv[1:4]
    mode = sys.argv[4] if len(sys.argv) > 4 else "true"
    ctx = multiprocessing.get_context(method)
    lock = {"true": True, "false": False}.get(mode) if mode in ("true", "false") else (
        ctx.Lock() if mode == "lock" else ctx.RLock())
    value = eval(expr, {"__builtins__": {}}, {"inf": math.inf, "nan": math.nan})
    var = ctx.Value(code, value, lock=lock)
    here, there = ctx.Pipe()
    child_read, parent_changed = ctx.Semaphore(0), ctx.Semaphore(0)
    process = ctx.Process(target=child, args=(var, there, child_read, parent_changed))
    process.start()
    child_read.acquire()
    before = var.value
    if code == "c":
        var.value = bytes([(before[0] + 2) % 256])
    elif code == "u":
        var.value = chr(ord(before) + 2)
    else:
        var.value += 2
    parent_changed.release()
    seen = here.recv()
    process.join()
    lock_type = type(var.get_lock()).__name__ if hasattr(var, "get_lock") else None
    print(json.dumps({"python": sys.version.split()[0], "method": method, "type": type(var).__name__,
                      "lock_type": lock_type,
                      "created": repr(before), "parent_after": repr(var.value),
                      "parent_id": id(var), **seen}))


if __name__ == "__main__":
    main()
