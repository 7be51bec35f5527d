"""The sampler's CPU with 100 processes live (target: at most 2% of one core), issue 10's "Speed".

Starts 100 idle real processes, as a run has them: a runner (a fresh interpreter, this file with
--runner) and its 99 children (multiprocessing, fork), which sleep until killed. Then, in this
process, two windows of the same length:

- baseline: the sampler not running; this process's CPU time over the window;
- sampled: tui/sampler.py's Sampler over them (the runner's pid, and the children's pids as the
  events would name them) in a thread, as the app runs it, its post only counting the passes;
  the CPU time of the sampler's thread (time.thread_time() around its loop), and this process's.

It prints the sampler thread's CPU as a % of one core against the target, the process's CPU in
both windows (the difference is the sampler's cost seen from outside the thread), the passes and
what one costs (the first reads each process's command line, so it costs more), and the cost
once the first pass is done (a later pass's median over the interval: the run's steady state).
The target is judged on the whole window, first pass included. At 100 processes
the sampler spaces its passes 2 s apart (tui/sampler.py, interval_for).

Every process it started is killed on every way out: the runner's process group is killed in a
finally (SIGTERM to this benchmark runs it too), and the runner kills its children when its stdin
closes (when this benchmark dies, even by SIGKILL).

    .venv/bin/python benchmarks/bench_sampler.py [--seconds 10] [--processes 100]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from textual.message import Message

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tui.messages import Samples
from tui.sampler import Sampler, interval_for

ROOT = Path(__file__).resolve().parent.parent
TARGET = 2.0  # % of one core


# -- the runner: a fresh interpreter whose children sleep ---------------------------------------

def runner(children: int, lifetime: float) -> int:
    """Start the children, print their pids (one JSON line), wait for stdin to close, kill them."""
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=time.sleep, args=(lifetime,), daemon=True)
             for _ in range(children)]
    try:
        for p in procs:
            p.start()
        print(json.dumps([p.pid for p in procs]), flush=True)
        sys.stdin.read()  # until the benchmark closes it, or dies
    finally:
        for p in procs:
            if p.pid is not None:
                p.kill()
        for p in procs:
            if p.pid is not None:
                p.join(5)
    return 0


# -- the benchmark ----------------------------------------------------------------------------

class TimedSampler(Sampler):
    """The Sampler, timing each pass in its own thread's CPU time."""

    def __init__(self, runner_pid: int, known: Callable[[], set[int]],
                 post: Callable[[Message], object]) -> None:
        super().__init__(1, runner_pid, known, post)  # the default interval, as the app has it
        self.costs: list[float] = []

    def sample(self) -> Samples:
        t0 = time.thread_time()
        found = super().sample()
        self.costs.append(time.thread_time() - t0)
        return found


def start_runner(children: int, lifetime: float) -> tuple[subprocess.Popen[str], list[int]]:
    proc = subprocess.Popen([sys.executable, __file__, "--runner", str(children),
                             "--lifetime", str(lifetime)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, start_new_session=True)  # its own process group
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"the runner ended before starting its children ({proc.wait()})")
    return proc, list(json.loads(line))


def stop_runner(proc: subprocess.Popen[str], pids: list[int]) -> None:
    """Kill the runner and its children (its process group), and check that none is left."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc.stdin is not None:
        proc.stdin.close()
    proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()
    children = []
    for pid in pids:
        try:
            children.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    left = []
    for p in psutil.wait_procs(children, timeout=5)[1]:  # SIGKILL was sent: they are ending
        try:
            if p.status() != psutil.STATUS_ZOMBIE:  # reparented zombies are init's to reap
                p.kill()
                left.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    if left:
        print(f"({len(left)} children outlived their runner: killed)")


def process_cpu(seconds: float) -> float:
    """% of one core this process used over a window of seconds, doing nothing."""
    c0, t0 = time.process_time(), time.perf_counter()
    time.sleep(seconds)  # the window itself
    return 100.0 * (time.process_time() - c0) / (time.perf_counter() - t0)


def sampled(runner_pid: int, pids: list[int], seconds: float) -> dict[str, float]:
    passes = 0
    known = set(pids)

    def post(message: Message) -> None:
        nonlocal passes
        passes += 1

    sampler = TimedSampler(runner_pid, known.copy, post)
    figures: dict[str, float] = {}

    def body() -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            sampler.loop()
        finally:
            figures["thread_cpu"] = time.thread_time() - c0
            figures["thread_wall"] = time.perf_counter() - t0

    thread = threading.Thread(target=body, name="sampler", daemon=True)
    c0, t0 = time.process_time(), time.perf_counter()
    thread.start()
    try:
        time.sleep(seconds)  # the window itself
    finally:
        sampler.stop()
        thread.join(30)
    wall = time.perf_counter() - t0
    figures["process"] = 100.0 * (time.process_time() - c0) / wall
    figures["thread"] = 100.0 * figures["thread_cpu"] / figures["thread_wall"]
    figures["passes"] = passes
    figures["first"] = sampler.costs[0] if sampler.costs else 0.0
    figures["later"] = statistics.median(sampler.costs[1:]) if len(sampler.costs) > 1 else 0.0
    figures["seen"] = len(sampler.pids())
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="each window (default 10)")
    parser.add_argument("--processes", type=int, default=100,
                        help="processes sampled: the runner and its children (default 100)")
    parser.add_argument("--runner", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--lifetime", type=float, default=600.0, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.runner is not None:
        return runner(options.runner, options.lifetime)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally below runs
    # the children end by themselves after this long, whatever happens to both parents
    lifetime = 2 * options.seconds + 120.0
    proc, pids = start_runner(options.processes - 1, lifetime)
    try:
        time.sleep(1.0)  # settle: the children have started
        idle = process_cpu(options.seconds)
        f = sampled(proc.pid, pids, options.seconds)
    finally:
        stop_runner(proc, pids)
    print(f"{int(f['seen'])} idle processes sampled (a runner and its children), one pass every "
          f"{interval_for(int(f['seen'])):g} s: {int(f['passes'])} passes in "
          f"{f['thread_wall']:.1f} s")
    print(f"  one pass: first {f['first'] * 1000:.1f} ms of CPU (reads each command line), "
          f"then median {f['later'] * 1000:.1f} ms")
    print(f"baseline, sampler not running: this process {idle:.2f}% of one core "
          f"over {options.seconds:g} s")
    print(f"sampler running: this process {f['process']:.2f}% of one core "
          f"({f['process'] - idle:+.2f} points over the baseline)")
    print(f"sampler thread: {f['thread']:.2f}% of one core "
          f"(target: at most {TARGET:g}%: {'within' if f['thread'] <= TARGET else 'OVER'})")
    if f["later"]:
        steady = 100.0 * f["later"] / interval_for(int(f["seen"]))
        print(f"  after the first pass: {steady:.2f}% of one core (a later pass's median CPU over "
              f"the interval between passes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
