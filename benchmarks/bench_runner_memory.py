"""The runner's peak memory, whatever a scenario prints: target at most 64 MiB.

    .venv/bin/python benchmarks/bench_runner_memory.py [--pause S] [--methods fork,spawn]

Runs the runner (what `python -m scenarios` runs) on: a quiet run (shared-value, and the test
fixture `chatter` saying nothing), 50 MiB and 200 MiB of output (chatter --megabytes), and
200,000 observe events (chatter --observations), each with a fast reader (the stream read as
it comes) and a slow one (nothing read for S seconds, then everything). The figure is the
runner's own VmHWM (peak resident set), which the runner reads from /proc/self/status after
main() has returned, once the stream is written and every process of the run reaped, just
before it exits: a small wrapper (RUNNER below) calls the same main() as `python -m scenarios`
and writes that one line on its stderr. The scenario's processes are not counted: only the
runner, which reads, folds and writes every event.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MIB = 64
RUNNER = """
import os, sys
from scenarios.engine.supervisor import main
code = main(sys.argv[1:])
sys.stdout.flush()
with open("/proc/self/status") as f:
    peak = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
os.write(2, f"runner-VmHWM-kB {peak}\\n".encode())
os._exit(code)
"""
CASES = (
    ("quiet: shared-value", ["shared-value"]),
    ("quiet: chatter", ["chatter", "--megabytes", "0"]),
    ("50 MiB of output", ["chatter", "--megabytes", "50"]),
    ("200 MiB of output", ["chatter", "--megabytes", "200"]),
    ("200,000 observations", ["chatter", "--megabytes", "0", "--observations", "200000"]),
)


def once(argv: list[str], method: str, pause: float) -> tuple[str, float | None]:
    """One run: a line about it, and the runner's peak RSS in MiB (None if it did not say)."""
    env = {**os.environ, "STATELAB_EXTRA_SCENARIOS": "chatter=tests.fixtures.chatter",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, *argv, "--start-method", method,
                             "--timeout", "120"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    if pause:
        select.select([], [], [], pause)  # the slow reader: nothing is read meanwhile
    lines, size, left_out = 0, 0, 0
    tail = pending = b""
    while chunk := proc.stdout.read1(1 << 20):  # as fast as it comes: only counted
        size += len(chunk)
        lines += chunk.count(b"\n")
        tail = (tail + chunk)[-65536:]  # the last line is run-end
        pending += chunk
        if b'"left_out"' not in pending:  # the runner's word on what the stream left out
            pending = pending[pending.rfind(b"\n") + 1 :]  # only a line cut in two
            continue
        *whole, pending = pending.split(b"\n")
        for raw in whole:
            if b'"left_out"' in raw:
                data = json.loads(raw).get("data", {})
                if isinstance(data.get("left_out"), dict):
                    left_out += int(data["left_out"]["events"])
    last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    err = proc.stderr.read().decode(errors="replace")
    proc.wait()
    took = time.monotonic() - started
    peak = next((int(line.split()[1]) / 1024 for line in err.splitlines()
                 if line.startswith("runner-VmHWM-kB ")), None)
    end = json.loads(last) if last else {}
    status = end.get("status", "?") if end.get("kind") == "run-end" else "?"
    note = f"{left_out} left out" if left_out else "none left out"
    run = float(end.get("t", 0.0)) if status != "?" else 0.0
    return (f"{status:>7}, run {run:5.2f} s (read in {took:5.1f} s), {lines:7d} lines "
            f"({size / 2**20:6.1f} MiB), {note}", peak)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pause", type=float, default=8.0, help="the slow reader's pause (s)")
    parser.add_argument("--methods", default="fork,spawn",
                        help="start methods, comma-separated (forkserver: as spawn, for the runner)")
    args = parser.parse_args()
    worst = 0.0
    print(f"the runner's peak RSS (VmHWM); target ≤ {TARGET_MIB} MiB; slow reader: nothing read "
          f"for {args.pause:g} s", flush=True)
    for name, argv in CASES:
        for method in args.methods.split(","):
            for reader, pause in (("fast", 0.0), ("slow", args.pause)):
                line, peak = once(argv, method, pause)
                worst = max(worst, peak or 0.0)
                shown = f"{peak:5.1f} MiB" if peak is not None else "    ? MiB"
                print(f"{name:<21} {method:<10} {reader} reader: {shown}  {line}", flush=True)
    verdict = "within" if worst <= TARGET_MIB else "OVER"
    print(f"worst: {worst:.1f} MiB, {verdict} the target of {TARGET_MIB} MiB")
    return 0 if worst <= TARGET_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
