"""The engine's command line: `SCENARIO [--knob VALUE]... [--step] [--control]`."""

from __future__ import annotations

from collections.abc import Sequence

from scenarios.engine import catalog
from scenarios.engine.knobs import Config, ConfigError


def parse_argv(argv: Sequence[str]) -> tuple[Config, dict[str, bool]]:
    """Parse `SCENARIO [--knob value]... [--step] [--control]`; flags come back in a dict."""
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
    return catalog.configure(scenario, options, step=flags["step"]), flags
