"""Which scenarios exist, in the order the app lists them, and what each one takes."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
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


@dataclass(frozen=True)
class Scenario:
    """What a scenario module declares about itself (its SPEC)."""

    name: str
    title: str
    summary: str  # one line for `statelab list` and the app's list
    uses: tuple[str, ...] = ()  # common knobs it takes besides start method and timeout
    own: tuple[Knob, ...] = ()  # its own knobs
    defaults: dict[str, Any] = field(default_factory=dict)  # overrides of knob defaults
    check: Callable[[Config], str | None] | None = None  # refuses combinations, with the reason
    from_lesson: bool = False

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
    def path(self) -> Path:
        return Path(str(self.module.__file__))

    def source(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def lesson(self) -> str:
        path = Path(__file__).parent / "lessons" / (self.spec.name + ".md")
        return path.read_text(encoding="utf-8") if path.exists() else ""


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
    return name in COMMON or any(name in s.knobs() for s in all_specs())
