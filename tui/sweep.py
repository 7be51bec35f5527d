"""`statelab sweep NAME --over AXIS [knobs]`: one scenario, once per start method, lock mode,
type code or Python, and one matrix of what each run found.

The question a learner asks after one run is "and under spawn?", "and without the lock?", "and
on 3.13?". A sweep answers it with real runs, one after the other, each a normal headless run
(`python -m scenarios ...`), its lines decoded through the protocol and folded into a RunState;
every cell is read from that run's state through `verdict()`, the same words as `statelab run`
and the app. Nothing is carried over from one run to the next, and nothing is guessed: a
variant that the scenario refuses (race's `--guard get_lock` with `--lock false`) is shown as
refused, with the scenario's reason, and a run that failed shows its status.

Ctrl-C stops the current run the way a stop does (the runner gets SIGINT) and the matrix shows
what was done; the variants not reached are marked as such.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scenarios.engine import catalog
from scenarios.engine.argv import HELP, HelpShown, Option, build_parser, overview, read, tidy
from scenarios.engine.ctypes_table import quote
from scenarios.engine.knobs import START_METHODS, Config, ConfigError
from scenarios.engine.protocol import Observe
from scenarios.engine.state import LESSON, RunState, legend, verdict
from tui import interpreters
from tui.interpreters import Interpreter
from tui.lines import LineReader

PROG = "statelab sweep"
AXES = {"start-method": "start_method", "lock": "lock", "typecode": "typecode", "python": None}
OPTIONS = (
    Option("--over", "what each run varies: start-method, lock, typecode (the scenario's own "
                     "values) or python (every CPython 3.11+ found here)", "AXIS"),
    Option("--python", "the Python that runs every variant: a path, or a version like 3.13 "
                       "(default: statelab's own)", "PATH_OR_VERSION"),
    Option("--json", "print one JSON object: each variant's config, interpreter, status and "
                     "findings"),
)
# the fields of an observation that say what was seen (ids, pids and timings differ every run)
KEY_FIELDS = ("value", "final", "lost", "same", "copied", "stored", "read")
MAX_OBSERVATIONS = 8  # rows of key observations in the matrix
STATUS_STYLES = {"ok": "green", "error": "bold red", "timeout": "bold red", "stopped": "yellow",
                 "refused": "dim", "not run": "dim"}
INTERRUPTED = 130  # the shell's status for a program ended by Ctrl-C


@dataclass
class Variant:
    """One column: what it set, on which Python, and what its run reported."""

    label: str
    python: Interpreter
    config: Config | None  # None: the scenario refused this combination (see `refused`)
    refused: str | None = None
    state: RunState = field(default_factory=RunState)
    ran: bool = False
    exit_code: int | None = None
    problem: str = ""  # what the runner printed on stderr

    @property
    def status(self) -> str:
        if self.refused is not None:
            return "refused"
        if not self.ran:
            return "not run"
        return self.state.status if self.state.ended else "stopped"

    def interpreter(self) -> dict[str, Any]:
        """As its run-start reported it; before a run, what the probe said."""
        if self.state.interpreter:
            return dict(self.state.interpreter)
        return {"python": self.python.version_text, "executable": self.python.path,
                "default_start_method": self.python.start_method}


# -- the command line ---------------------------------------------------------------------------


def parse(args: Sequence[str]) -> tuple[str, str, list[Variant], bool]:
    """(scenario, axis, the variants, --json); ConfigError with one line on bad input (nothing
    started), HelpShown after printing the help."""
    if not args or args[0] in HELP:
        if args:
            print(overview(PROG, OPTIONS))
            raise HelpShown()
        raise ConfigError(f"name a scenario first; choose one of {', '.join(catalog.names())}")
    name = args[0]
    if name.startswith("-"):
        raise ConfigError(f"name a scenario first; choose one of {', '.join(catalog.names())}")
    spec = catalog.get(name)
    parser = build_parser(spec, f"{PROG} {name}", OPTIONS,
                          description=f"Runs {name} once per value of --over, one after the "
                                      "other, and prints a matrix of the findings.")
    texts, flags = read(spec, parser, args[1:])
    over = flags["over"]
    sweepable = [axis for axis, knob in AXES.items() if knob is None or knob in spec.knobs()]
    if over is None:
        raise ConfigError(f"--over is needed; {name} can be swept over {', '.join(sweepable)}")
    if over not in AXES:
        raise ConfigError(f"--over: {quote(over)} is not allowed; choose one of {', '.join(AXES)}")
    knob = AXES[over]
    if over not in sweepable:
        raise ConfigError(f"{name} does not take --{over}; it can be swept over "
                          f"{', '.join(sweepable)}")
    if knob is not None and knob in texts:
        raise ConfigError(f"--over {over} sets --{over} in each run; do not give --{over} too")
    if over == "python" and flags["python"] is not None:
        raise ConfigError("--over python runs every Python found here; do not give --python too")
    catalog.configure(name, texts)  # the fixed knobs are checked once, before anything starts
    return name, over, variants(name, over, knob, texts, flags["python"], args), bool(flags["json"])


def variants(name: str, over: str, knob: str | None, texts: dict[str, str],
             python: str | None, args: Sequence[str]) -> list[Variant]:
    if knob is None:  # every Python found, each with its own default start method
        found = sorted(interpreters.available(), key=lambda i: i.version)
        return [Variant(label_of(i, found), i,
                        interpreters.runner_config(catalog.configure(name, texts), i, args))
                for i in found]
    interp = interpreters.resolve(python)
    values = START_METHODS if knob == "start_method" else catalog.get(name).knobs()[knob].choices
    made = []
    for value in values:
        try:
            cfg = catalog.configure(name, {**texts, knob: value})
        except ConfigError as e:
            made.append(Variant(value, interp, None, refused=tidy(str(e), args)))
            continue
        if knob != "start_method":
            cfg = interpreters.runner_config(cfg, interp, args)
        made.append(Variant(value, interp, cfg))
    if all(v.refused for v in made):
        raise ConfigError(f"{name} refuses every {over} with these knobs: {made[0].refused}")
    return made


def label_of(interp: Interpreter, found: list[Interpreter]) -> str:
    """A column's name: the version, and where it is if another has the same version."""
    same = [i for i in found if i.version == interp.version]
    return interp.version_text if len(same) == 1 else f"{interp.version_text} ({interp.path})"


# -- the runs -----------------------------------------------------------------------------------


def run(variant: Variant) -> bool:
    """Run one variant to its end, folding its lines; False if Ctrl-C stopped it."""
    assert variant.config is not None
    argv = variant.python.command("-m", "scenarios", *variant.config.to_argv())
    runner = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=variant.python.env())
    assert runner.stdout is not None and runner.stderr is not None
    variant.ran = True
    reader = LineReader(runner.pid)
    completed = True
    try:
        try:
            for raw in runner.stdout:
                fold(variant, reader, raw)
        except KeyboardInterrupt:
            completed = False
            # Ctrl-C in a terminal reached the runner too; a SIGINT sent to us alone did not.
            # A second one changes nothing: it stops the run the way a stop does, and reports.
            old = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                runner.send_signal(signal.SIGINT)
                for raw in runner.stdout:  # its last words: the stop, the exits, run-end
                    fold(variant, reader, raw)
            finally:
                signal.signal(signal.SIGINT, old)
    finally:
        variant.exit_code = runner.wait()
        variant.problem = runner.stderr.read().decode(errors="replace").strip()
        runner.stdout.close()
        runner.stderr.close()
    return completed


def fold(variant: Variant, reader: LineReader, raw: bytes) -> None:
    event = reader.read(raw)
    if event is not None:
        variant.state.apply(event)


def sweep(columns: list[Variant], progress: bool) -> bool:
    """Run each variant in turn; False if Ctrl-C stopped the sweep."""
    todo = [v for v in columns if v.config is not None]
    for n, variant in enumerate(todo, 1):
        if progress:
            print(f"statelab sweep: {variant.label} ({n} of {len(todo)})…", file=sys.stderr)
        if not run(variant):
            return False
    return True


# -- what the runs found ------------------------------------------------------------------------


def key_observations(state: RunState) -> dict[str, str]:
    """`role: what` -> what was seen, for the first observation of each kind that carries a
    value (ids, pids and timings are left out: they differ in every run)."""
    seen: dict[str, str] = {}
    for event in sorted(state.events, key=lambda e: e.t):  # in the order they happened
        if not isinstance(event, Observe):
            continue
        key = f"{event.role}: {event.data.get('what')}"
        if key in seen:
            continue
        shown = [(k, event.data[k]) for k in KEY_FIELDS
                 if k in event.data and isinstance(event.data[k], str | int | float | bool)]
        if shown:
            seen[key] = " ".join(_value(v) if k == "value" else f"{k}={_value(v)}"
                                 for k, v in shown)
    return seen


def _value(v: object) -> str:
    text = f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)
    return text if len(text) <= 24 else text[:24] + "…"


def report(name: str, over: str, columns: list[Variant], complete: bool) -> dict[str, Any]:
    """The sweep as one JSON-ready object."""
    out: list[dict[str, Any]] = []
    for v in columns:
        item: dict[str, Any] = {
            "variant": v.label, "status": v.status,
            "config": v.config.to_json() if v.config is not None else None,
            "interpreter": v.interpreter(), "exit_code": v.exit_code,
            "findings": [{"id": f.id, "claim": f.claim, "holds": f.holds, "lesson": f.lesson,
                          "applies": f.applies, "mark": verdict(f, v.state.source).mark,
                          "evidence": f.evidence}
                         for f in v.state.findings],
            "observations": key_observations(v.state),
        }
        if v.refused is not None:
            item["reason"] = v.refused
        elif v.problem:
            item["stderr"] = v.problem[:2000]
        out.append(item)
    return {"scenario": name, "axis": over, "complete": complete,
            "values": [v.label for v in columns], "variants": out}


def matrix(name: str, over: str, columns: list[Variant], with_claims: bool = True) -> Any:
    """Rows: status, then the findings by id, then key observations; a column per variant.
    Without with_claims (a narrow screen) a finding's row gives only its id (see `claim_lines`)."""
    from rich.table import Table
    from rich.text import Text

    from tui.timeline import HAPPENED, TONES

    source = next((v.state.source for v in columns if v.ran), LESSON)
    table = Table(title=f"{name}, once per {over}", title_justify="left", show_lines=True,
                  caption=", ".join(f"{mark} {words}" for mark, words, _ in legend(source)),
                  caption_justify="left")
    table.add_column("", ratio=3)
    for v in columns:
        table.add_column(v.label, ratio=2)
    if over != "start-method":
        table.add_row("start method", *(v.config.start_method if v.config else "—"
                                        for v in columns))
    if over != "python":
        table.add_row("Python", *(str(v.interpreter().get("python", "?")) for v in columns))
    table.add_row(Text("status", style="bold"),
                  *(Text(v.status, style=STATUS_STYLES.get(v.status, "")) for v in columns))
    claims: dict[str, str] = {}
    for v in columns:
        for f in v.state.findings:
            claims.setdefault(f.id, f.claim)
    for fid, claim in claims.items():
        cells: list[Text] = []
        for v in columns:
            found = next((f for f in v.state.findings if f.id == fid), None)
            if found is None:
                cells.append(Text("—", style="dim"))
                continue
            verdict_ = verdict(found, v.state.source)  # the mark in its tone, what happened neutral
            cells.append(Text.assemble((verdict_.mark, TONES[verdict_.tone]), " ",
                                       (verdict_.happened, HAPPENED)))
        table.add_row(Text.assemble((fid, "bold"), "\n", claim) if with_claims
                      else Text(fid, style="bold"), *cells)
    observed = [key_observations(v.state) for v in columns]
    keys = list(dict.fromkeys(k for seen in observed for k in seen))[:MAX_OBSERVATIONS]
    for key in keys:
        table.add_row(Text(key, style="italic"),
                      *(Text(seen.get(key, "—")) for seen in observed))
    return table


def claim_lines(columns: list[Variant]) -> list[str]:
    """`id: claim`, one line per finding of the matrix (below it, where its rows are narrow)."""
    claims: dict[str, str] = {}
    for v in columns:
        for f in v.state.findings:
            claims.setdefault(f.id, f.claim)
    return [f"{fid}: {claim}" for fid, claim in claims.items()]


def notes(columns: list[Variant]) -> list[str]:
    """A line for each variant refused, or whose runner said something on stderr."""
    lines = []
    for v in columns:
        if v.refused is not None:
            lines.append(f"{v.label}: refused: {v.refused}")
        elif v.problem:
            lines.append(f"{v.label}: the runner said: {v.problem.splitlines()[-1][:200]}")
    return lines


# -- main ---------------------------------------------------------------------------------------


def main(args: Sequence[str]) -> int:
    args = list(args)
    try:
        name, over, columns, as_json = parse(args)
    except HelpShown:
        return 0
    except ConfigError as e:
        print(f"statelab: {tidy(str(e), args)}", file=sys.stderr)
        return 2
    try:
        complete = sweep(columns, progress=not as_json and sys.stderr.isatty())
    except KeyboardInterrupt:  # between two runs: nothing is running
        complete = False
    done = sum(1 for v in columns if v.ran)
    if as_json:
        print(json.dumps(report(name, over, columns, complete), ensure_ascii=False))
    else:
        from rich.console import Console

        console = Console(highlight=False)
        console.print(matrix(name, over, columns))
        for line in notes(columns):
            console.print(line, style="dim", markup=False)
        if not complete:
            console.print(f"stopped by Ctrl-C: {done} of {len(columns)} variants ran (a run "
                          "cut short shows its status)", style="bold yellow")
    if not complete:
        return INTERRUPTED
    return 0 if all(v.status in ("ok", "refused") for v in columns) else 1
