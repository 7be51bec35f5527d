"""Which scenarios exist, in the order the app lists them, and what each one takes."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from scenarios.knobs import ALWAYS, COMMON, Config, ConfigError, Knob

if TYPE_CHECKING:
    from scenarios.findings import Finding, Record
    from scenarios.lab import Lab

# name -> module, lesson scenarios first
_MODULES: dict[str, str] = {
    "queue-copy": "scenarios.queue_copy",
    "shared-value": "scenarios.shared_value",
    "shared-array": "scenarios.shared_array",
    "pass-via-queue": "scenarios.pass_via_queue",
    "small-int-id": "scenarios.small_int_id",
    "type-codes": "scenarios.type_codes",
    "race": "scenarios.race",
    "copy-on-write": "scenarios.copy_on_write",
    "shared-memory": "scenarios.shared_memory",
    "manager": "scenarios.manager",
    "remote-manager": "scenarios.remote_manager",
}
# more scenarios, for tests and your own experiments: STATELAB_EXTRA_SCENARIOS="name=module,..."
for _item in filter(None, os.environ.get("STATELAB_EXTRA_SCENARIOS", "").split(",")):
    _name, _, _module = _item.partition("=")
    _MODULES[_name.strip()] = _module.strip()
LESSON_SCENARIOS = ("queue-copy", "shared-value", "shared-array", "pass-via-queue", "small-int-id")


class Scenario:
    """What a scenario module declares about itself (its SPEC)."""

    def __init__(self, name: str, title: str, summary: str, *, uses: tuple[str, ...] = (),
                 own: tuple[Knob, ...] = (), defaults: dict[str, Any] | None = None,
                 check: Callable[[Config], str | None] | None = None,
                 from_lesson: bool = False) -> None:
        self.name = name
        self.title = title
        self.summary = summary  # one line for `statelab list` and the app's list
        self.uses = uses  # common knobs it takes besides start method and timeout
        self.own = own  # its own knobs
        self.defaults: dict[str, Any] = dict(defaults or {})  # overrides of knob defaults
        self.check = check  # refuses a combination of knobs, with the reason
        self.from_lesson = from_lesson

    def __repr__(self) -> str:
        return f"Scenario({self.name!r})"

    def knobs(self) -> dict[str, Knob]:
        names = [*self.uses, *ALWAYS]
        found = {n: COMMON[n] for n in COMMON if n in names}
        found.update({k.name: k for k in self.own})
        return found

    def default_of(self, name: str) -> Any:
        return self.defaults.get(name, self.knobs()[name].default)


class Module:
    """A loaded scenario: its SPEC plus parent() and findings()."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.spec: Scenario = module.SPEC

    def parent(self, lab: Lab) -> None:
        self.module.parent(lab)

    def findings(self, record: Record) -> list[Finding]:
        result: list[Finding] = self.module.findings(record)
        return result

    @property
    def path(self) -> str:
        return str(self.module.__file__)

    def source(self) -> str:
        with open(self.path, encoding="utf-8") as f:
            return f.read()

    def lesson(self) -> str:
        path = os.path.join(os.path.dirname(__file__), "lessons", self.spec.name + ".md")
        if not os.path.exists(path):
            return ""
        with open(path, encoding="utf-8") as f:
            return f.read()


def names() -> list[str]:
    return list(_MODULES)


def load(name: str) -> Module:
    if name not in _MODULES:
        raise ConfigError(f"unknown scenario {name!r}; choose one of {', '.join(_MODULES)}")
    return Module(importlib.import_module(_MODULES[name]))


def get(name: str) -> Scenario:
    return load(name).spec


def all_specs() -> list[Scenario]:
    return [get(n) for n in _MODULES]


def is_knob(name: str) -> bool:
    """Is this some scenario's knob (so the message can say the scenario does not take it)?"""
    if name in COMMON:
        return True
    for scenario in names():
        try:
            if name in get(scenario).knobs():
                return True
        except ImportError:  # a broken scenario module must not turn a usage error into a crash
            continue
    return False
