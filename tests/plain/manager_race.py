"""Two processes add 1 to a Manager's Value through their proxies, with nothing but the standard
library.

    python3 manager_race.py START_METHOD ITERATIONS

Each `v.value += 1` on a proxy is a get and then a set, two requests to the server. Prints one
JSON object: the expected and the final count.
"""

import json
import multiprocessing
import sys


def worker(v, n, ready, go):
    ready.release()
    go.wait()
    for _ in range(n):
        v.value += 1


def main():
    method, n = sys.argv[1], int(sys.argv[2])
    ctx = multiprocessing.get_context(method)
    with ctx.Manager() as manager:
        v = manager.Value("i", 0)
        ready, go = ctx.Semaphore(0), ctx.Event()
        workers = [ctx.Process(target=worker, args=(v, n, ready, go)) for _ in range(2)]
        for w in workers:
            w.start()
        for _ in workers:
            ready.acquire()
        go.set()
        for w in workers:
            w.join()
        final = v.value
    print(json.dumps({"python": sys.version.split()[0], "method": method, "expected": 2 * n,
                      "final": final}))


if __name__ == "__main__":
    main()
