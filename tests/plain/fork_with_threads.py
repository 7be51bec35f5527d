"""A thread holds a module-level lock while the parent starts a child, with nothing but the
standard library.

    python3 fork_with_threads.py START_METHOD [record]

The child reports whether the lock was held when it started, its threads, and whether it got
the lock within 1 s. With `record`, the parent records every warning raised while it starts the
child; without it, the warning filters are left as a script has them, and whatever is shown
goes to stderr. Prints one JSON object.
"""

import json
import multiprocessing
import sys
import threading
import warnings

LOCK = threading.Lock()


def child(conn):
    locked = LOCK.locked()
    threads = [t.name for t in threading.enumerate()]
    took = LOCK.acquire(timeout=1.0)  # bounded: under fork it never comes
    conn.send({"locked": locked, "threads": threads, "took": took})


def main():
    method = sys.argv[1]
    record = sys.argv[2:] == ["record"]
    ctx = multiprocessing.get_context(method)
    holding, let_go = threading.Event(), threading.Event()

    def holder():
        with LOCK:
            holding.set()
            let_go.wait()

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait()
    here, there = ctx.Pipe(duplex=False)
    process = ctx.Process(target=child, args=(there,))
    caught = []
    if record:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            process.start()
    else:  # the filters as a script has them: whatever they show goes to stderr
        process.start()
    let_go.set()
    thread.join()
    found = here.recv()
    process.join()
    print(json.dumps({"python": sys.version.split()[0], "method": method, **found,
                      "warnings": [{"category": w.category.__name__, "message": str(w.message),
                                    "filename": w.filename} for w in caught]}))


if __name__ == "__main__":
    main()
