"""N processes add 1 to one shared Value M times, with nothing but the standard library.

    python3 race.py START_METHOD LOCK GUARD PROCESSES ITERATIONS [SECONDS] [array]

LOCK: true, false, lock (a Lock() given) or rlock. GUARD: none (`v.value += 1`) or get_lock
(`with v.get_lock(): v.value += 1`). The workers wait at a gate until all are ready. If they
have not all ended after SECONDS (default 10), they are killed: a deadlock. With `array`, the
count is element 0 of an Array('i', 1) and the line is `arr[0] += 1`. Prints one JSON object:
the expected and the final count, and whether every worker ended.
"""

import json
import multiprocessing
import sys


def worker(v, n, guard, ready, go):
    ready.release()
    go.wait()
    if guard == "get_lock":
        for _ in range(n):
            with v.get_lock():
                v.value += 1
    else:
        for _ in range(n):
            v.value += 1


def array_worker(arr, n, guard, ready, go):
    ready.release()
    go.wait()
    if guard == "get_lock":
        for _ in range(n):
            with arr.get_lock():
                arr[0] += 1
    else:
        for _ in range(n):
            arr[0] += 1


def main():
    method, mode, guard, procs, n = sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:6])
    seconds = float(sys.argv[6]) if len(sys.argv) > 6 else 10.0
    array = len(sys.argv) > 7 and sys.argv[7] == "array"
    ctx = multiprocessing.get_context(method)
    lock = {"true": True, "false": False}.get(mode) if mode in ("true", "false") else (
        ctx.Lock() if mode == "lock" else ctx.RLock())
    v = ctx.Array("i", 1, lock=lock) if array else ctx.Value("i", 0, lock=lock)
    ready, go = ctx.Semaphore(0), ctx.Event()
    target = array_worker if array else worker
    workers = [ctx.Process(target=target, args=(v, n, guard, ready, go)) for _ in range(procs)]
    for w in workers:
        w.start()
    for _ in workers:
        ready.acquire()
    go.set()
    for w in workers:
        w.join(seconds)
    ended = all(w.exitcode is not None for w in workers)
    for w in workers:
        if w.exitcode is None:
            w.kill()
            w.join()
    print(json.dumps({"python": sys.version.split()[0], "method": method, "ended": ended,
                      "expected": procs * n,
                      "final": (v[0] if array else v.value) if ended else None}))


if __name__ == "__main__":
    main()
