"""Does statelab slow the race down? The scenario's rate against a plain script's, same run.

    .venv/bin/python benchmarks/bench_race.py [--repeats N] [--start-method M]

For each case (lock mode, guard) it runs, alternately, `python -m scenarios race`
and the same loop in a plain script (this file with --plain: no runner, no
probe, no events), each in a fresh interpreter, and reads the increments per
second both measured the same way: all increments over the time from the first
worker's start to the last worker's end. It prints the medians and their ratio;
the target is a ratio within 5% of 1.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CASES = [("false", "none"), ("true", "none"), ("true", "get_lock")]
TARGET = 0.05


# -- the plain script: what the scenario does, without statelab -----------------------------

def plain_worker(counter: Any, iterations: int, guard: str, ready: Any, go: Any, clock: Any,
                 cpus: Any, slot: int) -> None:
    ready.release()
    go.wait()
    start, cpu = time.monotonic(), time.process_time()
    if guard == "get_lock":
        for _ in range(iterations):
            with counter.get_lock():
                counter.value += 1
    else:
        for _ in range(iterations):
            counter.value += 1
    clock[2 * slot], clock[2 * slot + 1] = start, time.monotonic()
    cpus[slot] = time.process_time() - cpu


def plain_race(method: str, lock: str, guard: str, processes: int,
               iterations: int) -> tuple[float, float]:
    ctx = multiprocessing.get_context(method)
    counter = ctx.Value("i", 0, lock=lock == "true")
    ready, go, clock = ctx.Semaphore(0), ctx.Event(), ctx.RawArray("d", 2 * processes)
    cpus = ctx.RawArray("d", processes)
    workers = [ctx.Process(target=plain_worker,  # type: ignore[attr-defined]
                           args=(counter, iterations, guard, ready, go, clock, cpus, i))
               for i in range(processes)]
    for w in workers:
        w.start()
    for _ in workers:
        ready.acquire()
    go.set()
    for w in workers:
        w.join()
    seconds: float = max(clock[1::2]) - min(clock[0::2])
    return processes * iterations / seconds, statistics.median(iterations / c for c in cpus)


# -- the benchmark --------------------------------------------------------------------------

def scenario_rate(method: str, lock: str, guard: str, processes: int,
                  iterations: int) -> tuple[float, float]:
    """(all increments per wall second, median of the workers' increments per CPU second)."""
    done = subprocess.run(
        [sys.executable, "-m", "scenarios", "race", "--start-method", method, "--lock", lock,
         "--guard", guard, "--processes", str(processes), "--iterations", str(iterations)],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    observed = [e["data"] for e in map(json.loads, done.stdout.splitlines())
                if e["kind"] == "observe"]
    result = [d for d in observed if d["what"] == "result"]
    if result:
        per_cpu = [d["count"] / d["cpu_seconds"] for d in observed if d["what"] == "worker-done"]
        return float(result[0]["rate"]), statistics.median(per_cpu)
    raise RuntimeError(f"the race reported no result: {done.stdout[-500:]} {done.stderr[-500:]}")


def plain_rate(method: str, lock: str, guard: str, processes: int,
               iterations: int) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--plain", method, lock, guard, str(processes),
         str(iterations)], capture_output=True, text=True, timeout=60, check=True)
    wall, cpu = done.stdout.split()
    return float(wall), float(cpu)


def spread(rates: list[float]) -> float:
    return (max(rates) - min(rates)) / statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--start-method", default="fork", choices=("fork", "spawn", "forkserver"))
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=500_000)
    ap.add_argument("--plain", nargs=5, metavar=("METHOD", "LOCK", "GUARD", "P", "M"))
    args = ap.parse_args()
    if args.plain:
        method, lock, guard, p, m = args.plain
        print(*plain_race(method, lock, guard, int(p), int(m)))
        return

    n, m, method = args.processes, args.iterations, args.start_method
    print(f"race: {n} processes × {m:,} increments, {method}, median of {args.repeats} "
          f"(Python {sys.version.split()[0]})")
    print(f"{'':16}{'per wall second (all workers)':^40}  {'per CPU second (one worker)':^40}")
    head = f"{'scenario':>12} {'plain':>12} {'ratio':>6} {'spread':>7}"
    print(f"{'lock':<6} {'guard':<9}{head}{head}")
    for lock, guard in CASES:
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        for i in range(args.repeats):  # alternate, so a busy moment hits both sides alike
            pair = (scenario_rate, plain_rate) if i % 2 == 0 else (plain_rate, scenario_rate)
            for fn in pair:
                (ours if fn is scenario_rate else theirs).append(fn(method, lock, guard, n, m))
        row = f"{lock:<6} {guard:<9}"
        for k in (0, 1):
            a = statistics.median(r[k] for r in ours)
            b = statistics.median(r[k] for r in theirs)
            swing = spread([r[k] for r in ours + theirs])
            row += f"{a:>12,.0f} {b:>12,.0f} {a / b:>6.3f} {swing:>7.0%}"
        print(row)
    print(f"target: ratio within {TARGET:.0%} of 1. spread = (max - min) / median over all runs "
          "of the row: a contended lock, and a busy machine, make rates swing.")


if __name__ == "__main__":
    main()
