"""fork-with-threads: a lock a thread holds as the child starts, under each start method.

What the child reports (the lock held or free when it started, its threads, whether it took
the lock) and whether this interpreter warns are checked against tests/plain/fork_with_threads.py,
a script that does the same with the standard library only. A forked child never takes the
lock: the run ends by its deadline, and the stack taken then shows the child alone, in take().
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import runs
from tests.runs import Run, refused, run
from tests.stepping import drive

WARNING = "is multi-threaded, use of fork()"


def plain(method: str, *args: str) -> tuple[dict[str, Any], str]:
    """The plain script's JSON line and its stderr (python -I: no project, no PYTHON* options)."""
    return runs.plain("fork_with_threads.py", method, *args)


def scenario(*args: str, tmp: Path) -> Run:
    """Run it with a TMPDIR of its own: no pymp-* folder of the run may be left there."""
    return run("fork-with-threads", *args, tmpdir=tmp)


@pytest.fixture(scope="module")
def once(start_method: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """One run per start method, with the scenario's own default timeout."""
    yield scenario("--start-method", start_method, tmp=tmp_path_factory.mktemp("tmpdir"))


def test_the_child_finds_the_lock_as_a_plain_script_does(once: Run, start_method: str) -> None:
    fact = plain(start_method)[0]
    before = once.first("child-before-take", "child")
    assert before["locked"] is fact["locked"]
    assert before["threads"] == fact["threads"] == ["MainThread"]
    took = once.observed("child-took", "child")
    assert bool(took) is fact["took"]
    assert once.holds("child-takes-the-lock") is fact["took"]
    # the parent's own lock was free again once its thread let go
    assert once.first("parent-released", "parent")["locked"] is False
    assert once.first("parent-before-start", "parent")["threads"] == ["MainThread", "holder"]


def test_a_forked_child_waits_until_the_deadline_alone_in_take(once: Run,
                                                               start_method: str) -> None:
    config = once.events[0]["data"]["config"]
    assert config["timeout"] == 3.0  # the scenario's own default: the demo ends soon
    if start_method != "fork":
        assert once.status == "ok" and once.returncode == 0
        return
    assert once.status == "timeout"
    stack = once.stack("child")
    # one thread: the holder was not copied, and nothing else in the child can let go
    assert not re.search(r"^Thread 0x", stack, re.MULTILINE)  # no thread but the current one
    assert re.search(r"line \d+ in take\n", stack)
    evidence = once.findings()["child-takes-the-lock"]["evidence"]
    assert "still waited in take(); its stack shows 1 thread (MainThread)" in evidence
    exits = {e["role"]: e["data"] for e in once.of_kind("process-exit")}
    assert exits["witness"]["exitcode"] == 0  # the other forked child, which took nothing, ended


def test_the_warning_is_what_this_interpreter_raises_and_shows(once: Run,
                                                              start_method: str) -> None:
    recorded = [w for w in plain(start_method, "record")[0]["warnings"] if WARNING in w["message"]]
    shown = WARNING in plain(start_method)[1]
    seen = once.first("start-warnings", "parent")["warnings"]
    assert [w["message"].split(")", 1)[1] for w in seen if WARNING in w["message"]] == \
        [w["message"].split(")", 1)[1] for w in recorded]  # the pids differ
    assert once.holds("interpreter-warns") is bool(recorded)
    options = once.first("parent-before-start", "parent")
    assert options["warnoptions"] == [] and options["dev_mode"] is False  # as under python -I
    if recorded:
        assert once.holds("user-sees-warning") is shown
        assert (WARNING in once.output()) is shown
        assert "popen_fork.py" in once.findings()["interpreter-warns"]["evidence"]
    else:  # nothing was warned: there is nothing a user could see, and no finding says so
        assert "user-sees-warning" not in once.findings()
    if start_method != "fork":
        assert not recorded


def test_a_user_who_asks_for_warnings_sees_it_where_python_warns(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONWARNINGS", "default")
        result = scenario("--start-method", "fork", "--timeout", "1", tmp=tmp_path)
    warns = result.holds("interpreter-warns")
    assert warns is bool([w for w in plain("fork", "record")[0]["warnings"]
                          if WARNING in w["message"]])
    if warns:
        assert result.holds("user-sees-warning") is True
        assert WARNING in result.output()


def test_dev_mode_shows_the_warning_where_python_warns() -> None:
    """The lesson's sentence: -X dev shows it too (checked on the plain script alone)."""
    recorded = [w for w in plain("fork", "record")[0]["warnings"] if WARNING in w["message"]]
    stderr = runs.plain("fork_with_threads.py", "fork", flags=("-X", "dev"))[1]
    assert (WARNING in stderr) is bool(recorded)


def test_a_lock_let_go_before_the_fork_is_free_in_the_child(tmp_path: Path) -> None:
    result = scenario("--start-method", "fork", "--held", "false", tmp=tmp_path)
    assert result.status == "ok"
    assert result.first("parent-before-start", "parent")["locked"] is False
    assert result.first("child-before-take", "child")["locked"] is False
    assert result.observed("child-took", "child")
    assert result.holds("child-takes-the-lock") is True


def test_a_stop_while_the_holder_holds_the_lock_ends_the_run_at_once() -> None:
    """Stopped at the parent's first checkpoint, with its thread holding the lock: the parent
    ends by the stop's SIGTERM, as a stopped script does; its end does not wait for a thread
    nobody will tell to let go (then the runner's kill ladder had to SIGKILL it)."""
    result = drive("fork-with-threads", "--start-method", "fork", "--timeout", "60",
                   answer="stop", at=0)
    assert result.status == "stopped"
    assert result.first("parent-before-start", "parent")["locked"] is True
    exits = [e["data"] for e in result.of_kind("process-exit") if e["role"] == "parent"]
    assert [e.get("signal") for e in exits] == ["SIGTERM"]


def test_bad_input_is_one_line() -> None:
    assert "--held" in refused("fork-with-threads", "--held", "maybe")
