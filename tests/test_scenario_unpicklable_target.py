"""unpicklable-target: which functions a Process runs, under each start method.

Each target is checked against tests/plain/unpicklable_target.py, a script that starts the same
kinds of target with the standard library only, its `main_only` defined under a real
`if __name__ == "__main__":`: where start() raises, it raises the same exception with the same
words (the local names aside); where it does not, the child runs the target, or dies before it,
as the plain script's does. The scenario saved as a script shows the child's error naming
`__mp_main__`, as the plain script's does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import runs
from tests.runs import Run, refused, run

PLAIN = Path(__file__).parent / "plain" / "unpicklable_target.py"
TARGETS = ("module-level", "lambda", "nested", "main-only")
MISSING = "Can't get attribute 'main_only' on <module "


def plain(method: str) -> tuple[dict[str, Any], str]:
    return runs.plain("unpicklable_target.py", method, timeout=120)


def scenario(*args: str, tmp: Path) -> Run:
    """Run it with a TMPDIR of its own: no pymp-* folder of the run may be left there."""
    return run("unpicklable-target", *args, tmpdir=tmp)


@pytest.fixture(scope="module")
def every(start_method: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    yield scenario("--start-method", start_method, tmp=tmp_path_factory.mktemp("tmpdir"))


@pytest.fixture(scope="module")
def fact(start_method: str) -> tuple[dict[str, Any], str]:
    return plain(start_method)


def words(message: str) -> str:
    """An error message without the function a local object is in (main.<locals>.x there,
    parent.<locals>.x here)."""
    return re.sub(r"'\w+\.<locals>\.", "'….<locals>.", message)


def test_each_target_fares_as_in_a_plain_script(every: Run,
                                                fact: tuple[dict[str, Any], str]) -> None:
    tries = fact[0]["tries"]
    refusals = {d["target"]: d for d in every.observed("start-refused", "parent")}
    exits = {e["role"]: e["data"]["exitcode"] for e in every.of_kind("process-exit")}
    for target in TARGETS:
        seen = tries[target]
        finding = every.findings()[f"{target}-target"]
        if "exception" in seen:  # the parent's start() raised: no child at all
            assert refusals[target]["exception"] == seen["exception"], target
            assert words(refusals[target]["message"]) == words(seen["message"]), target
            assert target not in exits and target not in every.roles()
            assert finding["holds"] is False and "start() raised" in finding["evidence"]
        else:
            assert target not in refusals
            assert bool(every.observed("target-ran", target)) is seen["ran"], target
            assert exits[target] == seen["exitcode"], target
            assert finding["holds"] is seen["ran"], target
    ran_all = all(tries[t].get("ran") for t in TARGETS)
    # a child that died before running its target fails the run: that is what it shows
    assert every.status == ("ok" if ran_all else "error")


def test_a_lambda_fails_even_at_module_level(fact: tuple[dict[str, Any], str],
                                             start_method: str) -> None:
    """The lesson's sentence: a lambda's name is <lambda>, wherever it is defined."""
    seen = fact[0]["tries"]["module-lambda"]
    if start_method == "fork":
        assert seen == {"ran": True, "exitcode": 0}
    else:
        assert seen["exception"] == "PicklingError"
        assert "attribute lookup <lambda> on __main__ failed" in seen["message"]


def test_a_child_that_cannot_find_its_target_says_so(every: Run,
                                                     fact: tuple[dict[str, Any], str]) -> None:
    tries, stderr = fact
    if tries["tries"]["main-only"]["ran"]:  # fork: the function is in the copied memory
        assert MISSING not in every.output() and MISSING not in stderr
        return
    # the plain script's child imported it as __mp_main__, where the guarded block never ran;
    # the scenario's child imported the module, where parent() never ran
    assert MISSING + "'__mp_main__'" in stderr
    assert MISSING + "'scenarios.unpicklable_target'" in every.output()
    evidence = every.findings()["main-only-target"]["evidence"]
    assert "ended with code 1 without running it" in evidence and MISSING in evidence


def test_one_target_alone() -> None:
    result = run("unpicklable-target", "--start-method", "spawn", "--target", "nested")
    assert list(result.findings()) == ["nested-target"]
    assert result.holds("nested-target") is False
    # no child (spawn's start() did start the resource tracker before it pickled the target)
    assert "nested" not in result.roles()
    assert {e["role"] for e in result.of_kind("process-start")} <= {"parent", "resource-tracker"}
    assert result.status == "ok"


def test_saved_as_a_script_the_child_looks_in___mp_main__(tmp_path: Path) -> None:
    saved = subprocess.run([sys.executable, "-m", "tui", "source", "unpicklable-target"],
                           capture_output=True, text=True, timeout=60)
    assert saved.returncode == 0, saved.stderr
    script = tmp_path / "unpicklable_target.py"
    script.write_text(saved.stdout)
    out = subprocess.run([sys.executable, "-I", str(script), "--start-method", "spawn",
                          "--target", "main-only"], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert MISSING + f"'__mp_main__' from '{script}'" in out.stderr
    assert "main-only: the target ran" not in out.stdout
    assert os.listdir(tmp_path) == [script.name]


def test_bad_input_is_one_line() -> None:
    assert "--target" in refused("unpicklable-target", "--target", "partial")
