"""id(1) in a parent and in two children, one after the other, with nothing but the standard
library.

    python3 small_int_id.py START_METHOD

Prints one JSON object: the parent's id(1) and each child's.
"""

import json
import multiprocessing
import sys


def child(conn):
    conn.send(id(1))


def main():
    method = sys.argv[1]
    ctx = multiprocessing.get_context(method)
    ids = []
    for _ in range(2):
        here, there = ctx.Pipe()
        process = ctx.Process(target=child, args=(there,))
        process.start()
        ids.append(here.recv())
        process.join()
    print(json.dumps({"python": sys.version.split()[0], "method": method, "parent": id(1),
                      "children": ids}))


if __name__ == "__main__":
    main()
