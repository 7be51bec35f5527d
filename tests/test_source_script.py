"""`statelab source NAME` gives a script that runs anywhere: python3 -I in an empty folder, with
no statelab on the path, under each start method, printing readable lines.

What is certain: the script imports nothing of statelab (it could not: -I and an empty folder
leave only the standard library); the shared-value script shows the child reading the value the
parent stored, the same fact the lab checks; bad knobs get one line and exit 2.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.engine import catalog

STATELAB = [sys.executable, "-m", "tui"]
HERE = Path(__file__).parent
# the experiments of scenarios/ (the tests' own extra scenarios are not lessons to save)
BUILT_IN = [name for name in catalog.names()
            if Path(catalog.load(name).path).parent == HERE.parent / "scenarios"]


def saved(name: str, folder: Path) -> Path:
    out = subprocess.run([*STATELAB, "source", name], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    path = folder / f"{name.replace('-', '_')}.py"
    path.write_text(out.stdout)
    return path


def run_script(path: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", str(path), *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env={"PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_scenario_saves_as_a_script_that_needs_no_statelab(name: str, tmp_path: Path) -> None:
    path = saved(name, tmp_path)
    tree = ast.parse(path.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {m for m in imported if m.split(".")[0] in ("scenarios", "tui")}, imported
    empty = tmp_path / "empty"
    empty.mkdir()
    helped = run_script(path, "--help", cwd=empty)
    assert helped.returncode == 0, helped.stderr
    assert "--start-method" in helped.stdout and "--timeout" in helped.stdout


def test_the_saved_shared_value_shows_the_child_reading_the_parents_change(
        start_method: str, tmp_path: Path) -> None:
    path = saved("shared-value", tmp_path)
    out = run_script(path, "--start-method", start_method, "--typecode", "i", "--value", "40",
                     cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert not out.stdout.lstrip().startswith("{")  # lines for people, not JSON events
    rows = [re.match(r"\s*(\d+\.\d+)\s+(\S+)\s+(.*)", line) for line in out.stdout.splitlines()]
    assert all(rows), out.stdout
    said = {(row[2], row[3]) for row in rows if row}
    changed = [int(m[1]) for role, text in said if role == "parent"
               for m in [re.search(r"changed the Value from 40 to (-?\d+)", text)] if m]
    after = [int(m[1]) for role, text in said if role == "child"
             for m in [re.search(r"after the parent's change, the child reads (-?\d+)", text)] if m]
    assert changed == [42] and after == changed, out.stdout
    assert f"under {start_method}" in out.stdout


def test_every_scenario_script_runs_under_each_start_method(start_method: str,
                                                            tmp_path: Path) -> None:
    """Each saved scenario ends by itself (at its deadline at worst) and prints its processes'
    lines: the parent's, and a child's when the scenario starts one."""
    for name in BUILT_IN:
        path = saved(name, tmp_path)
        out = run_script(path, "--start-method", start_method, cwd=tmp_path)
        assert out.returncode == 0, (name, out.stderr[-2000:])
        roles = {line.split()[1] for line in out.stdout.splitlines() if len(line.split()) > 2}
        assert "parent" in roles, (name, out.stdout[:2000])


@pytest.mark.parametrize(("args", "words"), [
    (["--typecode", "i", "--value", "abc"], "--value: 'abc' is not an integer"),
    (["--start-method", "thread"], "--start-method: 'thread' is not allowed"),
])
def test_a_saved_script_refuses_bad_knobs_in_one_line(args: list[str], words: str,
                                                      tmp_path: Path) -> None:
    path = saved("shared-value", tmp_path)
    out = run_script(path, *args, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and words in out.stderr, out.stderr
    assert out.stdout == ""
