"""`--python PATH_OR_VERSION`: the engine runs on another installed CPython, which its run-start
names; anything that cannot run it is refused with one line and exit status 2.

The interpreters are looked for here independently of tui.interpreters (PATH, then pyenv's
installs), each asked for its version; a version not installed is skipped, saying so.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scenarios.engine.protocol import FindingEvent, RunEnd, RunStart, decode
from tui import cli, interpreters

VERSIONS = ("3.11", "3.12", "3.13")


def _pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def find(version: str) -> str | None:
    """The executable of a CPython `version`: python3.X on PATH, or pyenv's."""
    candidates = [p for p in [shutil.which(f"python{version}")] if p]
    candidates += sorted(glob.glob(str(_pyenv_root() / "versions" / f"{version}.*" / "bin" /
                                       f"python{version}")))
    for path in candidates:
        try:
            done = subprocess.run([path, "-c", "import platform, sys; print(platform.python_version(),"
                                                " platform.python_implementation(), sys.executable)"],
                                  capture_output=True, text=True, timeout=10,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            continue
        words = done.stdout.split(maxsplit=2)
        if done.returncode == 0 and len(words) == 3 and words[1] == "CPython" \
                and words[0].startswith(version + "."):
            return words[2].strip()  # itself, not a launcher such as pyenv's shim
    return None


def clean_env() -> dict[str, str]:
    """No PYTHONPATH (the conftest sets one): the front end must give the runner the project's
    root itself, in an interpreter where statelab is not installed."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "STATELAB_EXTRA_SCENARIOS")}
    return {**env, "NO_COLOR": "1", "COLUMNS": "160"}


def statelab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True,
                          timeout=120, env=clean_env(), stdin=subprocess.DEVNULL,
                          cwd="/")  # not the project: -m scenarios must not find it there


@pytest.mark.parametrize("version", VERSIONS)
def test_a_run_on_each_installed_python_names_it(version: str) -> None:
    path = find(version)
    if path is None:
        pytest.skip(f"no CPython {version} installed here (not on PATH, not in pyenv)")
    for asked in (version, path):  # by version, and by path as given
        done = statelab("run", "shared-value", "--python", asked, "--json")
        assert done.returncode == 0, done.stderr
        events = [decode(line) for line in done.stdout.splitlines()]
        start = next(e for e in events if isinstance(e, RunStart))
        assert start.interpreter["python"].startswith(version + ".")
        assert start.interpreter["implementation"] == "cpython"
        if asked == path:
            assert start.interpreter["executable"] == path
        assert next(e for e in events if isinstance(e, RunEnd)).status == "ok"
        # the scenario ran there: its findings were checked
        assert {e.id for e in events if isinstance(e, FindingEvent)} >= {"same-id"}


def test_the_timeline_header_names_the_interpreter() -> None:
    path = next((p for p in map(find, VERSIONS[::-1]) if p), None)
    assert path is not None  # this test runs on one of them
    done = statelab("run", "shared-value", "--python", path)
    assert done.returncode == 0, done.stderr
    head = done.stdout.split("process-start")[0]
    assert path in head and "CPython" in head


def test_sweep_over_python_runs_every_version_found() -> None:
    found = {v: find(v) for v in VERSIONS}
    done = statelab("sweep", "shared-value", "--over", "python", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    ran = [v["interpreter"]["python"] for v in report["variants"]]
    for variant in report["variants"]:
        assert variant["status"] == "ok"
        assert variant["variant"].split()[0] == variant["interpreter"]["python"]
    for version, path in found.items():
        if path is not None:
            assert any(r.startswith(version + ".") for r in ran), (version, ran)
    assert len(set(zip(ran, (v["interpreter"]["executable"] for v in report["variants"]),
                       strict=True))) == len(ran)  # each interpreter once


def _script(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def refused(capsys: pytest.CaptureFixture[str], python: str) -> str:
    assert cli.main(["run", "shared-value", "--python", python]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no run-start: nothing was started
    assert err.count("\n") == 1 and err.startswith("statelab: --python") and len(err) < 300, err
    return err


def test_bad_interpreters_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "No such file" in refused(capsys, str(tmp_path / "no-such-python"))
    assert "is not a Python" in refused(capsys, shutil.which("true") or "/bin/true")
    assert "is a directory" in refused(capsys, str(tmp_path))
    (tmp_path / "plain").write_text("x")  # not executable
    assert "not an executable" in refused(capsys, str(tmp_path / "plain"))
    assert "cannot be started" in refused(capsys, _script(tmp_path, "junk", "\x7fELF junk"))
    long = refused(capsys, "3" + "x" * 10_000)
    assert "x" * 41 not in long  # quoted: a short prefix only
    assert "neither a path nor a version" in refused(capsys, "python\x1b[2J")
    assert "no Python 3.99 found" in refused(capsys, "3.99")
    pypy = _script(tmp_path, "pypy", "#!/bin/sh\necho '{\"statelab-probe\": 1, \"implementation\": "
                                     "\"PyPy\", \"version\": [3, 11, 9], \"executable\": \"x\"}'\n")
    assert "is PyPy 3.11.9; statelab runs on CPython 3.11 or newer" in refused(capsys, pypy)


def test_an_old_python_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    if find("3.10") is None:
        pytest.skip("no CPython 3.10 installed here (not on PATH, not in pyenv)")
    assert "is CPython 3.10." in refused(capsys, "3.10")


def test_a_probe_that_hangs_is_refused_and_killed(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pids = tmp_path / "pids"
    hang = _script(tmp_path, "hang", f"#!/bin/sh\necho $$ > {pids}\nsleep 60 &\necho $! >> {pids}\n"
                                     "wait\n")
    monkeypatch.setattr(interpreters, "PROBE_TIMEOUT", 0.5)
    assert "did not answer a version probe within 0.5 s" in refused(capsys, hang)
    for pid in map(int, pids.read_text().split()):  # the script and what it started
        assert ended(pid), pid


def ended(pid: int, within: float = 5.0) -> bool:
    """Gone, or a zombie waiting for its reaper (SIGKILL lands asynchronously)."""
    deadline = time.monotonic() + within
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def test_the_apps_run_client_starts_the_runner_on_the_python_given() -> None:
    """The app's RunClient (no app needed): a run on another interpreter, read as the app reads
    it, names that interpreter; without one it is the app's own, as before."""
    import asyncio

    from scenarios.engine import catalog
    from tui.messages import RunEnded, RunEvents
    from tui.runclient import RunClient

    path = next((p for p in map(find, VERSIONS[::-1]) if p and p != sys.executable), None)
    if path is None:
        pytest.skip("no CPython 3.11-3.13 installed here besides the one running the tests")
    posted: list[object] = []

    async def one(python: interpreters.Interpreter | None) -> RunStart:
        posted.clear()
        client = RunClient(catalog.configure("shared-value", {}), 1, posted.append, python)
        await client.start()
        await asyncio.wait_for(client.ended.wait(), 60)
        await client.shutdown()
        events = [e for m in posted if isinstance(m, RunEvents) for e in m.events]
        assert any(isinstance(m, RunEnded) and m.returncode == 0 for m in posted)
        return next(e for e in events if isinstance(e, RunStart))

    other = asyncio.run(one(interpreters.resolve(path)))
    assert other.interpreter["executable"] == path
    mine = asyncio.run(one(None))
    assert mine.interpreter["executable"] == sys.executable
