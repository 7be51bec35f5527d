"""Does a slow reader change the run? The runner's stream read at once, and read after a pause.

    .venv/bin/python benchmarks/bench_slow_reader.py [--megabytes N] [--pause S] [--before DIR]

Runs the test fixture `chatter` (a child that prints N MiB) under each start method, once with
its stdout read as fast as it comes and once with a reader that reads nothing for S seconds
(longer than the run's timeout), then everything. Prints, for each: the status and the time
run-end gives (the run's own clock), what the stream left out, and, for the slow reader, the
runner's peak RSS (VmHWM, read once the pause is over: the runner is then still waiting for
the reader). Target: the same status, and a run-end time within the timeout, with or without
the pause; memory bounded. With `--before DIR` (an earlier checkout) that tree's engine is run
alike.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def once(tree: Path, method: str, megabytes: int, timeout: float, pause: float) -> str:
    # the fixture, from this tree, as a top-level module: the engine is the tree's own
    env = {**os.environ, "STATELAB_EXTRA_SCENARIOS": "chatter=chatter",
           "PYTHONPATH": f"{tree}{os.pathsep}{ROOT / 'tests' / 'fixtures'}"}
    proc = subprocess.Popen([sys.executable, "-m", "scenarios", "chatter", "--megabytes",
                             str(megabytes), "--timeout", f"{timeout:g}", "--start-method", method],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tree, env=env)
    assert proc.stdout is not None
    peak = ""
    if pause:
        select.select([], [], [], pause)  # the slow reader: nothing is read meanwhile
        status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
        hwm = [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
        peak = f"runner's peak RSS {hwm[0] // 1024} MiB" if hwm else ""
    out = proc.stdout.read()
    proc.wait()
    events = [json.loads(line) for line in out.splitlines()]
    end = events[-1] if events and events[-1]["kind"] == "run-end" else {"status": "?", "t": 0.0}
    left = [e["data"]["left_out"] for e in events if "left_out" in e.get("data", {})]
    note = f"left out {sum(x['events'] for x in left)} events" if left else "nothing left out"
    return f"{end['status']:>8} at {end['t']:6.2f} s, {len(events):6d} lines, {note:<24} {peak}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--pause", type=float, default=8.0)
    parser.add_argument("--before", type=Path, help="an earlier checkout, run alike")
    args = parser.parse_args()
    trees = [("now", ROOT), *([("before", args.before)] if args.before else [])]
    print(f"chatter --megabytes {args.megabytes} --timeout {args.timeout:g}; "
          f"slow reader: {args.pause:g} s without reading")
    for method in ("fork", "spawn", "forkserver"):
        for name, tree in trees:
            for pause in (0.0, args.pause):
                reader = "slow" if pause else "fast"
                print(f"{method:<11} {name:<7} {reader} reader: "
                      f"{once(tree, method, args.megabytes, args.timeout, pause)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
