"""The lesson's shared Array program, with nothing but the standard library.

    python3 shared_array.py START_METHOD CODE [STORE] [LOCK]

The parent makes Array(CODE, range(5), lock=LOCK) (five letters for c and u; LOCK true or false,
default true), starts a child that reads arr[0], does arr[0] += 100 (for c and u: moves it two
code points on), and the child reads it again. With STORE (an integer, or - for none), the parent
also stores it in arr[1] and reads it back, then tries to make the array longer. Prints one JSON
object: the Array's type, what the child read before and after, what arr[1] holds, what the
attempts to grow it raised, and what Array(CODE, range(5)) does for c and u.
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


def attempt(action):
    try:
        action()
    except Exception as exc:
        return type(exc).__name__
    return None


def main():
    method, code = sys.argv[1], sys.argv[2]
    store = sys.argv[3] if len(sys.argv) > 3 else "-"
    lock = (sys.argv[4] if len(sys.argv) > 4 else "true") == "true"
    ctx = multiprocessing.get_context(method)
    initial = {"c": b"abcde", "u": "abcde"}.get(code, range(5))
    arr = ctx.Array(code, initial, lock=lock)
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
    found["type"] = type(arr).__name__
    if store != "-":
        arr[1] = int(store)
        found["stored"] = arr[1]
        found["grow"] = {"index 5": attempt(lambda: arr.__setitem__(5, 1)),
                         "six items": attempt(lambda: arr.__setitem__(slice(None), range(6)))}
    found["length"] = len(arr)
    found["numbers"] = {c: attempt(lambda c=c: ctx.Array(c, range(5))) for c in "cu"}
    print(json.dumps({"python": sys.version.split()[0], "method": method, **found}))


if __name__ == "__main__":
    main()
