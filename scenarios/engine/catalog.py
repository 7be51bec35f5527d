"""Which scenarios exist, in the order the app lists them, and what each one takes.

An experiment is any module of the `scenarios` package that defines a SPEC:
adding one is one module, one lesson file and its tests. A scenario named
`queue-copy` lives in `scenarios/queue_copy.py`, so running one imports only
that module. `STATELAB_EXTRA_SCENARIOS="name=package.module,..."` adds modules
from elsewhere (tests, your own experiments).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
from collections.abc import Sequence
from types import ModuleType

from scenarios.engine.knobs import COMMON, Config, ConfigError, Scenario, parse

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker

if TYPE_CHECKING:
    from scenarios.engine.catalog_index import Listed
    from scenarios.engine.findings import Finding
    from scenarios.engine.lab import Lab
    from scenarios.engine.state import RunState

PACKAGE = "scenarios"
DEFAULT = "shared-value"  # the scenario a front end shows first
FOLDER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # scenarios/
LESSONS = os.path.join(FOLDER, "lessons")


class Module:
    """A loaded scenario: its SPEC plus parent() and findings()."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.spec: Scenario = module.SPEC

    def parent(self, lab: Lab) -> None:
        self.module.parent(lab)

    def findings(self, run: RunState) -> list[Finding]:
        result: list[Finding] = self.module.findings(run)
        return result

    @property
    def path(self) -> str:
        return str(self.module.__file__)

    def source(self) -> str:
        with open(self.path, encoding="utf-8") as f:
            return f.read()

    def lesson(self) -> str:
        path = os.path.join(LESSONS, self.spec.name + ".md")
        if not os.path.exists(path):
            return ""
        with open(path, encoding="utf-8") as f:
            return f.read()


PROBLEMS: list[str] = []  # one line per extra scenario that cannot be used, for front ends


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _discover() -> dict[str, str]:
    """name -> module path, from the files of the package (nothing is imported), then the extra
    scenarios the environment names; a malformed extra is noted in PROBLEMS, never fatal."""
    found: dict[str, str] = {}
    for entry in sorted(os.listdir(FOLDER)):
        stem, ext = os.path.splitext(entry)
        if ext == ".py" and not stem.startswith("_"):
            found[stem.replace("_", "-")] = f"{PACKAGE}.{stem}"
    for item in filter(None, (i.strip() for i in os.environ.get(EXTRA, "").split(","))):
        name, eq, module = (part.strip() for part in item.partition("="))
        if not eq or not name or not MODULE.fullmatch(module):
            PROBLEMS.append(f"{EXTRA}: {_short(item)!r} is not NAME=package.module; ignored")
        elif name in found:
            PROBLEMS.append(f"{EXTRA}: {name!r} is a scenario of statelab's own; "
                            f"{_short(module)!r} does not replace it")
        else:
            found[name] = module
    return found


EXTRA = "STATELAB_EXTRA_SCENARIOS"
MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_MODULES = _discover()
_loaded: dict[str, Module] = {}
_broken: dict[str, str] = {}  # name -> why its module cannot be used
_specs: list[Scenario] | None = None


def _import(name: str) -> Module:
    """Import a scenario's module. What it prints while it loads goes to stderr (stdout may be
    the event stream); any failure becomes a ConfigError that names the module and why."""
    if name in _broken:
        raise ConfigError(_broken[name])
    try:
        with contextlib.redirect_stdout(sys.stderr):
            module = importlib.import_module(_MODULES[name])
        spec = getattr(module, "SPEC", None)
        if not isinstance(spec, Scenario) or spec.name != name:
            raise ConfigError(f"it defines no SPEC named {name!r}")
    except (Exception, SystemExit) as e:  # an experiment being written may fail in any way
        why = str(e) if isinstance(e, ConfigError) else f"{type(e).__name__}: {e}"
        _broken[name] = (f"scenario {name!r} ({_short(_MODULES[name], 40)}) cannot be loaded: "
                         f"{_short(why, 120)}")
        raise ConfigError(_broken[name]) from None
    return Module(module)


def load(name: str) -> Module:
    """The scenario module of that name; ConfigError if there is none or it cannot be loaded."""
    if name in _loaded:
        return _loaded[name]
    if name not in _MODULES:
        raise ConfigError(f"unknown scenario {_short(name, 40)!r}; choose one of {', '.join(names())}")
    _loaded[name] = _import(name)
    return _loaded[name]


def problems() -> list[str]:
    """One line for each extra scenario that was named but cannot be used (a module of the
    package that defines no SPEC is simply not an experiment)."""
    extras = [n for n in _MODULES if not _own(n)]
    loadable(extras)  # the package's own modules need not load for this
    return [*PROBLEMS, *(_broken[n] for n in extras if n in _broken)]


def all_specs() -> list[Scenario]:
    """Every scenario whose module loads and defines a SPEC, in the order of the lists."""
    global _specs
    if _specs is None:
        specs = []
        for name in _MODULES:
            try:
                specs.append(load(name).spec)
            except ConfigError:  # not an experiment, or one still being written: see problems()
                continue
        _specs = sorted(specs, key=_sort_key)
    return list(_specs)


def names() -> list[str]:
    return [s.name for s in all_specs()]


def get(name: str) -> Scenario:
    return load(name).spec


def is_knob(name: str) -> bool:
    """Is this some scenario's knob (so the message can say the scenario does not take it)?"""
    return name in COMMON or any(name in spec.knobs() for spec in all_specs())


def configure(name: str, options: dict[str, str], *, step: bool = False) -> Config:
    """The Config that options (knob name -> text) give for scenario `name`; ConfigError if
    they are not allowed."""
    return parse(get(name), options, step=step, known=is_knob)


def loadable(wanted: Sequence[str] | None = None) -> dict[str, Module]:
    """The scenario modules that load (all, or those named); one still being written, or
    broken, is skipped (catalog.problems() says why)."""
    found: dict[str, Module] = {}
    for name in wanted if wanted is not None else names():
        try:
            found[name] = load(name)
        except Exception:  # ModuleNotFoundError while it is written, or a half-written module
            continue
    return found


def _own(name: str) -> bool:
    """Is this one of the package's scenarios (not one STATELAB_EXTRA_SCENARIOS adds)?"""
    return _MODULES[name].startswith(PACKAGE + ".")


def _sort_key(item: Listed | Scenario) -> tuple[bool, int, str]:
    return (not item.from_lesson, item.order, item.name)


def listing(wanted: Sequence[str] | None = None) -> list[Listed]:
    """The scenarios that load (all, or those named), in the order of the lists.

    Importing every module would take a front end's first frame some 15 ms (remote-manager
    alone loads multiprocessing.managers), so what the list shows of the package's own modules
    comes from an index (catalog_index.py) while every file is as it was when it was made.
    """
    from scenarios.engine.catalog_index import Listed, read, write  # a front end's: not the runner's

    def listed(names: Sequence[str]) -> list[Listed]:
        return [Listed(m.spec.name, m.spec.from_lesson, m.spec.order)
                for m in loadable(names).values()]

    if wanted is not None:
        return listed(wanted)
    own = {n: m for n, m in _MODULES.items() if _own(n)}
    found = read(FOLDER, own)
    if found is None:
        found = listed(list(own))
        if len(found) == len(own):  # only an index of modules that all load is kept
            write(FOLDER, own, [load(item.name).spec for item in found])
    return sorted([*found, *listed([n for n in _MODULES if not _own(n)])], key=_sort_key)
