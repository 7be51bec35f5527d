"""`statelab`, the command: the program loads with the garbage collector paused.

Loading Textual and statelab makes some 100,000 objects that live as long as the program, and
no garbage. With the collector on, that much allocation brings one full pass over all of it
just before the app's first frame (20 to 30 ms on this machine; benchmarks/bench_app_startup.py
measures the first frame against a bare Textual app). Paused here, the collector is turned
back on by `tui.cli` as soon as it knows what it runs: at once for a subcommand, after the app's
modules are loaded (and frozen: left out of later passes) for the app.
"""

from __future__ import annotations

import gc
import sys


def main() -> int:
    gc.disable()
    try:
        from tui.cli import main as command_line

        return command_line(sys.argv[1:])
    finally:
        gc.enable()  # whatever the way out (a refusal, --help): never left paused
