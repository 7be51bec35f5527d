"""Input that used to break statelab: each gets one line saying what is allowed, never a traceback.

What is certain here: a broken extra scenario is named in one line and the others still
work; a value that cannot be stored is refused before anything starts (exit 2); the message
quotes at most a short prefix of what was given; output to a full device ends with one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.engine import catalog
from scenarios.engine.knobs import Config, ConfigError
from scenarios.engine.protocol import decode, encode
from tests.runs import refused

STATELAB = [sys.executable, "-m", "tui"]

EXTRA_MODULES = {
    "bad_syntax.py": "def (:\n",
    "raises.py": "raise RuntimeError('boom at import')\n",
    "nospec.py": "X = 1\n",
    "printer.py": (
        "print('hello from import')\n"
        "from scenarios.engine.api import Finding, Lab, RunState, Scenario, observe\n"
        "SPEC = Scenario(name='printer', title='Printer', summary='prints while it is imported')\n"
        "def parent(lab: Lab) -> None:\n"
        "    observe('ran', 'the parent ran', value=1)\n"
        "def findings(run: RunState) -> list[Finding]:\n"
        "    return []\n"),
}
EXTRAS = ("junk,mine=does.not.exist,syn=xtras.bad_syntax,boom=xtras.raises,nos=xtras.nospec,"
          "shared-value=does.not.exist,printer=xtras.printer")


@pytest.fixture(scope="module")
def extras(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose STATELAB_EXTRA_SCENARIOS names broken modules (and one that works)."""
    root = tmp_path_factory.mktemp("extras")
    package = root / "xtras"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, text in EXTRA_MODULES.items():
        (package / name).write_text(text)
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, STATELAB_EXTRA_SCENARIOS=EXTRAS, PYTHONPATH=path, NO_COLOR="1")


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def test_list_names_each_broken_extra_once_and_lists_the_rest(extras: dict[str, str]) -> None:
    out = run([*STATELAB, "list"], extras)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    problems = [line for line in out.stderr.splitlines() if line.startswith("statelab: ")]
    for words in ("'junk' is not NAME=package.module", "'shared-value' is a scenario of statelab's own",
                  "'mine' (does.not.exist) cannot be loaded: ModuleNotFoundError",
                  "'syn' (xtras.bad_syntax) cannot be loaded: SyntaxError",
                  "'boom' (xtras.raises) cannot be loaded: RuntimeError: boom at import",
                  "'nos' (xtras.nospec) cannot be loaded: it defines no SPEC"):
        assert sum(words in line for line in problems) == 1, (words, out.stderr)
    listed = {line.split()[0] for line in out.stdout.splitlines() if line[:1].isalpha()}
    assert {"shared-value", "race", "printer"} <= listed
    assert not {"mine", "syn", "boom", "nos", "junk"} & listed


@pytest.mark.parametrize("name", ["mine", "syn", "boom", "nos"])
def test_running_a_broken_extra_is_refused_in_one_line(extras: dict[str, str], name: str) -> None:
    for argv in ([*STATELAB, "run", name], [sys.executable, "-m", "scenarios", name]):
        out = run(argv, extras)
        assert out.returncode == 2, (argv, out.stderr)
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and f"scenario {name!r}" in lines[0], out.stderr
        assert out.stdout == ""


def test_a_broken_extra_does_not_break_the_others(extras: dict[str, str]) -> None:
    out = run([sys.executable, "-m", "scenarios", "shared-value", "--bogus", "1"], extras)
    # (the extra that prints while it is imported says so on stderr, before the refusal)
    assert out.returncode == 2 and out.stderr.splitlines()[-1] == "statelab: unknown option --bogus"
    out = run([*STATELAB, "--help"], extras)
    assert out.returncode == 0 and "Traceback" not in out.stderr


def test_what_a_module_prints_at_import_stays_out_of_the_event_stream(extras: dict[str, str]) -> None:
    out = run([sys.executable, "-m", "scenarios", "printer"], extras)
    assert out.returncode == 0, out.stderr
    events = [decode(line) for line in out.stdout.splitlines()]  # every line is an event
    assert events[-1].kind == "run-end" and events[-1].status == "ok"  # type: ignore[attr-defined]
    assert "hello from import" in out.stderr


@pytest.mark.parametrize(("argv", "words"), [
    (["--typecode", "u", "--value", "\udcff"], "half of a surrogate pair"),
    (["--typecode", "c", "--value", "\udcff"], "half of a surrogate pair"),
    (["--value", "9" * 100_000], "has 100000 digits, more than the 100 taken"),
    (["--timeout", "400\n"], "--timeout: 400 is out of bounds"),
    (["--value", "x" * 100_000], "is not an integer"),
])
def test_a_value_that_cannot_be_stored_is_refused_in_one_short_line(argv: list[str], words: str) -> None:
    line = refused("shared-value", *argv)
    assert words in line, line
    assert len(line) < 300, f"the message quotes too much of the input: {len(line)} characters"


@pytest.mark.parametrize("command", [["source", "race"], ["list"]])
def test_output_to_a_full_device_ends_in_one_line(command: list[str]) -> None:
    with open("/dev/full", "w") as full:
        out = subprocess.run([*STATELAB, *command], stdout=full, stderr=subprocess.PIPE, text=True,
                             timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip() == "statelab: cannot write the output: No space left on device"


@settings(max_examples=300, deadline=None)
@given(scenario=st.sampled_from(catalog.names()), data=st.data())
def test_any_text_for_any_knob_gives_a_run_or_one_line(scenario: str, data: st.DataObject) -> None:
    """Arbitrary text (surrogates, newlines, huge numbers) for each knob of each scenario: either
    a Config that the engine can carry (it encodes as an event and its argv parses back to the
    same Config), or a ConfigError of one printable line."""
    knobs = list(catalog.get(scenario).knobs())
    name = data.draw(st.sampled_from(knobs))
    text = data.draw(st.one_of(st.text(max_size=60), st.from_regex(r"-?[0-9]{1,400}", fullmatch=True),
                               st.sampled_from(["-inf", "nan", "1e300", "0x10", "\udcff", "ä"])))
    try:
        cfg = catalog.configure(scenario, {name: text})
    except ConfigError as e:
        message = str(e)
        assert "\n" not in message and "\r" not in message, message
        assert len(message) < 700
        return
    assert isinstance(cfg, Config)
    line = encode({"t": 0.0, "pid": 1, "role": "runner", "kind": "run-start", "text": "x",
                   "data": {"config": cfg.to_json()}})
    assert decode(line).kind == "run-start"
    assert catalog.configure(scenario, _options(cfg.to_argv()[1:])) == cfg


def _options(argv: list[str]) -> dict[str, str]:
    """`--name VALUE` pairs (and a lone `--step`) as configure's options."""
    options: dict[str, str] = {}
    args = list(argv)
    while args:
        flag = args.pop(0)
        if flag == "--step":
            continue
        options[flag[2:].replace("-", "_")] = args.pop(0)
    return options


@pytest.mark.parametrize(("argv", "words"), [
    (["frobnicate"],
     "unknown command 'frobnicate'; the commands are list, run, source, replay, sweep, serve"),
    (["--value", "-h"], "--value: '-h' is not an integer"),
    (["run", "race", "--processes", "-h"], "--processes: '-h' is not a whole number"),
    (["--step=yes"], "--step takes no value"),
    (["--scenario", "race", "--scenario", "shared-value"], "--scenario is given twice"),
])
def test_the_command_line_refuses_in_one_line(argv: list[str], words: str) -> None:
    out = subprocess.run([*STATELAB, *argv], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 2, (argv, out.stdout[:300], out.stderr)
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and words in out.stderr, out.stderr


@pytest.mark.parametrize("command", [[sys.executable, "-m", "scenarios", "shared-value", "--step"],
                                     [*STATELAB, "run", "shared-value", "--step"],
                                     [sys.executable, "-m", "scenarios", "shared-value", "--control"]])
@pytest.mark.parametrize("stdin", ["/dev/null", "a file"])
def test_steps_that_can_never_come_are_refused(command: list[str], stdin: str,
                                               tmp_path: Path) -> None:
    """--step (or --control) with stdin from /dev/null or a file: no step can come while the run
    waits at its first checkpoint, so it is refused before it starts instead of waiting for
    ever."""
    path = "/dev/null" if stdin == "/dev/null" else str(tmp_path / "steps")
    if stdin != "/dev/null":
        Path(path).write_text("\n\n\n")
    with open(path) as source:
        out = subprocess.run(command, stdin=source, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    assert out.stderr.strip().startswith("statelab: --step and --control read steps on stdin")


def test_a_pipe_that_closes_stops_a_stepped_run() -> None:
    """Steps from a pipe: once it is closed no more can come, and the run stops (no hang)."""
    out = subprocess.run([sys.executable, "-m", "scenarios", "shared-value", "--step"], input="",
                         capture_output=True, text=True, timeout=30)
    events = [decode(line) for line in out.stdout.splitlines()]
    assert events[-1].kind == "run-end" and events[-1].status == "stopped"  # type: ignore[attr-defined]
    assert any("its control input was closed" in e.text for e in events)
