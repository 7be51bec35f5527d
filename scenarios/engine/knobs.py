"""The settings a run takes, how each is parsed from text, and what is allowed.

One parser serves `python -m scenarios`, `statelab run` and the app's settings
pane, so a value is refused with the same one-line message everywhere.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable

from scenarios.engine import ctypes_table

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from typing import Any


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
                    f"{self.flag}: {ctypes_table.quote(text)} is not allowed; choose one of "
                    f"{', '.join(self.choices)}"
                )
            return text
        if self.kind in ("int", "float"):
            try:
                number: float = int(text) if self.kind == "int" else float(text)
            except ValueError:
                what = "a whole number" if self.kind == "int" else "a number"
                raise ConfigError(f"{self.flag}: {ctypes_table.quote(text)} is not {what}; "
                                  f"{self.bounds()}") from None
            if (self.low is not None and number < self.low) or (
                self.high is not None and number > self.high
            ) or number != number:
                raise ConfigError(f"{self.flag}: {number:g} is out of bounds; {self.bounds()}")
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
             tuple(ctypes_table.TYPECODES)),
        Knob("lock", "lock=True (an RLock), lock=False (raw ctypes), a Lock() or an RLock() given",
             LOCK_MODES),
        Knob("value", "initial value, parsed for the type code", kind="value"),
        Knob("start_method", "how children are started", START_METHODS),
        Knob("timeout", "seconds before the run is stopped and its stacks shown",
             kind="float", low=0.5, high=300.0, default=10.0),
    )
}

ALWAYS = ("start_method", "timeout")

# pace is a run option like --step, not a scenario's knob: every scenario takes it, and it never
# changes what the processes do, only how long each waits at its checkpoints
PACE = Knob("pace", "hold each process this long at every checkpoint, then go on by itself",
            kind="float", low=0.1, high=10.0)


def parse_pace(text: str) -> float:
    """--pace SECONDS as given; ConfigError names what is allowed (0.1 to 10 seconds)."""
    try:
        return float(PACE.parse(text))
    except ConfigError as e:
        raise ConfigError(f"{e} seconds") from None


def default_start_method() -> str:
    return multiprocessing.get_start_method(allow_none=False)


class Config:
    """A parsed run configuration: what `python -m scenarios` was asked to do."""

    def __init__(self, scenario: str, start_method: str, timeout: float = 10.0,
                 step: bool = False, knobs: dict[str, Any] | None = None,
                 pace: float | None = None) -> None:
        self.scenario = scenario
        self.start_method = start_method
        self.timeout = timeout
        self.step = step
        self.pace = pace  # seconds each checkpoint holds, then the run goes on (None: no pace)
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
        paced = {} if self.pace is None else {"pace": self.pace}  # an unpaced run's is as before
        return {"scenario": self.scenario, "start_method": self.start_method,
                "timeout": self.timeout, "step": self.step, **paced, **knobs}

    def to_argv(self) -> list[str]:
        """The arguments that make `python -m scenarios` run this configuration."""
        argv = [self.scenario, "--start-method", self.start_method, "--timeout", f"{self.timeout:g}"]
        for name, value in self.knobs.items():
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            argv += ["--" + name.replace("_", "-"), text]
        if self.step:
            argv.append("--step")
        if self.pace is not None:
            argv += ["--pace", f"{self.pace:g}"]
        return argv

    @property
    def holds(self) -> bool:
        """Whether processes wait at their checkpoints: for a step, or for the pace."""
        return self.step or self.pace is not None


class Scenario:
    """What a scenario module declares about itself (its SPEC)."""

    def __init__(self, name: str, title: str, summary: str, *, uses: tuple[str, ...] = (),
                 own: tuple[Knob, ...] = (), defaults: dict[str, Any] | None = None,
                 check: Callable[[Config], str | None] | None = None,
                 from_lesson: bool = False, order: int = 100) -> None:
        self.name = name
        self.title = title
        self.summary = summary  # one line for `statelab list` and the app's list
        self.uses = uses  # common knobs it takes besides start method and timeout
        self.own = own  # its own knobs
        self.defaults: dict[str, Any] = dict(defaults or {})  # overrides of knob defaults
        self.check = check  # refuses a combination of knobs, with the reason
        self.from_lesson = from_lesson
        self.order = order  # its place in lists: the lesson's order first, then the rest

    def __repr__(self) -> str:
        return f"Scenario({self.name!r})"

    def knobs(self) -> dict[str, Knob]:
        names = [*self.uses, *ALWAYS]
        found = {n: COMMON[n] for n in COMMON if n in names}
        found.update({k.name: k for k in self.own})
        return found

    def default_of(self, name: str) -> Any:
        return self.defaults.get(name, self.knobs()[name].default)


def parse(spec: Scenario, options: dict[str, str], *, step: bool = False,
          known: Callable[[str], bool] = lambda name: False) -> Config:
    """Build a Config from text options ({"typecode": "i", ...}); ConfigError on bad input.

    `known(name)` tells whether some other scenario takes a knob of that name, so the message
    can say this one does not take it rather than that the option does not exist."""
    allowed = spec.knobs()
    for name in options:
        if name not in allowed:
            flag = "--" + name.replace("_", "-")
            if name not in COMMON and not known(name):
                raise ConfigError(f"unknown option {flag}")
            takes = ", ".join(allowed[k].flag for k in allowed)
            raise ConfigError(f"{spec.name} does not take {flag}; it takes {takes}")
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
        code = ctypes_table.get(values["typecode"])
        text = options.get("value")
        if text is None:
            values["value"] = spec.defaults.get("value_" + code.code, code.default())
        else:
            try:
                values["value"] = code.parse(text)
            except ValueError as e:
                raise ConfigError(f"--value: {e}") from None
    cfg = Config(
        scenario=spec.name,
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
