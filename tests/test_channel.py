"""Only the run speaks: the runner's channel refuses intruders, survives bad lines, and a hold
outside step mode does not stop the clock.

The intruders are played by the fixture scenario tests/fixtures/intruder.py (its child, a
grandchild of another user) and by a process this test starts, outside the run. Each sends, on
behalf of the real child, an observation that contradicts it, a fake finding, a second run-end
and a line of fake output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.contract import check_stream
from tests.fixtures.intruder import FAKE_OUTPUT, JUNK
from tests.runs import Run, assert_clean, run, shm

FIXTURE = "intruder=tests.fixtures.intruder"


@pytest.fixture(autouse=True)
def intruder_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner subprocesses of this module know the fixture scenario."""
    extra = os.environ.get("STATELAB_EXTRA_SCENARIOS", "")
    if FIXTURE not in extra:
        monkeypatch.setenv("STATELAB_EXTRA_SCENARIOS", ",".join(filter(None, [extra, FIXTURE])))


def refusals(result: Run) -> list[dict[str, Any]]:
    return [e for e in result.events if e["kind"] == "error" and "intruder" in e.get("data", {})]


def assert_only_the_run_spoke(result: Run, intruder: int, why: str) -> None:
    """Nothing the intruder sent is in the stream, the findings are the real ones, and one
    error of the runner's names the intruder's pid and what failed."""
    runner = result.events[0]["pid"]
    texts = [e["text"] for e in result.events]
    assert [e["kind"] for e in result.events].count("run-end") == 1, texts
    assert result.events[-1]["kind"] == "run-end"
    assert result.events[-1]["pid"] == runner
    assert set(result.findings()) == {"child-read-42"}, "no fake finding"
    assert result.holds("child-read-42") is True, result.findings()
    assert [o["value"] for o in result.observed("number")] == [42], "no fake observation"
    assert FAKE_OUTPUT not in result.output(), "no fake output"
    assert not [e for e in result.events if e["kind"] in ("finding", "run-end") and e["pid"] != runner]
    refused = refusals(result)
    assert len(refused) == 1, [e["text"] for e in refused]
    assert refused[0]["pid"] == runner and refused[0]["role"] == "runner"
    assert refused[0]["data"]["intruder"] == intruder
    assert f"pid {intruder}" in refused[0]["text"] and why in refused[0]["text"], refused[0]["text"]
    # the run went on: the child finished, and only the intrusion was an error
    assert result.observed("child-done"), texts
    errors = [e["text"] for e in result.events if e["kind"] == "error"]
    assert errors == [refused[0]["text"]], errors
    # decided: a run someone tried to speak in ends "error" (it was interfered with), while
    # its findings are computed from the real events only (checked above)
    assert result.status == "error"


def test_a_run_of_its_own_processes_passes_every_check(start_method: str) -> None:
    result = run("intruder", "--how", "none", "--start-method", start_method)
    assert result.status == "ok", [e["text"] for e in result.events]
    assert not [e for e in result.events if e["kind"] == "error"]
    assert result.holds("child-read-42") is True


@pytest.mark.parametrize(("how", "why"), [
    ("no-secret", "did not present this run's secret"),
    ("other-pid", "its hello names pid"),
    ("other-role", "named itself child before"),
])
def test_a_process_of_the_run_that_breaks_the_hello_is_refused(how: str, why: str,
                                                               start_method: str) -> None:
    result = run("intruder", "--how", how, "--start-method", start_method)
    assert_only_the_run_spoke(result, result.pid_of("child"), why)


def test_another_user_is_refused(start_method: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can become another user (nobody, 65534) to play the intruder")
    result = run("intruder", "--how", "other-user", "--start-method", start_method)
    grandchild = result.first("grandchild")
    assert grandchild["value"] == 0, "the grandchild became nobody and was answered (closed)"
    assert_only_the_run_spoke(result, grandchild["pid"], "runs as user 65534")


OUTSIDER = """
import os, sys
sys.path.insert(0, sys.argv[4])
from tests.fixtures.intruder import intrude
address, secret, child = bytes.fromhex(sys.argv[1]).decode(), sys.argv[2], int(sys.argv[3])
intrude(address, {"pid": os.getpid(), "role": "child", "secret": secret}, child)
"""


def address_in_proc_net_unix(runner: int) -> str:
    """The runner's abstract socket, as any user of the machine can find it."""
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        path = line.split()[-1] if len(line.split()) > 7 else ""
        if path.startswith(f"@statelab-{runner}-"):
            return "\0" + path[1:]
    raise AssertionError(f"no socket of runner {runner} in /proc/net/unix")


def test_a_process_outside_the_run_is_refused_even_with_the_secret(start_method: str) -> None:
    before = shm()
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile() as out:
        os.mkfifo(os.path.join(folder, "info"))
        os.mkfifo(os.path.join(folder, "done"))
        env = {**os.environ, "STATELAB_TEST_HANDOFF": folder}
        runner = subprocess.Popen([sys.executable, "-m", "scenarios", "intruder", "--how", "outsider",
                                   "--start-method", start_method], stdout=out,
                                  stderr=subprocess.PIPE, env=env)
        try:
            with open(os.path.join(folder, "info")) as f:  # the child opens it when it is ready
                address_hex, secret, child = f.read().split()
            address = bytes.fromhex(address_hex).decode()
            assert address_in_proc_net_unix(runner.pid) == address
            # a process of the same user, started here, not a descendant of the runner, with the
            # address and the secret: it returns once the runner has closed its connections
            outsider = subprocess.Popen([sys.executable, "-c", OUTSIDER, address_hex, secret, child,
                                         str(Path(__file__).parent.parent)])
            assert outsider.wait(timeout=30) == 0
        finally:
            with open(os.path.join(folder, "done"), "w"):  # let the child go on
                pass
            stderr = runner.communicate(timeout=30)[1]
        out.seek(0)
        lines = [line for line in out.read().decode().splitlines() if line]
    events = [json.loads(line) for line in lines]
    check_stream(events, lines)
    result = Run(runner.returncode, events, stderr.decode(), {e["pid"] for e in events})
    assert_clean(result, before)
    assert result.pid_of("child") == int(child)
    assert_only_the_run_spoke(result, outsider.pid, "not a process of this run")


def peak_memory(pid: int) -> int:
    """The high-water mark of a live process's resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


def test_bad_lines_from_a_real_process_are_reported_and_the_runner_stays_small() -> None:
    """Not JSON, a JSON list, then 64 MiB without a newline: each is reported, the line after
    them is read, the run ends with run-end, and the runner never held the 64 MiB."""
    before = shm()
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile() as err:
        os.mkfifo(os.path.join(folder, "done"))
        env = {**os.environ, "STATELAB_TEST_HANDOFF": folder}
        runner = subprocess.Popen([sys.executable, "-m", "scenarios", "intruder", "--how", "bad-lines",
                                   "--timeout", "30"], stdout=subprocess.PIPE, stderr=err, env=env)
        assert runner.stdout is not None
        lines: list[str] = []
        try:
            for raw in runner.stdout:  # up to the line the child sent after the junk
                lines.append(raw.decode().rstrip("\n"))
                if '"after-junk"' in lines[-1]:
                    break
            assert lines and '"after-junk"' in lines[-1], "the runner ended before the line " \
                f"after the junk came: {[json.loads(line)['text'] for line in lines]}"
            # the runner has read all the junk: its peak memory so far includes the 64 MiB,
            # had it kept them (the child waits, so the runner is still running)
            peak = peak_memory(runner.pid)
        finally:
            with open(os.path.join(folder, "done"), "w"):  # let the child end
                pass
            lines += [raw.decode().rstrip("\n") for raw in runner.stdout]
            runner.wait(timeout=30)
        err.seek(0)
        stderr = err.read().decode()
    lines = [line for line in lines if line]
    events = [json.loads(line) for line in lines]
    check_stream(events, lines)
    result = Run(runner.returncode, events, stderr, {e["pid"] for e in events})
    assert_clean(result, before)
    assert "Traceback" not in stderr
    errors = [e["text"] for e in events if e["kind"] == "error"]
    child = result.pid_of("child")
    assert len(errors) == 3, errors
    assert f"child {child} sent a line that is not an event: not JSON" in errors[0]
    assert "a JSON object, not list" in errors[1]
    assert f"a line of {JUNK} bytes, over the bound of 4096" in errors[2]
    assert result.first("after-junk")["value"] == 1, "the line after the junk was read"
    assert result.holds("child-read-42") is True
    assert result.status == "error"  # a process broke the contract: reported, not hidden
    assert peak < JUNK // 2, f"the runner's peak RSS, {peak >> 20} MiB: it kept the junk"


def test_a_hold_outside_step_mode_does_not_stop_the_clock() -> None:
    """A child claims it is held at a checkpoint, then hangs: with --timeout 1, the deadline
    still comes at 1 s (it used to be suspended for as long as the claim stood)."""
    result = run("intruder", "--how", "hold", "--timeout", "1", timeout=30)
    assert result.status == "timeout"
    timeout = next(e for e in result.events if e["kind"] == "error" and "timeout" in e["data"])
    assert 1.0 <= timeout["t"] < 2.0, timeout["t"]
    assert result.events[-1]["t"] < 6.0
    assert result.holds("child-read-42") is True
