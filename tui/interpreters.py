"""Which Python runs the engine: `--python PATH_OR_VERSION`, and the interpreters installed here.

The engine is standard library only, so any CPython 3.11 or newer can be the runner: it is
started as `<that python> -m scenarios ...` with the project's root on PYTHONPATH (nothing needs
installing in it). Nothing is taken on trust: before a run starts, the interpreter is asked, by
a tiny probe with a short timeout, what it is (implementation, version, executable, default
start method). A missing file, a directory, a program that is not Python, one that hangs, one
that is not CPython or older than 3.11 is refused with one line (ConfigError), before anything
is started.

`3.13` means `python3.13` on PATH, else the newest pyenv install of 3.13 (`3.13.0`: exactly that
one); a name without a slash is looked up on PATH; a path is used as given.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import scenarios
from scenarios.engine.ctypes_table import quote
from scenarios.engine.knobs import Config, ConfigError, default_start_method

OLDEST = (3, 11)  # the engine's own floor
PROBE_TIMEOUT = 5.0  # seconds: a cold start on a loaded machine takes well under one
PROBE_LIMIT = 4096  # bytes of a probe's answer read at most (a program that floods is no Python)
LONGEST_PATH = 4096  # PATH_MAX: anything longer is no path
VERSION = re.compile(r"(\d{1,2})\.(\d{1,3})(?:\.(\d{1,3}))?")
NAMED = re.compile(r"python3\.(\d{1,3})")  # python3.13: the names a version is looked up by
ROOT = str(Path(scenarios.__file__).resolve().parent.parent)  # where `scenarios` is importable

# Runs in the interpreter asked about, whatever its version (Python 2 included, to be able to
# say it is too old): the current folder is dropped from sys.path first, so a json.py there is
# not what answers; -E and -s keep the environment and the user's site out of it.
PROBE = """\
import sys
sys.path[:] = [p for p in sys.path if p not in ('', '.')]
import json, platform
method = None
if sys.version_info >= (3, 11):
    try:
        import multiprocessing
        method = multiprocessing.get_start_method()
    except Exception:
        pass
print(json.dumps({'statelab-probe': 1, 'implementation': platform.python_implementation(),
                  'version': list(sys.version_info[:3]), 'executable': sys.executable,
                  'start_method': method}))
"""


@dataclass(frozen=True)
class Interpreter:
    """A Python that answered the probe."""

    path: str  # what is started
    version: tuple[int, int, int]
    implementation: str  # "CPython", "PyPy", ...
    executable: str  # sys.executable, as it reported it
    start_method: str | None  # its default start method (None: too old to have one)
    own: bool = False  # the front end's own interpreter: started as before, nothing added

    @property
    def version_text(self) -> str:
        return "{}.{}.{}".format(*self.version)

    @property
    def usable(self) -> bool:
        return self.implementation == "CPython" and self.version[:2] >= OLDEST

    def describe(self) -> str:
        method = f", default start method {self.start_method}" if self.start_method else ""
        return f"{self.implementation} {self.version_text} ({self.path}{method})"

    def command(self, *args: str) -> list[str]:
        return [self.path, *args]

    def env(self) -> dict[str, str] | None:
        """The runner's environment: the project's root first on PYTHONPATH, so `-m scenarios`
        imports this tree in an interpreter where statelab is not installed. None: inherit (the
        front end's own interpreter has it installed)."""
        if self.own:
            return None
        paths = [ROOT, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


def own_info() -> dict[str, str]:
    """The front end's own Python, as the header shows it before a run names its own."""
    import platform

    return {"python": platform.python_version(),
            "platform": f"{platform.system()} {platform.machine()}",
            "default_start_method": default_start_method()}


def own() -> Interpreter:
    """The interpreter the front end runs on: no probe needed."""
    v = sys.version_info
    return Interpreter(sys.executable, (v.major, v.minor, v.micro), "CPython", sys.executable,
                       default_start_method(), own=True)


# -- asking an interpreter what it is --------------------------------------------------------


def _read_bounded(proc: subprocess.Popen[bytes], deadline: float) -> bytes | None:
    """Its stdout up to PROBE_LIMIT bytes, or None if it did not finish by the deadline."""
    assert proc.stdout is not None
    out = bytearray()
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while len(out) <= PROBE_LIMIT:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                return None
            chunk = os.read(proc.stdout.fileno(), PROBE_LIMIT + 1)
            if not chunk:
                break
            out += chunk
    try:
        proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return None
    return bytes(out)


def probe(path: str, timeout: float | None = None) -> Interpreter:
    """Start `path -E -s -c PROBE` and read its answer; ConfigError with one line if it is no
    Python (a program that hangs is killed, with whatever it started, at the timeout)."""
    timeout = PROBE_TIMEOUT if timeout is None else timeout
    shown = quote(path)
    try:
        proc = subprocess.Popen([path, "-E", "-s", "-c", PROBE], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    except (OSError, ValueError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigError(f"--python: {shown} cannot be started ({why})") from None
    try:
        answer = _read_bounded(proc, time.monotonic() + timeout)
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # its session: whatever it started too
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    if answer is None:
        raise ConfigError(f"--python: {shown} did not answer a version probe within {timeout:g} s;"
                          " it is not a Python that can run statelab")
    info = _answer(answer) if proc.returncode == 0 else None
    if info is None:
        raise ConfigError(f"--python: {shown} is not a Python (it did not answer a version probe "
                          "as Python does)")
    return Interpreter(path, *info)


def _answer(raw: bytes) -> tuple[tuple[int, int, int], str, str, str | None] | None:
    """(version, implementation, executable, start method) from the probe's line, or None."""
    try:
        data = json.loads(raw.decode("utf-8", "strict").strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    if not isinstance(data, dict) or data.get("statelab-probe") != 1:
        return None
    version, impl = data.get("version"), data.get("implementation")
    exe, method = data.get("executable"), data.get("start_method")
    if not (isinstance(version, list) and len(version) == 3
            and all(isinstance(n, int) for n in version) and isinstance(impl, str)):
        return None
    return ((version[0], version[1], version[2]), impl[:40], exe if isinstance(exe, str) else "",
            method if isinstance(method, str) else None)


def check(found: Interpreter, asked: str) -> Interpreter:
    """The interpreter, if it can run the engine; else ConfigError with one line."""
    if found.usable:
        return found
    what = f"{found.implementation} {found.version_text}"
    raise ConfigError(f"--python: {quote(asked)} is {what}; statelab runs on CPython "
                      f"{OLDEST[0]}.{OLDEST[1]} or newer")


# -- where interpreters are ------------------------------------------------------------------


def pyenv_root() -> Path | None:
    """Where pyenv keeps its installs: $PYENV_ROOT, `pyenv root`, or ~/.pyenv."""
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        try:
            done = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=3,
                                  stdin=subprocess.DEVNULL)
            root = done.stdout.strip() if done.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired):
            root = None
    path = Path(root) if root else Path.home() / ".pyenv"
    return path if (path / "versions").is_dir() else None


def _is_shim(path: str, root: Path | None) -> bool:
    return root is not None and Path(path).parent == root / "shims"


def _pyenv_installs(root: Path | None, major: int, minor: int,
                    micro: int | None = None) -> list[str]:
    """pyenv's installs of that version, newest first."""
    if root is None:
        return []
    found: list[tuple[tuple[int, ...], str]] = []
    for folder in (root / "versions").glob(f"{major}.{minor}.*"):
        parts = folder.name.split(".")
        if len(parts) != 3 or not parts[2].isdigit():
            continue  # 3.13.0t, 3.13-dev, a virtualenv: not the plain install asked for
        if micro is not None and int(parts[2]) != micro:
            continue
        exe = folder / "bin" / f"python{major}.{minor}"
        if os.access(exe, os.X_OK):
            found.append(((int(parts[2]),), str(exe)))
    return [exe for _, exe in sorted(found, reverse=True)]


def _on_path(name: str) -> list[str]:
    """Every executable of that name on PATH, in PATH's order."""
    found = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        exe = os.path.join(folder or ".", name)
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            found.append(exe)
    return found


def _by_version(text: str, match: re.Match[str]) -> Interpreter:
    major, minor = int(match.group(1)), int(match.group(2))
    micro = int(match.group(3)) if match.group(3) is not None else None
    root = pyenv_root()
    name = f"python{major}.{minor}"
    candidates = ([] if micro is not None else _on_path(name)) + _pyenv_installs(
        root, major, minor, micro)
    for candidate in candidates:
        try:
            found = probe(candidate)
        except ConfigError:
            continue  # a pyenv shim for a version not active here, say: try the next
        if found.version[:2] != (major, minor) or (micro is not None and found.version[2] != micro):
            continue
        if _is_shim(candidate, root) and found.executable:
            found = Interpreter(found.executable, found.version, found.implementation,
                                found.executable, found.start_method)
        return check(found, text)
    where = f"on PATH ({name})" if micro is None else ""
    if root is not None:
        where += (" or " if where else "") + f"in pyenv ({root / 'versions'})"
    raise ConfigError(f"--python: no Python {text} found {where or 'here'}; give a path to one, "
                      "or a version installed here")


def resolve(text: str | None) -> Interpreter:
    """The interpreter `--python TEXT` names, checked; the front end's own for None. ConfigError
    with one line for anything that cannot run the engine."""
    if text is None:
        return own()
    if not text:
        raise ConfigError("--python needs a path to a Python or a version like 3.13")
    if len(text) > LONGEST_PATH or not text.isprintable():
        raise ConfigError(f"--python: {quote(text)} is neither a path nor a version like 3.13")
    match = VERSION.fullmatch(text)
    if match:
        return _by_version(text, match)
    path = text
    if "/" not in text:
        which = shutil.which(text)
        if which is None:
            raise ConfigError(f"--python: no program {quote(text)} on PATH; give a path to a "
                              "Python, or a version like 3.13")
        path = which
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise ConfigError(f"--python: {quote(text)}: {e.strerror or 'cannot be read'}") from None
    if os.path.isdir(path) or not (mode & 0o111) or not os.access(path, os.X_OK):
        what = "a directory" if os.path.isdir(path) else "not an executable file"
        raise ConfigError(f"--python: {quote(text)} is {what}; give a Python's executable, or a "
                          "version like 3.13")
    return check(probe(path), text)


# -- every interpreter installed here ----------------------------------------------------------


def _candidates() -> Iterable[str]:
    """Executables that may be Pythons: PATH's (not pyenv's shims: its installs are looked at
    directly), then pyenv's installs."""
    root = pyenv_root()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or (root is not None and Path(folder) == root / "shims"):
            continue
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            found = NAMED.fullmatch(name)
            if (found and int(found.group(1)) >= OLDEST[1]) or name in ("python3", "python"):
                yield os.path.join(folder, name)
    if root is not None:
        for install in sorted((root / "versions").glob("3.*")):
            for exe in sorted((install / "bin").glob("python3.*")):
                found = NAMED.fullmatch(exe.name)
                if found and int(found.group(1)) >= OLDEST[1]:
                    yield str(exe)


def _try(path: str) -> Interpreter | None:
    try:
        return probe(path)
    except ConfigError:
        return None


def available(paths: Sequence[str] | None = None) -> list[Interpreter]:
    """The CPythons 3.11+ found (the front end's own first, then by version), one per real
    executable."""
    mine = own()
    candidates = list(dict.fromkeys(paths if paths is not None else _candidates()))
    with ThreadPoolExecutor(max_workers=4) as pool:
        probed = list(pool.map(_try, candidates))
    seen = {os.path.realpath(mine.executable)}
    found: list[Interpreter] = []
    for interp in probed:
        if interp is None or not interp.usable:
            continue
        real = os.path.realpath(interp.executable or interp.path)
        if real in seen:
            continue
        seen.add(real)
        found.append(interp)
    return [mine, *sorted(found, key=lambda i: (i.version, i.path))]


def start_method_given(args: Sequence[str]) -> bool:
    return any(a == "--start-method" or a.startswith("--start-method=") for a in args)


def runner_config(cfg: Config, interp: Interpreter, args: Sequence[str]) -> Config:
    """The run's configuration on that interpreter: without --start-method, the runner's own
    default start method (3.14 defaults to forkserver), not the front end's."""
    if not interp.own and interp.start_method and not start_method_given(args):
        cfg.start_method = interp.start_method
    return cfg
