"""Module-level globals and start methods, with nothing but the standard library.

    python3 globals.py START_METHOD

The parent sets the module-level COUNTER to 10 and appends "parent" to the module-level ITEMS,
then starts two children one after the other; each reports what it read, adds 1 and appends.
The module records the pid that ran its top level. Prints one JSON object: what each child
read and whether it ran the module's top level itself, and what the parent reads at the end.
"""

import json
import multiprocessing
import os
import sys

COUNTER = 0
ITEMS = []
LOADED_IN = os.getpid()


def child(conn):
    global COUNTER
    read = {"counter": COUNTER, "items": list(ITEMS), "own_import": os.getpid() == LOADED_IN}
    COUNTER += 1
    ITEMS.append("child")
    conn.send(read)


def main():
    global COUNTER
    method = sys.argv[1]
    ctx = multiprocessing.get_context(method)
    COUNTER = 10
    ITEMS.append("parent")
    here, there = ctx.Pipe(duplex=False)
    seen = []
    for _ in range(2):
        process = ctx.Process(target=child, args=(there,))
        process.start()
        seen.append(here.recv())
        process.join()
    print(json.dumps({"python": sys.version.split()[0], "method": method, "children": seen,
                      "parent_after": {"counter": COUNTER, "items": ITEMS}}))


if __name__ == "__main__":
    main()
