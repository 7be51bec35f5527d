"""The lesson's shared Array program, with nothing but the standard library.

    python3 shared_array.py START_METHOD CODE [STORE]

The parent makes Array(CODE, range(5)) (five letters for c and u), starts a child that reads
arr[0], does arr[0] += 100 (for c and u: moves it two code points on), and the child reads it
again. With STORE (an integer), the parent also stores it in arr[1] and reads it back.
Prints one JSON object: what the child read before and after, and what arr[1] holds.
"""

import json
import multiprocessing
import sys


def child(arr, conn, child_read, parent_changed):
    first = arr[0]
    child_read.release()
    parent_changed.acquire()
    conn.send({"child_first": repr(first), "child_after": repr(arr[0]),
               "child_items": [repr(x) for x in arr]})


def main():
    method, code = sys.argv[1], sys.argv[2]
    ctx = multiprocessing.get_context(method)
    initial = {"c": b"abcde", "u": "abcde"}.get(code, range(5))
    arr = ctx.Array(code, initial)
    here, there = ctx.Pipe()
    child_read, parent_changed = ctx.Semaphore(0), ctx.Semaphore(0)
    process = ctx.Process(target=child, args=(arr, there, child_read, parent_changed))
    process.start()
    child_read.acquire()
    if code == "c":
        arr[0] = bytes([arr[0][0] + 2])
    elif code == "u":
        arr[0] = chr(ord(arr[0]) + 2)
    else:
        arr[0] += 100
    parent_changed.release()
    found = here.recv()
    process.join()
    if len(sys.argv) > 3:
        arr[1] = int(sys.argv[3])
        found["stored"] = arr[1]
    found["length"] = len(arr)
    print(json.dumps({"python": sys.version.split()[0], "method": method, **found}))


if __name__ == "__main__":
    main()
