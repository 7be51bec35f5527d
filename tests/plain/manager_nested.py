"""A list inside a managed dict, changed by a child, with nothing but the standard library.

    python3 manager_nested.py START_METHOD

The parent makes manager.dict(plain=[], reassigned=[], nested=manager.list()) and starts a
child with the dict proxy. The child appends to d['plain'], appends to a copy of
d['reassigned'] and assigns it back, and appends to d['nested']. Prints one JSON object: the
type the child read under each key, and each list as the parent reads it after the child ended.
"""

import json
import multiprocessing
import sys

KEYS = ("plain", "reassigned", "nested")


def child(shared, conn):
    types = {key: type(shared[key]).__name__ for key in KEYS}
    shared["plain"].append("child")
    copy = shared["reassigned"]
    copy.append("child")
    shared["reassigned"] = copy
    shared["nested"].append("child")
    conn.send(types)


def main():
    method = sys.argv[1]
    ctx = multiprocessing.get_context(method)
    with ctx.Manager() as manager:
        shared = manager.dict(plain=[], reassigned=[], nested=manager.list())
        here, there = ctx.Pipe(duplex=False)
        process = ctx.Process(target=child, args=(shared, there))
        process.start()
        types = here.recv()
        process.join()
        after = {key: list(shared[key]) for key in KEYS}
    print(json.dumps({"python": sys.version.split()[0], "method": method, "types": types,
                      "after": after, "exitcode": process.exitcode}))


if __name__ == "__main__":
    main()
