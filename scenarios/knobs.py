"""The settings a run takes, how each is parsed from text, and what is allowed.

One parser serves `python -m scenarios`, `statelab run` and the app's settings
pane, so a value is refused with the same one-line message everywhere.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

from scenarios import typecodes


class ConfigError(ValueError):
    """Bad input: the message is one line that says what is allowed."""


class Knob:
    """One setting: its name, what it does, and what it accepts."""

    def __init__(self, name: str, help: str, choices: tuple[str, ...] = (), *,
                 kind: str = "choice", low: float | None = None, high: float | None = None,
                 default: Any = None) -> None:
        self.name = name
        self.help = help
        self.choices = choices
        self.kind = kind  # "choice", "int", "float", "value" (parsed per type code)
        self.low = low
        self.high = high
        self.default = default

    def __repr__(self) -> str:
        return f"Knob({self.name!r})"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def parse(self, text: str) -> Any:
        if self.kind == "choice":
            if text not in self.choices:
                raise ConfigError(
                    f"{self.flag}: {text!r} is not allowed; choose one of {', '.join(self.choices)}"
                )
            return text
        if self.kind in ("int", "float"):
            try:
                number: float = int(text) if self.kind == "int" else float(text)
            except ValueError:
                what = "a whole number" if self.kind == "int" else "a number"
                raise ConfigError(f"{self.flag}: {text!r} is not {what}; {self.bounds()}") from None
            if (self.low is not None and number < self.low) or (
                self.high is not None and number > self.high
            ) or number != number:
                raise ConfigError(f"{self.flag}: {text} is out of bounds; {self.bounds()}")
            return number
        raise ConfigError(f"{self.flag}: cannot parse {text!r}")  # "value" is parsed by Config

    def bounds(self) -> str:
        if self.low is None or self.high is None:
            return "any"
        if self.kind == "int":
            return f"allowed: {int(self.low)} to {int(self.high)}"
        return f"allowed: {self.low:g} to {self.high:g}"


START_METHODS = ("fork", "spawn", "forkserver")
LOCK_MODES = ("true", "false", "lock", "rlock")

COMMON: dict[str, Knob] = {
    k.name: k
    for k in (
        Knob("typecode", "array-module type code of the shared value",
             tuple(typecodes.TYPECODES)),
        Knob("lock", "lock=True (an RLock), lock=False (raw ctypes), a Lock() or an RLock() given",
             LOCK_MODES),
        Knob("value", "initial value, parsed for the type code", kind="value"),
        Knob("start_method", "how children are started", START_METHODS),
        Knob("timeout", "seconds before the run is stopped and its stacks shown",
             kind="float", low=0.5, high=300.0, default=10.0),
    )
}

ALWAYS = ("start_method", "timeout")


def default_start_method() -> str:
    return multiprocessing.get_start_method(allow_none=False)


class Config:
    """A parsed run configuration: what `python -m scenarios` was asked to do."""

    def __init__(self, scenario: str, start_method: str, timeout: float = 10.0,
                 step: bool = False, knobs: dict[str, Any] | None = None) -> None:
        self.scenario = scenario
        self.start_method = start_method
        self.timeout = timeout
        self.step = step
        self.knobs: dict[str, Any] = dict(knobs or {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return f"Config({self.to_json()!r})"

    @property
    def typecode(self) -> str:
        return str(self.knobs["typecode"])

    @property
    def lock(self) -> str:
        return str(self.knobs["lock"])

    @property
    def value(self) -> Any:
        return self.knobs["value"]

    def __getitem__(self, name: str) -> Any:
        return self.knobs[name]

    def to_json(self) -> dict[str, Any]:
        knobs = {k: (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in self.knobs.items()}
        return {"scenario": self.scenario, "start_method": self.start_method,
                "timeout": self.timeout, "step": self.step, **knobs}

    def to_argv(self) -> list[str]:
        """The arguments that make `python -m scenarios` run this configuration."""
        argv = [self.scenario, "--start-method", self.start_method, "--timeout", f"{self.timeout:g}"]
        for name, value in self.knobs.items():
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            argv += ["--" + name.replace("_", "-"), text]
        if self.step:
            argv.append("--step")
        return argv


def parse(scenario: str, options: dict[str, str], *, step: bool = False) -> Config:
    """Build a Config from text options ({"typecode": "i", ...}); ConfigError on bad input."""
    from scenarios import catalog

    spec = catalog.get(scenario)
    allowed = spec.knobs()
    for name in options:
        if name not in allowed:
            flag = "--" + name.replace("_", "-")
            if name not in COMMON and not catalog.is_knob(name):
                raise ConfigError(f"unknown option {flag}")
            takes = ", ".join(allowed[k].flag for k in allowed)
            raise ConfigError(f"{scenario} does not take {flag}; it takes {takes}")
    values: dict[str, Any] = {}
    for name, knob in allowed.items():
        if knob.kind == "value":
            continue
        text = options.get(name)
        if text is None:
            values[name] = spec.defaults.get(name, knob.default)
        else:
            values[name] = knob.parse(text)
    if "start_method" in allowed and values.get("start_method") is None:
        values["start_method"] = default_start_method()
    if "value" in allowed:
        code = typecodes.get(values["typecode"])
        text = options.get("value")
        if text is None:
            values["value"] = spec.defaults.get("value_" + code.code, code.default())
        else:
            try:
                values["value"] = code.parse(text)
            except ValueError as e:
                raise ConfigError(f"--value: {e}") from None
    cfg = Config(
        scenario=scenario,
        start_method=values.pop("start_method"),
        timeout=float(values.pop("timeout")),
        step=step,
        knobs=values,
    )
    if spec.check is not None:
        problem = spec.check(cfg)
        if problem:
            raise ConfigError(problem)
    return cfg


def parse_argv(argv: Sequence[str]) -> tuple[Config, dict[str, bool]]:
    """Parse `SCENARIO [--knob value]... [--step] [--control]`; flags come back in a dict."""
    from scenarios import catalog

    args = list(argv)
    if not args or args[0].startswith("-"):
        raise ConfigError(f"name a scenario first; choose one of {', '.join(catalog.names())}")
    scenario = args.pop(0)
    catalog.get(scenario)  # unknown names fail before anything else is looked at
    options: dict[str, str] = {}
    flags = {"step": False, "control": False}
    while args:
        arg = args.pop(0)
        if not arg.startswith("--"):
            raise ConfigError(f"unexpected argument {arg!r}; options look like --name VALUE")
        name, eq, inline = arg[2:].partition("=")
        name = name.replace("-", "_")
        if name in flags and not eq:
            flags[name] = True
            continue
        if eq:
            text = inline
        elif args:
            text = args.pop(0)
        else:
            raise ConfigError(f"{arg} needs a value")
        if name in options:
            raise ConfigError(f"{arg} is given twice")
        options[name] = text
    return parse(scenario, options, step=flags["step"]), flags


KnobCheck = Callable[[Config], str | None]
