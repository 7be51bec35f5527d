"""id(1) in a parent and in two children, one after the other, with nothing but the standard
library.

    python3 small_int_id.py START_METHOD

Prints one JSON object: the parent's id(1) and each child's; whether int() gives back the one
cached object for -5 and 256 but a new one for -6 and 257; and the file whose mapping (in
/proc/self/maps) holds the object 1: the interpreter's static data.
"""

import json
import multiprocessing
import os
import sys


def child(conn):
    conn.send(id(1))


def cached(n):
    return int(str(n)) is int(str(n))


def mapped_from(address):
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            low, high = (int(x, 16) for x in fields[0].split("-"))
            if low <= address < high:
                return {"path": fields[5] if len(fields) > 5 else "", "perms": fields[1]}
    return None


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
                      "children": ids, "cached": {n: cached(n) for n in (-6, -5, 1, 256, 257)},
                      "mapping": mapped_from(id(1)), "executable": os.path.realpath(sys.executable)}))


if __name__ == "__main__":
    main()
