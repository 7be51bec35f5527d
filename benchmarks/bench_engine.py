"""What a headless run costs: `python -m scenarios shared-value` against the plain script.

Both are started the same way (a fresh interpreter, output to a pipe), alternately, in the
same run; the ratio of the medians is printed per start method. Target: at most 1.5.

    .venv/bin/python benchmarks/bench_engine.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
TARGET = 1.5


def once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True, cwd=ROOT)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    py = sys.executable
    print(f"{'start method':<12} {'plain (ms)':>11} {'statelab (ms)':>14} {'ratio':>7}  target ≤ {TARGET}")
    worst = 0.0
    for method in ("fork", "spawn", "forkserver"):
        plain = [py, str(HERE / "plain_shared_value.py"), method]
        lab = [py, "-m", "scenarios", "shared-value", "--start-method", method]
        once(plain), once(lab)  # warm the file cache
        a, b = [], []
        for _ in range(args.repeat):  # alternate, so drift in machine load hits both alike
            a.append(once(plain))
            b.append(once(lab))
        ratio = statistics.median(b) / statistics.median(a)
        worst = max(worst, ratio)
        print(f"{method:<12} {statistics.median(a) * 1000:>11.1f} {statistics.median(b) * 1000:>14.1f} "
              f"{ratio:>7.2f}")
    print(f"worst ratio {worst:.2f}: {'within' if worst <= TARGET else 'OVER'} the target")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
