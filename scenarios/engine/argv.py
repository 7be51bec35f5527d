"""Command lines built from a scenario's spec: `SCENARIO [--knob VALUE]...` plus a few options.

One function, `build_parser`, makes a scenario's argparse parser; `python -m scenarios NAME`,
`statelab run NAME` and the app (`statelab --scenario NAME`) each use it with their own options.
argparse only collects the text: `catalog.configure()` checks every value, so a value is refused
with the same one-line message everywhere, and the help lists what configure accepts.

Bad input raises ConfigError with one printable line; `--help` prints the help on stdout and
raises HelpShown (a SystemExit with status 0).
"""

from __future__ import annotations

import argparse
import os
import re
import stat
from collections.abc import Callable, Sequence

from scenarios.engine import catalog, ctypes_table
from scenarios.engine.knobs import (
    Config,
    ConfigError,
    Knob,
    Scenario,
    default_start_method,
    parse_pace,
)

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from typing import Any, NoReturn

# argparse looks its own few words ("usage: ", "options") up through gettext, which imports
# locale and reads the environment for every parser made: 3 ms of a 100 ms headless run. Every
# other word of these command lines is English, so argparse's are too.
argparse._ = str  # type: ignore[attr-defined]  # (typeshed does not list it)

HELP = ("-h", "--help")
QUOTE = 40  # at most this many characters of what the user typed are quoted back
LONGEST = 600  # a message never gets longer than this


class HelpShown(SystemExit):
    """--help was asked for and its text printed: the program ends with status 0."""

    def __init__(self) -> None:
        super().__init__(0)


class Option:
    """An option of one command line besides the scenario's knobs: a switch, or one that
    takes a value (then `metavar` names it)."""

    def __init__(self, flag: str, help: str, metavar: str | None = None) -> None:
        self.flag = flag
        self.help = help
        self.metavar = metavar

    @property
    def dest(self) -> str:
        return self.flag[2:].replace("-", "_")

    def usage(self) -> str:
        return f"[{self.flag}{' ' + self.metavar if self.metavar else ''}]"


STEP = Option("--step", "pause every process at each checkpoint; a line on stdin steps")
PACE = Option("--pace", "hold every process that long at each checkpoint, then go on by itself "
                        "(0.1 to 10; with --step, a step lets it go sooner)", "SECONDS")
ENGINE_OPTIONS = (STEP, PACE, Option("--control", "read commands on stdin (step, stop); end of "
                                                  "input stops the run"))


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are ConfigError (one line, no usage block) and whose
    --help ends with HelpShown; `more()` is added to the help when it is shown."""

    def __init__(self, *args: Any, more: Callable[[], str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        self.more = more
        self.valued: set[str] = set()  # the flags that take a value

    def format_help(self) -> str:
        text = super().format_help()
        return f"{text}\n{self.more()}\n" if self.more is not None else text

    def error(self, message: str) -> NoReturn:
        found = re.match(r"argument (\S+): (.*)", message)
        if found:
            flag, reason = found.group(1).split("/")[-1], found.group(2)
            if reason.startswith("expected one argument"):
                message = f"{flag} needs a value"
            elif reason.startswith("ignored explicit argument"):
                message = f"{flag} takes no value"
            else:
                message = f"{flag}: {reason}"
        raise ConfigError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if status:
            raise ConfigError((message or "bad input").strip())
        raise HelpShown()


class _Once(argparse.Action):
    """Store the text as given; a second time is refused."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option_string or self.option_strings[0]} is given twice")
        setattr(namespace, self.dest, values)


# -- what a knob allows, for the help and for `statelab list` --------------------------------


def _number(knob: Knob, x: float) -> str:
    return str(int(x)) if knob.kind == "int" else f"{x:g}"


def allowed(knob: Knob) -> str:
    """What a knob accepts, in a few characters: `{a,b,c}`, `1 to 64`, or for --value that it is
    parsed for the type code."""
    if knob.kind == "choice":
        return "{" + ",".join(knob.choices) + "}"
    if knob.kind in ("int", "float"):
        if knob.low is None or knob.high is None:
            return "any number"
        return f"{_number(knob, knob.low)} to {_number(knob, knob.high)}"
    return "parsed for the type code"


def _show(value: Any) -> str:
    return repr(value.decode("latin-1")) if isinstance(value, bytes) else str(value)


def _quoted(value: Any) -> str:
    """A value of the type code's kind: characters quoted, numbers as they are."""
    return repr(value.decode("latin-1")) if isinstance(value, bytes) else (
        repr(value) if isinstance(value, str) else str(value))


def default_text(spec: Scenario, knob: Knob) -> str:
    """The knob's default for this scenario, as the help shows it."""
    if knob.name == "start_method" and spec.default_of(knob.name) is None:
        return f"{default_start_method()}, this interpreter's default"
    if knob.kind == "value":
        code = ctypes_table.get(str(spec.default_of("typecode") or "i")) \
            if "typecode" in spec.knobs() else None
        if code is None:
            return "chosen by the scenario"
        first = _quoted(spec.defaults.get("value_" + code.code, code.default()))
        others: dict[str, list[str]] = {}
        for other in ctypes_table.TYPECODES.values():
            shown = _quoted(spec.defaults.get("value_" + other.code, other.default()))
            if shown != first:
                others.setdefault(shown, []).append(other.code)
        rest = "".join(f"; {shown} for {', '.join(codes)}" for shown, codes in others.items())
        return f"{first}{rest}"
    value = spec.default_of(knob.name)
    if isinstance(value, float | int) and not isinstance(value, bool):
        return _number(knob, value)
    return _show(value)


def _metavar(knob: Knob) -> str:
    if knob.kind == "choice":
        return allowed(knob)
    return {"int": "N", "float": "X"}.get(knob.kind, "VALUE")


def describe(spec: Scenario, knob: Knob) -> str:
    """One knob in one line: `--typecode {c,u,b,...} (default I)`, `--processes N (1 to 64,
    default 2)`."""
    if knob.kind == "choice":
        return f"{knob.flag} {allowed(knob)} (default {default_text(spec, knob)})"
    return f"{knob.flag} {_metavar(knob)} ({allowed(knob)}, default {default_text(spec, knob)})"


def _knob_help(spec: Scenario, knob: Knob) -> str:
    text = knob.help
    if knob.name == "typecode":
        codes = ", ".join(f"{c.code} {c.c_type}" + (" (deprecated since 3.13)" if c.code == "u" else "")
                          for c in ctypes_table.TYPECODES.values())
        text += f": {codes}"
    elif knob.kind in ("int", "float"):
        text += f"; {allowed(knob)}"
    elif knob.kind == "value" and "parsed for the type code" not in text:
        text += ", parsed for the type code"
    return f"{text} (default: {default_text(spec, knob)})".replace("%", "%%")


# -- the parser of one scenario ----------------------------------------------------------------


def build_parser(spec: Scenario, prog: str, options: Sequence[Option] = (), *,
                 usage: str | None = None, description: str | None = None,
                 knobs_title: str | None = None, more: Callable[[], str] | None = None) -> Parser:
    """The parser of `PROG [--knob VALUE]... [options]` for this scenario: its knobs, with their
    allowed values and defaults in the help, then the command's own options."""
    if usage is None:
        usage = " ".join([prog, "[--KNOB VALUE]...", *(o.usage() for o in options)])
    if description is None:
        description = f"{spec.title} ({spec.name})\n{spec.summary}"
    parser = Parser(prog=prog, usage=usage, description=description, more=more, add_help=False)
    knobs = parser.add_argument_group(knobs_title or f"knobs of {spec.name}")
    for knob in spec.knobs().values():
        knobs.add_argument(knob.flag, dest=knob.name, action=_Once, metavar=_metavar(knob),
                           help=_knob_help(spec, knob))
        parser.valued.add(knob.flag)
    own = parser.add_argument_group("options")  # after the knobs
    own.add_argument(*HELP, action="help", help="show this help message and exit")
    for option in options:
        if option.metavar:
            own.add_argument(option.flag, dest=option.dest, action=_Once,
                             metavar=option.metavar, help=option.help.replace("%", "%%"))
            parser.valued.add(option.flag)
        else:
            own.add_argument(option.flag, dest=option.dest, action="store_true",
                             help=option.help.replace("%", "%%"))
    return parser


def _looks_like_option(arg: str) -> bool:
    """`--name`: after a flag that takes a value, anything else is that value (`--value -h`
    is the value '-h', not a request for help)."""
    return arg.startswith("--") and arg[2:3].isalpha()


def _join_values(args: Sequence[str], flags: set[str]) -> tuple[list[str], str | None]:
    """`--flag VALUE` becomes `--flag=VALUE`, so a value may start with '-' (`--value -1e300`);
    also the first flag left without a value."""
    joined: list[str] = []
    missing: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in flags:
            if i < len(args) and not _looks_like_option(args[i]):
                arg = f"{arg}={args[i]}"
                i += 1
            elif missing is None:
                missing = arg
        joined.append(arg)
    return joined, missing


def read(spec: Scenario, parser: Parser, args: Sequence[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """(the knobs' text by knob name, the other options by name) from `args`; ConfigError on bad
    input, HelpShown after printing the help. The values are not checked here: that is
    `catalog.configure()`'s job."""
    joined, missing = _join_values(args, parser.valued)
    if any(arg in HELP for arg in joined):
        parser.print_help()
        raise HelpShown()
    if missing is not None:
        raise ConfigError(f"{missing} needs a value")
    namespace, extras = parser.parse_known_args(joined)
    for name, value in vars(namespace).items():
        if isinstance(value, list):  # argparse's reading of `--value --`: no value at all
            raise ConfigError(f"--{name.replace('_', '-')} needs a value")
    knobs = spec.knobs()
    texts = {name: text for name, text in vars(namespace).items()
             if name in knobs and text is not None}
    # What argparse does not know: options of no knob of this scenario (configure says whether
    # some other scenario takes them), a knob spelled with '_', or a stray word.
    i = 0
    while i < len(extras):
        arg = extras[i]
        i += 1
        if not arg.startswith("--") or arg == "--":
            raise ConfigError(f"unexpected argument {arg!r}; options look like --name VALUE")
        name, eq, text = arg[2:].partition("=")
        name = name.replace("-", "_")
        if not eq:
            if i < len(extras) and not _looks_like_option(extras[i]):
                text = extras[i]
                i += 1
            elif name in knobs:
                raise ConfigError(f"{arg} needs a value")
        if name in texts:
            raise ConfigError(f"--{name.replace('_', '-')} is given twice")
        texts[name] = text
    others = {name: value for name, value in vars(namespace).items() if name not in knobs}
    return texts, others


# -- one line, short, printable ---------------------------------------------------------------


def tidy(message: str, args: Sequence[str]) -> str:
    """The message with long pieces of what the user typed cut to a short prefix, on one line of
    printable characters."""
    pieces: set[str] = set()
    for arg in args:
        name, _, value = arg.partition("=")
        for piece in (arg, name, value, name.replace("_", "-"), name.lstrip("-")):
            if len(piece) > QUOTE:
                pieces.add(piece)
    for piece in sorted(pieces, key=len, reverse=True):
        short = piece[:QUOTE] + "…"
        message = message.replace(repr(piece), repr(short)).replace(piece, short)
    message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
    return message if len(message) <= LONGEST else message[:LONGEST] + "…"


# -- a whole command line: SCENARIO [--knob VALUE]... [options] -------------------------------


def overview(prog: str, options: Sequence[Option]) -> str:
    """The help of `PROG --help`: the scenarios, then the options (loads every scenario)."""
    lines = [f"usage: {prog} SCENARIO [--KNOB VALUE]... {' '.join(o.usage() for o in options)}",
             "", f"`{prog} SCENARIO --help` shows a scenario's knobs, their values and defaults.",
             "", "scenarios:"]
    specs = catalog.all_specs()
    width = max((len(s.name) for s in specs), default=0) + 2
    lines += [f"  {s.name:<{width}}{s.summary}" for s in specs]
    lines += ["", "options:", f"  {'-h, --help':<{width}}show this help message and exit"]
    lines += [f"  {o.flag + (' ' + o.metavar if o.metavar else ''):<{width}}{o.help}" for o in options]
    return "\n".join(lines)


def parse_scenario(args: Sequence[str], prog: str,
                   options: Sequence[Option] = ENGINE_OPTIONS) -> tuple[Config, dict[str, Any]]:
    """`SCENARIO [--knob VALUE]... [options]` → (Config, the options by name). ConfigError (one
    tidy line) on bad input; HelpShown after printing the help."""
    args = list(args)
    try:
        if args and args[0] in HELP:
            print(overview(prog, options))
            raise HelpShown()
        if not args or args[0].startswith("-"):
            raise ConfigError(f"name a scenario first; choose one of {', '.join(catalog.names())}")
        name = args[0]
        spec = catalog.get(name)  # unknown names fail before anything else is looked at
        parser = build_parser(spec, f"{prog} {name}", options)
        texts, flags = read(spec, parser, args[1:])
        cfg = catalog.configure(name, texts, step=bool(flags.get("step")))
        cfg.pace = pace_of(flags)
        return cfg, flags
    except ConfigError as e:
        raise ConfigError(tidy(str(e), args)) from None


def pace_of(flags: dict[str, Any]) -> float | None:
    """The --pace a command line gave (None: none); ConfigError if it is not allowed. A
    command line without the option has no --pace at all."""
    text = flags.get("pace")
    return None if text is None else parse_pace(str(text))


def parse_argv(argv: Sequence[str]) -> tuple[Config, dict[str, bool]]:
    """`python -m scenarios SCENARIO [--knob VALUE]... [--step] [--pace SECONDS] [--control]`; the
    two switches come back in a dict (the pace is the Config's)."""
    cfg, flags = parse_scenario(argv, "python -m scenarios", ENGINE_OPTIONS)
    return cfg, {"step": bool(flags["step"]), "control": bool(flags["control"])}


def check_control_input() -> None:
    """Steps and commands come on stdin, as they are typed or sent: a terminal, a pipe or a
    socket. A file or /dev/null can send none while the run waits (it would wait for ever),
    so a run that needs them is refused (ConfigError) before anything starts."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        raise ConfigError("--step and --control read steps on stdin, and stdin is closed") from None
    if os.isatty(0) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return
    raise ConfigError("--step and --control read steps on stdin as they come: a terminal or a "
                      "pipe; stdin here is a file or a device that cannot send one later")
