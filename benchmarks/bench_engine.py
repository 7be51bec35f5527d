"""What a headless run costs: `python -m scenarios shared-value` against the plain script.

Both are started the same way (a fresh interpreter, output to a pipe), alternately, in the
same run; the ratio of the medians is printed per start method. Target: at most 1.25.
With `--before DIR` (a checkout of an earlier commit, e.g. `git worktree add DIR REV`), that
tree's engine is timed in the same rounds too, so before and after are side by side.

    .venv/bin/python benchmarks/bench_engine.py [--repeat N] [--before DIR]
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
TARGET = 1.25


def once(argv: list[str], cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True, cwd=cwd)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--before", type=Path, help="an earlier checkout, timed alongside")
    args = parser.parse_args()
    py = sys.executable
    for tree in (ROOT, *([args.before] if args.before else [])):
        # as installed: with PYTHONDONTWRITEBYTECODE set (as here) a changed module would be
        # compiled again on every run, and the time measured would be the compiler's
        compileall.compile_dir(tree / "scenarios", quiet=2)
    head = f"{'start method':<12} {'plain (ms)':>11} {'statelab (ms)':>14} {'ratio':>7}"
    if args.before:
        head += f" {'before (ms)':>12} {'ratio':>7}"
    print(f"{head}  target ≤ {TARGET}")
    worst = 0.0
    for method in ("fork", "spawn", "forkserver"):
        plain = [py, str(HERE / "plain_shared_value.py"), method]
        lab = [py, "-m", "scenarios", "shared-value", "--start-method", method]
        trees = [ROOT, *([args.before] if args.before else [])]
        once(plain)
        for tree in trees:  # warm the file cache
            once(lab, tree)
        a: list[float] = []
        b: dict[Path, list[float]] = {tree: [] for tree in trees}
        for _ in range(args.repeat):  # alternate, so drift in machine load hits all alike
            a.append(once(plain))
            for tree in trees:
                b[tree].append(once(lab, tree))
        base = statistics.median(a)
        ratio = statistics.median(b[ROOT]) / base
        worst = max(worst, ratio)
        row = f"{method:<12} {base * 1000:>11.1f} {statistics.median(b[ROOT]) * 1000:>14.1f} {ratio:>7.2f}"
        if args.before:
            old = statistics.median(b[args.before])
            row += f" {old * 1000:>12.1f} {old / base:>7.2f}"
        print(row)
    print(f"worst ratio {worst:.2f}: {'within' if worst <= TARGET else 'OVER'} the target")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
