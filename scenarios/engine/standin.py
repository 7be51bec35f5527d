"""Stand-ins for the lab, for a scenario saved with `statelab source NAME`.

A saved scenario must run with a plain `python3 NAME.py` on a machine without statelab: the
same experiment, the same knobs (as arguments), the same observations, printed as readable
lines instead of sent to a runner. `script.py` puts this module's code (with the knob parser
and the type-code table it uses) above the experiment, so the experiment's own text stays as
it is in `scenarios/`.

What a saved script leaves out, because only the runner can do it: the findings (they read the
record of a whole run), step mode, the stacks of stuck processes, and the report of what a run
left behind. At the deadline it ends the children it started.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

from scenarios.engine.children import child_role, exit_text, lock_argument
from scenarios.engine.knobs import Config, ConfigError, Scenario
from scenarios.engine.knobs import parse as parse_config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.process import BaseProcess
    from typing import Any, NoReturn
else:
    Any = object  # the experiments' annotations are never evaluated

_role = "parent"
_t0 = time.monotonic()  # a child is given its parent's (see _bootstrap)


def role() -> str:
    return _role


def _say(text: str) -> None:
    lines = str(text).splitlines() or [""]
    lead = f"{time.monotonic() - _t0:7.3f}  {_role:<10} "
    print("\n".join([lead + lines[0], *(" " * len(lead) + line for line in lines[1:])]),
          flush=True)


def observe(what: str, text: str, **data: Any) -> None:
    """What this process saw, as a line: `time  role  text`."""
    _say(text)


def checkpoint(name: str, text: str) -> None:
    """A point the lab can pause at (statelab's step mode); here only said."""
    _say(f"· {text}")


def error(text: str, **data: Any) -> None:
    _say(f"error: {text}")


class Finding:
    """Findings need the record of a whole run, which only statelab keeps: not checked here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


class RunState:
    """The record of a run that findings read; a saved script keeps none."""


def missing(*args: Any, **kwargs: Any) -> str:
    return "not checked in a saved script"


def _bootstrap(role: str, t0: float, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    global _role, _t0
    _role, _t0 = role, t0
    target(*args)


class Lab:
    """What the scenario's parent() is handed: the context, the knobs, and starting, joining and
    reporting its children."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.ctx = multiprocessing.get_context(cfg.start_method)
        self.deadline = _t0 + cfg.timeout
        self._children: list[tuple[BaseProcess, str]] = []
        self._reported: set[int] = set()

    def lock(self) -> Any:
        """The `lock=` argument the lock mode asks for."""
        return lock_argument(self.cfg.lock, self.ctx)

    def start(self, target: Callable[..., Any], *args: Any, role: str | None = None) -> BaseProcess:
        if role is None:
            role = child_role(len(self._children) + 1)
        process: BaseProcess = self.ctx.Process(  # type: ignore[attr-defined]
            target=_bootstrap, args=(role, _t0, target, args), name=role)
        process.start()
        self._children.append((process, role))
        _say(f"started {role}: pid {process.pid}")
        return process

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def join(self, process: BaseProcess) -> int | None:
        process.join(self.remaining())
        role = next((r for p, r in self._children if p is process), process.name)
        return self._report(process, role)

    def _report(self, process: BaseProcess, role: str) -> int | None:
        code, pid = process.exitcode, process.pid
        if code is not None and pid is not None and pid not in self._reported:
            self._reported.add(pid)
            _say(f"{role} {exit_text(code)[0]}")
        return code

    def announce_manager(self, manager: Any) -> int:
        process = getattr(manager, "_process", None)
        pid = int(process.pid) if process is not None and process.pid else 0
        if pid:
            _say(f"manager server started: pid {pid}")
        return pid

    def manager_ended(self, manager: Any) -> None:
        process = getattr(manager, "_process", None)
        if process is not None and process.pid:
            self._report(process, "manager server")

    def finish(self) -> None:
        """Join every child parent() did not join; at the deadline, end those still running."""
        for process, _ in self._children:
            self.join(process)
        for process, role in self._children:
            if process.is_alive():
                _say(f"{role} is still running at the deadline ({self.cfg.timeout:g} s): "
                     "ending it")
                process.terminate()
                process.join(2.0)
                if process.is_alive():
                    process.kill()
                    process.join()
                self._report(process, role)


def run_as_script(spec: Scenario) -> NoReturn:
    """Run the experiment with the knobs given on the command line."""
    parser = argparse.ArgumentParser(prog=os.path.basename(sys.argv[0]),
                                     description=f"{spec.title}: {spec.summary}")
    for knob in spec.knobs().values():
        shown = "{" + ",".join(knob.choices) + "}" if knob.kind == "choice" else knob.name.upper()
        parser.add_argument(knob.flag, dest=knob.name, metavar=shown, help=knob.help)
    options = {name: text for name, text in vars(parser.parse_args()).items() if text is not None}
    try:
        cfg = parse_config(spec, options)
    except ConfigError as e:
        print(f"{parser.prog}: {e}", file=sys.stderr)
        sys.exit(2)
    _say(f"{spec.name} under {cfg.start_method} on Python {sys.version.split()[0]}, "
         f"pid {os.getpid()}")
    lab = Lab(cfg)
    module: Any = sys.modules["__main__"]
    module.parent(lab)
    lab.finish()
    sys.exit(0)
