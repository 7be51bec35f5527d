"""`statelab`: the app with no subcommand; `list`, `run` and `source` headless."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from scenarios.engine import catalog
from scenarios.engine.knobs import ConfigError

DEFAULT_SCENARIO = "shared-value"  # what the app shows first

USAGE = """usage: statelab [--scenario NAME] [--KNOB VALUE]... [--run] [--step]   open the app
       statelab list                                               the scenarios and their knobs
       statelab run SCENARIO [--KNOB VALUE]... [--json] [--step]   run one in this terminal
       statelab source SCENARIO                                    the scenario's source"""


def fail(message: str) -> int:
    print(f"statelab: {message}", file=sys.stderr)
    return 2


def cmd_list() -> int:
    for spec in catalog.all_specs():
        knobs = " ".join(k.flag for k in spec.knobs().values())
        mark = "lesson" if spec.from_lesson else "beyond"
        print(f"{spec.name:<15} {mark:<7} {spec.summary}")
        print(f"{'':<23} knobs: {knobs}")
    return 0


def cmd_source(args: list[str]) -> int:

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
    return app_main(args)


APP_USAGE = """\
usage: statelab [--scenario NAME] [--typecode C] [--lock MODE] [--start-method M] [--value V]
                [other knobs of the scenario] [--timeout S] [--run] [--step]

Opens the statelab app. --run runs the scenario at once; --step runs it paused at its
first checkpoint (press s to step). `statelab list` shows the scenarios and their knobs.
"""


# -- command line ---------------------------------------------------------------------------


class UsageError(Exception):
    pass


def parse_args(argv: Sequence[str]) -> tuple[str | None, dict[str, str], bool, bool]:
    """(scenario, knob options as text, run, step); UsageError with one line on bad input."""
    args = list(argv)
    scenario: str | None = None
    options: dict[str, str] = {}
    run = step = False
    while args:
        arg = args.pop(0)
        if arg in ("--run", "--step"):
            run = run or arg == "--run"
            step = step or arg == "--step"
            continue
        if not arg.startswith("--") or arg == "--":
            raise UsageError(f"unexpected argument {arg!r}; options look like --name VALUE")
        name, eq, inline = arg[2:].partition("=")
        name = name.replace("-", "_")
        if eq:
            text = inline
        elif args and not (args[0].startswith("--") and args[0][2:3].isalpha()):
            text = args.pop(0)
        else:
            raise UsageError(f"{arg} needs a value")
        if name == "scenario":
            scenario = text
        elif name in options:
            raise UsageError(f"{arg} is given twice")
        else:
            options[name] = text
    name = scenario or DEFAULT_SCENARIO
    if name not in catalog.names():
        raise UsageError(f"unknown scenario {name!r}; choose one of {', '.join(catalog.names())}")
    try:
        catalog.load(name)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    except Exception as e:
        raise UsageError(
            f"scenario {name!r} cannot be loaded yet ({type(e).__name__}: {e})") from None
    try:
        catalog.configure(name, options, step=step)
    except ConfigError as e:
        raise UsageError(str(e)) from None
    return scenario, options, run, step


def app_main(argv: list[str]) -> int:
    """`statelab [--scenario NAME] [knobs] [--run] [--step]`: open the app. Exit 2 on bad input."""
    if any(a in ("-h", "--help") for a in argv):
        print(APP_USAGE, end="")
        return 0
    try:
        scenario, options, run, step = parse_args(argv)
    except UsageError as e:
        print(f"statelab: {e}", file=sys.stderr)
        return 2
    from tui.app import StatelabApp

    app = StatelabApp(scenario, options, run=run, step=step)
    try:
        result = app.run()
    finally:
        app.kill_run_now()
    return int(result or 0)


