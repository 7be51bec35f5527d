"""The headless command line: statelab list, run, source."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.engine import catalog, ctypes_table
from scenarios.engine.argv import HelpShown, parse_argv
from scenarios.engine.knobs import ConfigError, Knob, Scenario, default_start_method
from tests.runs import alive
from tui import cli

STATELAB = [sys.executable, "-m", "tui"]


def statelab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="120")
    return subprocess.run([*STATELAB, *args], capture_output=True, text=True, timeout=60, env=env,
                          cwd=cwd)


def test_list_names_every_scenario_with_its_knobs() -> None:
    out = statelab("list")
    assert out.returncode == 0
    for name in catalog.names():
        line = next(row for row in out.stdout.splitlines() if row.startswith(name + " "))
        assert catalog.get(name).summary in line
    assert "--typecode" in out.stdout and "--processes" in out.stdout


def test_run_prints_a_timeline_and_the_findings() -> None:
    out = statelab("run", "shared-value", "--start-method", "spawn")
    assert out.returncode == 0, out.stderr
    assert "child reads 1 from the Value" in out.stdout
    assert "after the parent's change, the child reads 3" in out.stdout
    assert "Findings" in out.stdout
    assert "✓" in out.stdout  # both findings agree with the lesson under spawn
    assert "2 agree with the lesson, 0 do not." in out.stdout


def test_run_marks_a_finding_that_contradicts_the_lesson() -> None:
    out = statelab("run", "pass-via-queue", "--wait", "0.2")
    assert "✗" in out.stdout
    assert "QueueFeederThread" in out.stdout, "the feeder thread's traceback is shown as its output"


def test_run_json_prints_the_raw_events() -> None:
    out = statelab("run", "small-int-id", "--json")
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert events[0]["kind"] == "run-start" and events[-1]["kind"] == "run-end"
    assert all(not alive(e["pid"]) for e in events)


@pytest.mark.parametrize("argv", [["run", "nope"], ["run", "shared-value", "--typecode", "z"],
                                  ["run", "race", "--processes", "1000"], ["source", "nope"],
                                  ["source"], ["list", "extra"]])
def test_bad_input_is_one_line_with_status_2(argv: list[str]) -> None:
    out = statelab(*argv)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and out.stderr.startswith("statelab: ")
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_source_keeps_the_experiment_as_the_lab_runs_it() -> None:
    """The saved script's experiment is the module's text, from its SPEC on, unchanged (the
    stand-ins above it replace the lab; tests/test_source_script.py runs it)."""
    source = statelab("source", "shared-value").stdout
    module = Path(catalog.load("shared-value").path).read_text()
    experiment = module[module.index("SPEC = Scenario("):]
    assert source.endswith(experiment)
    assert "from scenarios" not in source and "import scenarios" not in source


def test_run_shows_where_a_deadlocked_worker_waits() -> None:
    out = statelab("run", "race", "--lock", "lock", "--guard", "get_lock", "--iterations", "1000",
                   "--timeout", "1")
    assert out.returncode == 1
    assert "run ended: timeout" in out.stdout
    assert "stuck in getvalue" in out.stdout or "stuck in setvalue" in out.stdout
    assert 'race.py", line' in out.stdout, "the scenario's own frames are shown"
    assert "probe.py" not in out.stdout and "popen_fork.py" not in out.stdout
    assert "frames of statelab and of multiprocessing's start-up not shown" in out.stdout


# -- command lines from argparse: help, values that look like options, junk --------------------


def entries(help_text: str) -> dict[str, str]:
    """Each option of a help page (`  --flag ...` and the lines under it), whitespace joined."""
    found: dict[str, str] = {}
    flag = None
    for row in help_text.splitlines():
        if row.startswith("  -"):
            flag = row.split()[0].rstrip(",")
            found[flag] = row
        elif flag and row.startswith("    "):
            found[flag] += row
        else:
            flag = None
    return {f: " ".join(text.split()) for f, text in found.items()}


def expected(spec: Scenario, knob: Knob) -> tuple[str, str]:
    """What the help must say a knob allows, and its default, worked out from the spec."""
    if knob.kind == "choice":
        allows = "{" + ",".join(knob.choices) + "}"
    elif knob.kind == "int":
        allows = f"{int(knob.low or 0)} to {int(knob.high or 0)}"
    elif knob.kind == "float":
        allows = f"{knob.low:g} to {knob.high:g}"
    else:
        allows = "parsed for the type code"
    default = spec.default_of(knob.name)
    if knob.name == "start_method" and default is None:
        shown = f"default: {default_start_method()}, this interpreter's default"
    elif knob.kind == "value":
        code = ctypes_table.get(spec.default_of("typecode"))
        shown = f"default: {code.default()}"
    elif knob.kind == "float":
        shown = f"default: {default:g}"
    else:
        shown = f"default: {default}"
    return allows, shown


HELP_COMMANDS = {"python -m scenarios": [sys.executable, "-m", "scenarios"],
                 "statelab run": [*STATELAB, "run"]}


@pytest.mark.parametrize("command", HELP_COMMANDS)
@pytest.mark.parametrize("name", catalog.names())
def test_a_scenarios_help_lists_its_knobs_with_their_values_and_defaults(name: str,
                                                                           command: str) -> None:
    out = subprocess.run([*HELP_COMMANDS[command], name, "--help"], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, COLUMNS="100"))
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert out.stdout.startswith(f"usage: {command} {name} [--KNOB VALUE]...")
    spec = catalog.get(name)
    assert spec.summary in " ".join(out.stdout.split())
    listed = entries(out.stdout)
    for knob in spec.knobs().values():
        assert knob.flag in listed, (knob.flag, out.stdout)
        allows, default = expected(spec, knob)
        assert allows in listed[knob.flag] and default in listed[knob.flag], listed[knob.flag]
    own = {"python -m scenarios": {"--step", "--pace", "--control"},
           "statelab run": {"--json", "--step", "--pace", "--python"}}
    assert set(listed) == {*(k.flag for k in spec.knobs().values()), "-h", *own[command]}


def test_help_is_not_taken_for_a_knobs_value() -> None:
    out = statelab("run", "race", "--processes", "--help")
    assert out.returncode == 0 and "--processes N" in out.stdout and out.stderr == ""


def test_statelab_help_names_the_subcommands_the_apps_options_and_the_scenarios() -> None:
    out = statelab("--help")
    assert out.returncode == 0 and out.stderr == ""
    for usage in ("statelab [--scenario NAME] [--KNOB VALUE]... [--run] [--step]",
                  "statelab list", "statelab run SCENARIO [--KNOB VALUE]... [--json] [--step]",
                  "statelab source SCENARIO"):
        assert usage in out.stdout
    listed = entries(out.stdout)
    assert {"list", "run", "source"} <= {row.split()[0] for row in out.stdout.splitlines()
                                         if row.startswith("  ") and row.split()}
    assert {"--scenario", "--run", "--step", "-h"} <= set(listed)
    default = catalog.get(cli.DEFAULT_SCENARIO)
    assert {k.flag for k in default.knobs().values()} <= set(listed)
    for name in catalog.names():
        assert f"  {name} " in out.stdout
    race = statelab("--scenario", "race", "--help")
    assert race.returncode == 0 and "--processes" in entries(race.stdout)
    assert "--processes" not in listed


@pytest.mark.parametrize("argv", [["run", "--help"], ["help", "run"], ["list", "--help"],
                                  ["source", "--help"], ["help"]])
def test_every_subcommand_has_a_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == 0
    out = capsys.readouterr()
    assert out.out.startswith("usage: statelab") and out.err == ""
    if argv[-1] == "run" or argv[0] == "run":
        assert all(f"  {name} " in out.out for name in catalog.names())


def test_list_shows_each_knobs_allowed_values_and_default() -> None:
    out = statelab("list").stdout
    rows = out.splitlines()
    start = next(i for i, row in enumerate(rows) if row.startswith("shared-value "))
    block = rows[start + 1:start + 1 + len(catalog.get("shared-value").knobs())]
    assert [row.split()[0] for row in block] == [k.flag for k in catalog.get("shared-value").knobs().values()]
    assert "--typecode {c,u,b,B,h,H,i,I,l,L,q,Q,f,d} (default I)" in block[0]
    assert "--processes N (1 to 64, default 2)" in out
    assert "--timeout X (0.5 to 300, default 10)" in out
    assert f"--start-method {{fork,spawn,forkserver}} (default {default_start_method()}" in out


@pytest.mark.parametrize(("argv", "value"), [
    (["--typecode", "d", "--value", "-1e300"], -1e300),
    (["--typecode", "d", "--value=-inf"], float("-inf")),
    (["--value", "-5", "--typecode", "i"], -5),
    (["--typecode", "b", "--value", "-128"], -128),
    (["--typecode", "c", "--value", "-"], b"-"),
])
def test_a_value_may_start_with_a_minus(argv: list[str], value: object) -> None:
    cfg, _ = parse_argv(["shared-value", *argv])
    assert cfg.value == value


def test_the_flags_and_knobs_come_back_as_given() -> None:
    cfg, flags = parse_argv(["race", "--processes", "3", "--step", "--lock=false",
                             "--start-method", "spawn"])
    assert flags == {"step": True, "control": False}
    assert (cfg["processes"], cfg.lock, cfg.start_method, cfg.step) == (3, "false", "spawn", True)
    scenario, options, run, step = cli.parse_args(["--scenario", "race", "--processes", "3", "--run"])
    assert (scenario, options, run, step) == ("race", {"processes": "3"}, True, False)
    assert cli.parse_args([]) == (None, {}, False, False)


def test_parsing_one_scenario_imports_only_that_one() -> None:
    code = ("import sys; from scenarios.engine.argv import parse_argv; "
            "parse_argv(['race', '--processes', '3']); "
            "print(sorted(m for m in sys.modules if m.startswith('scenarios.') and m.count('.') == 1))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["['scenarios.engine',", "'scenarios.race']"], out.stderr


FLAGS = st.one_of(
    st.sampled_from(["--typecode", "--lock", "--value", "--start-method", "--timeout", "--step",
                     "--control", "--json", "--guard", "--bogus", "--start_method", "--", "-", "-h",
                     "--help", "-x", "--typecode=", "--value=-inf", "--step=1", "--" + "z" * 300]),
    st.from_regex(r"\A--[a-z_-]{0,10}(=[^\n]{0,8})?\Z"),
)
VALUES = st.one_of(
    st.sampled_from(["d", "c", "u", "i", "b", "true", "lock", "spawn", "fork", "2", "0.5", "-1e300",
                     "-5", "nan", "inf", "1e9999", "0x10", "", " 1\n", "9" * 5000]),
    st.text(max_size=12),
    st.integers().map(str),
    st.floats().map(str),
)
# mostly `--flag value` pairs, so that many lists get past the syntax to the knobs' checks
PIECES = st.one_of(st.tuples(FLAGS, VALUES), st.tuples(FLAGS, VALUES), st.tuples(FLAGS),
                   st.tuples(VALUES))
JUNK = st.lists(PIECES, max_size=5).map(lambda pieces: [t for piece in pieces for t in piece])


def one_line_or_help(parse: Callable[[list[str]], object], junk: list[str],
                     error: type[Exception]) -> None:
    try:
        with contextlib.redirect_stdout(io.StringIO()) as shown:
            parse(junk)
    except HelpShown:
        assert "-h" in junk or "--help" in junk
        assert shown.getvalue().startswith("usage: ")
    except error as e:
        message = str(e)
        assert message and "\n" not in message and message.isprintable()
        assert len(message) <= 601
        assert all(len(token) <= 40 or token not in message for token in junk)


@settings(max_examples=300, deadline=None)
@given(JUNK)
def test_junk_for_the_engine_is_a_config_or_one_line(junk: list[str]) -> None:
    one_line_or_help(lambda args: parse_argv(["shared-value", *args]), junk, ConfigError)


@settings(max_examples=150, deadline=None)
@given(JUNK)
def test_junk_for_the_app_is_options_or_one_line(junk: list[str]) -> None:
    one_line_or_help(cli.parse_args, junk, cli.UsageError)


def test_output_cut_short_by_its_reader_is_not_an_error_trace() -> None:
    """`statelab list | head -1`: the reader leaves before the list is written (here it is gone
    before statelab starts, so every write fails); statelab stops quietly, with the status a
    broken pipe gives and no traceback on stderr."""
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # nobody will read: the first write raises BrokenPipeError
    proc = subprocess.run([sys.executable, "-c", "from tui.cli import main; raise SystemExit(main())",
                           "list"], stdout=write_fd, stderr=subprocess.PIPE, text=True, timeout=30)
    os.close(write_fd)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


def test_the_command_turns_the_collector_back_on(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`statelab` loads with the garbage collector paused (tui/launch.py): a subcommand runs
    with it on again, and no way out, a refusal included, leaves it off."""
    import gc

    from tui import cli, launch

    seen: list[bool] = []
    real = cli.cmd_list
    monkeypatch.setattr(cli, "cmd_list", lambda args: seen.append(gc.isenabled()) or real(args))
    monkeypatch.setattr(sys, "argv", ["statelab", "list"])
    assert launch.main() == 0
    assert seen == [True] and gc.isenabled()
    assert "shared-value" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["statelab", "--no-such-knob", "1"])
    assert launch.main() == 2
    assert gc.isenabled()
    assert capsys.readouterr().err.count("\n") == 1
