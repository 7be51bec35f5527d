"""A Manager's dict and Value, with nothing but the standard library.

    python3 manager.py START_METHOD CODE

The parent starts a Manager, makes manager.dict() and manager.Value(CODE, 1), and puts both
proxies on a Queue for a child, which changes the dict and stores 2**70 + 1 in the Value. The
parent stores 2**70 and a str in the manager's Value and in a shared ctypes Value(CODE), puts
the ctypes Value on a Queue followed by a marker, and times N increments through the proxy
against N on the shared Value with get_lock(). Prints one JSON object.
"""

import json
import multiprocessing
import sys
import time

N = 2000


def child(q):
    shared_dict, value = q.get(timeout=10), q.get(timeout=10)
    shared_dict["changed_by"] = "child"
    value.value = 2**70 + 1


def store(var, written):
    try:
        var.value = written
    except Exception as exc:
        return {"raised": type(exc).__name__}
    return {"raised": None, "read": repr(var.value)}


def main():
    method, code = sys.argv[1], sys.argv[2]
    ctx = multiprocessing.get_context(method)
    found = {"python": sys.version.split()[0], "method": method}
    with ctx.Manager() as manager:
        shared_dict = manager.dict(changed_by="nobody")
        value = manager.Value(code, 1)
        shared = ctx.Value(code, 1)
        found["manager"] = {repr(w): store(value, w) for w in (2**70, "text")}
        found["ctypes"] = {repr(w): store(shared, w) for w in (2**70, "text")}
        q = ctx.Queue()
        process = ctx.Process(target=child, args=(q,))
        process.start()
        q.put(shared_dict)
        q.put(value)
        process.join()
        found["child_exitcode"] = process.exitcode
        found["dict_after_child"] = shared_dict.copy()
        found["value_after_child"] = repr(value.value)

        contrast = ctx.Queue()
        contrast.put(shared)
        contrast.put("marker")
        found["first_out"] = repr(contrast.get(timeout=10))
        contrast.close()
        contrast.join_thread()

        counter, raw = manager.Value("q", 0), ctx.Value("q", 0)
        start = time.perf_counter()
        for _ in range(N):
            counter.value += 1
        proxy = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(N):
            with raw.get_lock():
                raw.value += 1
        found["ratio"] = proxy / (time.perf_counter() - start)
    print(json.dumps(found), flush=True)


if __name__ == "__main__":
    main()
