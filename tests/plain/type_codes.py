"""What Value(code, x) stores, read back by a child, with nothing but the standard library.

    python3 type_codes.py START_METHOD CODE=EXPR [CODE=EXPR ...]

Each EXPR is a Python expression (`128`, `2**40`, `'a'`, `nextafter(FLT_MAX, inf)`); FLT_MAX
and DBL_MAX are the largest finite C float and double. The parent tries Value(CODE, EXPR,
lock=False) for each; a child started with every Value that could be made reads each back.
Prints one JSON object: for each CODE=EXPR, {"raised": the exception's name or null,
"message": its text, "read": repr() of what the child read, or null}.
"""

import ctypes
import json
import math
import multiprocessing
import struct
import sys

FLT_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]  # the largest finite C float
DBL_MAX = sys.float_info.max
NAMES = {"inf": math.inf, "nan": math.nan, "nextafter": math.nextafter, "FLT_MAX": FLT_MAX,
         "DBL_MAX": DBL_MAX}


def child(conn, made):
    conn.send({key: repr(var.value) for key, var in made})
    conn.close()


def main():
    method, tries = sys.argv[1], sys.argv[2:]
    ctx = multiprocessing.get_context(method)
    found, made = {}, []
    for key in tries:
        code, expr = key.split("=", 1)
        value = eval(expr, {"__builtins__": {}}, NAMES)
        try:
            made.append((key, ctx.Value(code, value, lock=False)))
            found[key] = {"raised": None, "message": None}
        except Exception as exc:
            found[key] = {"raised": type(exc).__name__, "message": str(exc), "read": None}
    here, there = ctx.Pipe()
    process = ctx.Process(target=child, args=(there, made))
    process.start()
    for key, read in here.recv().items():
        found[key]["read"] = read
    process.join()
    sizes = {code: ctypes.sizeof(ctx.Value(code, lock=False)) for code in "cubBhHiIlLqQfd"}
    print(json.dumps({"python": sys.version.split()[0], "method": method, "tries": found,
                      "sizes": sizes}))


if __name__ == "__main__":
    main()
