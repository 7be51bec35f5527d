"""The help screen, on `?`: keys, panes, and what statelab promises."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from scenarios.engine.state import legend

HERE = Path(__file__).parent  # the screens' styles sit beside them

HELP = """\
# statelab: what processes really see

Pick a scenario on the left, set its knobs, and run it. Every process is a real
process, started by the engine (`python -m scenarios`) in a fresh interpreter;
every line in the log was observed in one of them.

| key | does |
|---|---|
| `r` | run the scenario with these settings |
| `s` | step: start a run paused at its first checkpoint, or release the processes held at one |
| `p` | pace of the next run: off, 0.5 s, 1 s, 2 s at each checkpoint, then on by itself |
| `x` | stop the run (every process of it is killed) |
| `e` | export the transcript (Markdown and JSON lines, in the current folder) |
| `h` | history: this session's and saved runs; enter shows one, `p` replays it, `m` marks it |
| `c` | compare the last run with the one before: side by side, differences marked `≠` |
| `?` | this help |
| `q` | quit (the run is stopped first) |
| `tab` / `shift+tab` | move between panes |
| `escape` | leave an input field (the keys above work again) |
| `enter` | in a field: run |
| `b` | hide or show the list and settings (below 100 columns a run hides them until it ends) |
| `ctrl+p` | command palette: jump to any scenario |

**Panes.** Scenario list and settings (knobs a scenario does not take are
greyed out; a bad value is marked with what is allowed, and Run waits until it
is fixed). The process table: role, pid, parent pid, state, memory (RSS; USS,
the pages only this process holds; PSS, its share of the pages it shares), CPU,
threads, and a USS trend; rows stay after a process ends, with its exit code
or signal. The observation log: one column per process, time-ordered; output
(prints, tracebacks) and errors stand out. Tabs: Findings (each claim, checked
against this run, and whether the lesson agrees), Code (the scenario's source:
what ran) and Lesson.

**Command line.** `statelab [--scenario NAME] [--typecode C] [--lock MODE]
[--start-method M] [--value V] [other knobs] [--timeout S] [--run] [--step]`:
`--run` runs at once, `--step` runs paused at the first checkpoint.

**Be the scheduler.** In step mode, `g`, `enter` or a click on a process's row
lets only that process go on, if it is held at a checkpoint (`s` still lets every
held process go on). The header lists who is held where; a process blocked on
something else (a lock) is not held, and its last words in the log say why. The
scenario `interleave` is made for this: its findings give the schedule you chose.

**Reading the findings.** Each finding is a claim, then what happened in this
run, in plain words and no colour whatever it was (a deadlock that holds is no
success): *holds*, *does not hold*, *not applicable* (the claim is not about these
settings, and the evidence says why) or *could not be checked* (something it
needs was not observed). Its mark says whether the lesson (or common belief)
was right. The same marks and words are used by `statelab run`, the export and
the sweep matrix.

{legend}

No process of a run outlives the app: not on quit, not when the terminal goes
away, not when the app is killed.

*Press `escape`, `?` or `q` to close this help.*
""".replace("{legend}", "\n".join(f"- `{mark}` {words}: {more}" for mark, words, more in legend()))


class HelpScreen(ModalScreen[None]):
    """Keys and panes."""

    CSS_PATH = HERE / "help.tcss"  # from here, for a subclass defined elsewhere too

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "close help"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP, id="help-text")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
