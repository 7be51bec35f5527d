"""`statelab`: the app with no subcommand; `list`, `run` and `source` headless.

Every command line here is an argparse parser (scenarios.engine.argv): a scenario's knobs come
from its spec, with their allowed values and defaults in the help; bad input is one line on
stderr and exit status 2, and nothing is started.
"""

from __future__ import annotations

import gc
import importlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence

from scenarios.engine import catalog
from scenarios.engine.argv import (
    PACE,
    HelpShown,
    Option,
    Parser,
    build_parser,
    check_control_input,
    describe,
    pace_of,
    parse_scenario,
    read,
    tidy,
)
from scenarios.engine.ctypes_table import quote
from scenarios.engine.knobs import ConfigError, Scenario

DEFAULT_SCENARIO = catalog.DEFAULT  # what the app shows first
# subcommands with a module of their own: each module's main(args) -> exit status
MORE = {"sweep": "tui.sweep", "serve": "tui.serve"}

USAGE = """statelab [--scenario NAME] [--KNOB VALUE]... [--run] [--step] [--pace SECONDS]
       statelab list
       statelab run SCENARIO [--KNOB VALUE]... [--json] [--step] [--pace SECONDS]
                    [--python PATH_OR_VERSION]
       statelab source SCENARIO
       statelab replay FILE [--at-once]"""
APP_USAGE = USAGE  # the app's parser is the program's top level: its usage names every command

APP_DESCRIPTION = """\
Opens the statelab app on a scenario (--scenario) with its knobs set as given. --run runs it at
once; --step runs it paused at its first checkpoint (press s to step); --pace SECONDS holds every
process that long at each checkpoint of a run, then lets it go on (p in the app changes it).

subcommands:
  list               the scenarios, their knobs with allowed values and defaults
  run SCENARIO       run one in this terminal (statelab run SCENARIO --help: its knobs)
  source SCENARIO    the scenario's source, a script that runs with python3
  sweep SCENARIO     run it once per start method, lock mode, type code or Python: a matrix
  serve              serve the app to a browser (textual-serve)
  replay FILE        open the app on a transcript (saved, exported, or python -m scenarios')"""

RUN_OPTIONS = (Option("--json", "print the raw events as JSON lines"),
               Option("--step", "pause every process at each checkpoint; Enter steps"),
               PACE,
               Option("--python", "the Python that runs it: a path, or a version like 3.13 "
                                  "(default: statelab's own)", "PATH_OR_VERSION"))
APP_OPTIONS = (Option("--scenario", f"the scenario to open (default: {DEFAULT_SCENARIO}); the "
                                    "knobs above are this one's", "NAME"),
               Option("--run", "run the scenario at once"),
               Option("--step", "run it paused at its first checkpoint (press s to step)"),
               PACE,
               Option("--python", "the Python that runs the runs: a path, or a version like 3.13 "
                                  "(default: statelab's own; the app lists the others found)",
                      "PATH_OR_VERSION"))


def fail(message: str) -> int:
    print(f"statelab: {message}", file=sys.stderr)
    return 2


def scenario_list() -> str:
    """Every scenario, one line each (loads them all: for --help only)."""
    specs = catalog.all_specs()
    width = max((len(s.name) for s in specs), default=0) + 2
    return "\n".join(["scenarios:", *(f"  {s.name:<{width}}{s.summary}" for s in specs)])


def cmd_list(args: Sequence[str] = ()) -> int:
    parser = Parser(prog="statelab list", usage="statelab list",
                    description="The scenarios, and each one's knobs with allowed values and defaults.")
    try:
        _, extras = parser.parse_known_args(list(args))
    except HelpShown:
        return 0
    except ConfigError as e:
        return fail(tidy(str(e), args))
    if extras:
        return fail("list takes no arguments")
    for spec in catalog.all_specs():
        mark = "lesson" if spec.from_lesson else "beyond"
        print(f"{spec.name:<15} {mark:<7} {spec.summary}")
        for knob in spec.knobs().values():
            print(f"{'':<24}{describe(spec, knob)}")
    for problem in catalog.problems():  # the others still work
        print(f"statelab: {problem}", file=sys.stderr)
    return 0


def cmd_source(args: Sequence[str]) -> int:
    from scenarios.engine import script  # imports multiprocessing: only for this command

    parser = Parser(prog="statelab source", usage="statelab source SCENARIO",
                    description="Prints the scenario as a script that runs with python3 alone "
                                "(no statelab needed): python3 FILE --help lists its knobs.")
    parser.add_argument("scenario", nargs="?", metavar="SCENARIO", help="a name from statelab list")
    try:
        namespace, extras = parser.parse_known_args(list(args))
    except HelpShown:
        return 0
    except ConfigError as e:
        return fail(tidy(str(e), args))
    if namespace.scenario is None or extras:
        return fail(f"source takes one scenario name; choose one of {', '.join(catalog.names())}")
    try:
        module = catalog.load(namespace.scenario)
    except ConfigError as e:
        return fail(tidy(str(e), args))
    try:
        text = script.build(namespace.scenario, module.source())
    except script.ScriptError as e:
        return fail(str(e))
    sys.stdout.write(text)
    return 0


def cmd_run(args: Sequence[str]) -> int:
    from rich.console import Console

    from tui import interpreters
    from tui.lines import TimedLines
    from tui.timeline import Timeline, relay

    try:
        cfg, flags = parse_scenario(args, "statelab run", RUN_OPTIONS)  # before anything starts
        if cfg.step:
            check_control_input()
        python = interpreters.resolve(flags["python"])  # asked what it is, or refused
    except HelpShown:
        return 0
    except ConfigError as e:
        return fail(tidy(str(e), args))
    cfg = interpreters.runner_config(cfg, python, args)
    as_json = bool(flags["json"])
    argv = python.command("-m", "scenarios", *cfg.to_argv())
    # in step mode the lines typed go to the runner through relay() (a number: `step ROLE`);
    # Ctrl-C reaches the runner too (one process group)
    runner = subprocess.Popen(argv, stdin=subprocess.PIPE if cfg.step else None,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              bufsize=1, env=python.env())
    assert runner.stdout is not None and runner.stderr is not None
    console = Console(highlight=False)
    timeline = Timeline(console, runner.pid)  # decodes each line and folds it into a RunState
    if cfg.step:
        assert runner.stdin is not None
        console.print("step mode: Enter lets every paused process go on; a number, then Enter, "
                      "only the one listed with it", style="bold")
        relay(runner.stdin, None if as_json else timeline)
    lines = TimedLines(runner.stdout, timeline.tick, timeline.HOLD)

    def pump() -> None:
        for raw in lines:
            if as_json:
                sys.stdout.write(raw)
                sys.stdout.flush()
                continue
            timeline.feed(raw)

    previous = signal.signal(signal.SIGINT, lines.on_sigint)
    try:
        try:
            pump()
        except KeyboardInterrupt:
            # the runner got the same SIGINT (one process group): it stops the run, then still
            # writes what was seen and the findings; read them, unless asked again to leave
            if not as_json:
                timeline.tick()
                console.print("stopping the run (Ctrl-C again: leave at once)", style="bold")
            try:
                pump()
            except KeyboardInterrupt:
                runner.terminate()  # it ends the run the clean way, without its last words
    finally:
        signal.signal(signal.SIGINT, previous)
        code = runner.wait()
    problem = runner.stderr.read().strip()
    if problem:
        print(problem, file=sys.stderr)
    if not as_json:
        timeline.finish()
    return code


def cmd_replay(args: Sequence[str]) -> int:
    """`statelab replay FILE [--at-once]`: the app shows a transcript, starting no process."""
    parser = Parser(prog="statelab replay", usage="statelab replay FILE [--at-once]",
                    description="Opens the app on a transcript (JSON lines: saved in the history, "
                                "exported with e, or written by python -m scenarios) and plays "
                                "it at its recorded pace. Nothing is run.")
    parser.add_argument("file", nargs="?", metavar="FILE", help="the transcript")
    parser.add_argument("--at-once", action="store_true", help="show it as it ended, at once")
    try:
        namespace, extras = parser.parse_known_args(list(args))
    except HelpShown:
        return 0
    except ConfigError as e:
        return fail(tidy(str(e), args))
    if namespace.file is None or extras:
        return fail("replay takes one transcript file (a .jsonl), and --at-once")
    from pathlib import Path

    from tui.replay import TranscriptError, read

    try:
        record = read(Path(namespace.file))  # before the app starts: a bad file is one line
    except TranscriptError as e:
        return fail(str(e))
    from tui.app import StatelabApp

    app = StatelabApp(record.config().scenario, replay=record, paced=not namespace.at_once)
    try:
        return int(app.run() or 0)
    finally:
        app.stop_run_now()  # a run started from the replay's app ends with it


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return dispatch(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:  # `statelab list | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 1
    except OSError as e:  # `statelab source race > /dev/full`
        if e.filename is not None:
            raise  # not the output: a real problem, shown whole
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"statelab: cannot write the output: {e.strerror or e}", file=sys.stderr)
        return 1


def dispatch(args: list[str]) -> int:
    if args[:1] == ["help"]:  # `statelab help`, `statelab help run race`: the same as --help
        args = [*args[1:], "--help"]
    command = args[0] if args else None
    if command is not None and not command.startswith("-"):
        gc.enable()  # a subcommand: the pause while the program loaded (tui/launch.py) is over
    if command == "list":
        return cmd_list(args[1:])
    if command == "source":
        return cmd_source(args[1:])
    if command == "run":
        return cmd_run(args[1:])
    if command == "replay":
        return cmd_replay(args[1:])
    if command in MORE:  # each in a module of its own, imported only when used
        main_of: Callable[[Sequence[str]], int] = importlib.import_module(MORE[command]).main
        return main_of(args[1:])
    if command is not None and not command.startswith("-"):
        return fail(f"unknown command {quote(command)}; the commands are "
                    f"{', '.join(['list', 'run', 'source', 'replay', *MORE])}, and the app takes options "
                    "(statelab --help)")
    return app_main(args)


# -- the app's command line ---------------------------------------------------------------------


class UsageError(Exception):
    pass


def app_parser(spec: Scenario) -> Parser:
    """`statelab [--scenario NAME] [--KNOB VALUE]... [--run] [--step]`, with that scenario's knobs;
    its help is the program's: it names the subcommands too."""
    return build_parser(spec, "statelab", APP_OPTIONS, usage=USAGE, description=APP_DESCRIPTION,
                        knobs_title=f"knobs of {spec.name} (statelab --scenario NAME --help: "
                                    "another's)",
                        more=scenario_list)


def _chosen(args: Sequence[str]) -> str | None:
    """The value of the first --scenario, looked for before the parser (which depends on it) is
    built; a missing value is left for the parser to refuse."""
    for i, arg in enumerate(args):
        if arg.startswith("--scenario="):
            return arg.partition("=")[2]
        if arg == "--scenario":
            following = args[i + 1] if i + 1 < len(args) else None
            return None if following is None or following.startswith("--") else following
    return None


def parse_args(argv: Sequence[str]) -> tuple[str | None, dict[str, str], bool, bool]:
    """(scenario, knob options as text, run, step); UsageError with one line on bad input,
    HelpShown after printing the help. `parse_app_args` also gives the pace."""
    scenario, options, run, step, _pace = parse_app_args(argv)
    return scenario, options, run, step


def parse_app_args(argv: Sequence[str]) -> tuple[str | None, dict[str, str], bool, bool,
                                                 float | None]:
    """(scenario, knob options as text, run, step, pace in seconds or None)."""
    args = list(argv)
    if not args:  # `statelab` alone, the usual start: nothing to read (and no parser to build)
        return None, {}, False, False, None
    try:
        return _parse_app(args)
    except ConfigError as e:
        raise UsageError(tidy(str(e), args)) from None


def _parse_app(args: list[str]) -> tuple[str | None, dict[str, str], bool, bool, float | None]:
    scenario = _chosen(args)
    name = scenario or DEFAULT_SCENARIO
    if name not in catalog.names():
        raise ConfigError(f"unknown scenario {name!r}; choose one of {', '.join(catalog.names())}")
    try:
        spec = catalog.get(name)
    except (ConfigError, HelpShown):
        raise
    except Exception as e:
        raise ConfigError(f"scenario {name!r} cannot be loaded yet ({type(e).__name__}: {e})") from None
    options, flags = read(spec, app_parser(spec), args)
    step = bool(flags["step"])
    catalog.configure(name, options, step=step)
    python = flags.get("python")
    if python is not None:
        options["python"] = str(python)  # resolved by app_main (a probe), not a knob
    return scenario, options, bool(flags["run"]), step, pace_of(flags)


def app_main(argv: Sequence[str]) -> int:
    """`statelab [--scenario NAME] [knobs] [--run] [--step] [--pace SECONDS]`: open the app. Exit 2
    on bad input."""
    try:
        scenario, options, run, step, pace = parse_app_args(argv)
    except HelpShown:
        return 0
    except UsageError as e:
        print(f"statelab: {e}", file=sys.stderr)
        return 2
    python = None
    if "python" in options:
        from tui import interpreters

        try:  # asked what it is, or refused before the app starts
            python = interpreters.resolve(options.pop("python"))
        except ConfigError as e:
            print(f"statelab: {tidy(str(e), argv)}", file=sys.stderr)
            return 2
    # the app's modules load with the collector paused, as the program did (tui/launch.py);
    # what is loaded by now lives as long as the program: frozen, later passes skip it
    gc.disable()
    try:
        from tui.app import StatelabApp
    finally:
        gc.freeze()
        gc.enable()
    app = StatelabApp(scenario, options, run=run, step=step, pace=pace, python=python,
                      remember=True)
    try:
        result = app.run()
    finally:
        app.stop_run_now()
    return int(result or 0)
