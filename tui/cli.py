"""`statelab`: the app with no subcommand; `list`, `run` and `source` headless."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

USAGE = """usage: statelab [--scenario NAME] [--KNOB VALUE]... [--run] [--step]   open the app
       statelab list                                               the scenarios and their knobs
       statelab run SCENARIO [--KNOB VALUE]... [--json] [--step]   run one in this terminal
       statelab source SCENARIO                                    the scenario's source"""


def fail(message: str) -> int:
    print(f"statelab: {message}", file=sys.stderr)
    return 2


def cmd_list() -> int:
    from scenarios.engine import catalog

    for spec in catalog.all_specs():
        knobs = " ".join(k.flag for k in spec.knobs().values())
        mark = "lesson" if spec.from_lesson else "beyond"
        print(f"{spec.name:<15} {mark:<7} {spec.summary}")
        print(f"{'':<23} knobs: {knobs}")
    return 0


def cmd_source(args: list[str]) -> int:
    from scenarios.engine import catalog
    from scenarios.engine.knobs import ConfigError

    if len(args) != 1:
        return fail(f"source takes one scenario name; choose one of {', '.join(catalog.names())}")
    try:
        module = catalog.load(args[0])
    except ConfigError as e:
        return fail(str(e))
    sys.stdout.write(module.source())
    return 0


def cmd_run(args: list[str]) -> int:
    from rich.console import Console

    from scenarios.engine.argv import parse_argv
    from scenarios.engine.knobs import ConfigError
    from tui.timeline import Colours, line, print_findings

    as_json = "--json" in args
    args = [a for a in args if a != "--json"]
    try:
        cfg, _ = parse_argv(args)  # refuse bad input before anything starts
    except ConfigError as e:
        return fail(str(e))
    argv = [sys.executable, "-m", "scenarios", *cfg.to_argv()]
    # stdin stays the terminal, so in step mode Enter steps; Ctrl-C reaches the runner too
    runner = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              bufsize=1)
    assert runner.stdout is not None and runner.stderr is not None
    console = Console(highlight=False)
    colour = Colours()
    events: list[dict[str, Any]] = []
    if cfg.step:
        console.print("step mode: press Enter to let the paused processes go on", style="bold")
    try:
        for raw in runner.stdout:
            if as_json:
                sys.stdout.write(raw)
                sys.stdout.flush()
                continue
            event = json.loads(raw)
            events.append(event)
            if event["kind"] != "finding":
                console.print(line(event, colour))
            if event["kind"] == "checkpoint" and (event.get("data") or {}).get("hold"):
                console.print("        ⏸  paused — press Enter to step", style="bold yellow")
    except KeyboardInterrupt:
        pass  # the runner got the same SIGINT and stops the run; read its last words below
    finally:
        code = runner.wait()
    problem = runner.stderr.read().strip()
    if problem:
        print(problem, file=sys.stderr)
    if not as_json:
        from scenarios.engine import catalog

        source = "the lesson" if catalog.get(cfg.scenario).from_lesson else "common belief"
        print_findings(events, console, source)
    return code


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if args and args[0] == "list":
        return cmd_list() if len(args) == 1 else fail("list takes no arguments")
    if args and args[0] == "source":
        return cmd_source(args[1:])
    if args and args[0] == "run":
        return cmd_run(args[1:])
    from tui.app import main as app_main

    return app_main(args)
