"""A lambda, a nested function and a function defined under `if __name__ == "__main__"` as
Process targets, with nothing but the standard library.

    python3 unpicklable_target.py START_METHOD

For each target: the exception start() raised in the parent, or whether the child ran it and
its exit code (a child that fails to unpickle its target writes the traceback on stderr). Prints
one JSON object.
"""

import json
import multiprocessing
import sys


def module_level(conn):
    conn.send("ran")


module_lambda = lambda conn: conn.send("ran")  # noqa: E731  (a lambda at module level)


def main():
    method = sys.argv[1]
    ctx = multiprocessing.get_context(method)

    def nested(conn):
        conn.send("ran")

    targets = {"module-level": module_level, "lambda": lambda conn: conn.send("ran"),
               "module-lambda": module_lambda, "nested": nested,
               "main-only": main_only}  # defined under the guard below
    tries = {}
    for name, target in targets.items():
        here, there = ctx.Pipe(duplex=False)
        process = ctx.Process(target=target, args=(there,))
        try:
            process.start()
        except Exception as exc:
            tries[name] = {"exception": type(exc).__name__, "message": str(exc)}
            continue
        there.close()  # ours: only the child's copy is left, so a dead child means EOF
        try:
            ran = here.recv() == "ran" if here.poll(60) else False
        except EOFError:
            ran = False
        process.join(60)
        tries[name] = {"ran": ran, "exitcode": process.exitcode}
    print(json.dumps({"python": sys.version.split()[0], "method": method, "tries": tries}))


if __name__ == "__main__":
    def main_only(conn):
        conn.send("ran")

    main()
