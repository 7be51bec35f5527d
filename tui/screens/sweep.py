"""The sweep in the app: the selected scenario once per start method, lock mode, type code or
Python, run one after the other, and the matrix of what each run found, filled in as they end.

The variants are `statelab sweep`'s (tui/sweep.py builds them from the settings, refusals
included) and the matrix is its table: the app and the command line read the same. Each run is
an ordinary `RunClient` run (the runner in its own session, with its control input), made the
app's current run while it goes: `x` stops it, and quitting or losing the terminal ends it the
way it ends any run. Closing the screen stops the sweep.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.messages import RunEnded, RunEvents
from tui.runclient import RunClient

HERE = Path(__file__).parent  # the screens' styles sit beside them

if TYPE_CHECKING:
    from tui.interpreters import Interpreter
    from tui.sweep import Variant

WIDE = 120  # columns: below this the claims go below the matrix, not in its first column
AXIS_LABELS = {"start-method": "start method: fork, spawn, forkserver",
               "lock": "lock mode: each lock= the scenario takes",
               "typecode": "type code: every ctypes type code",
               "python": "python: every CPython 3.11+ found here"}


class AxisChooser(ModalScreen[str | None]):
    """Which knob the sweep varies: only those the scenario takes."""

    CSS_PATH = HERE / "sweep.tcss"  # from here, for a subclass defined elsewhere too

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "cancel")]

    def __init__(self, scenario: str, axes: list[str]) -> None:
        super().__init__()
        self.scenario = scenario
        self.axes = axes

    def compose(self) -> ComposeResult:
        choices = OptionList(*(Option(AXIS_LABELS[a], id=a) for a in self.axes), id="axes")
        choices.border_title = f"sweep {self.scenario} over…"
        yield choices

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class SweepScreen(Screen[None]):
    """Runs the variants in turn; the matrix grows as each run ends."""

    CSS_PATH = HERE / "sweep.tcss"  # from here, for a subclass defined elsewhere too

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,w", "close", "close (stops the sweep)"),
        Binding("x", "stop_sweep", "stop"),
    ]

    class Done(Message):
        """Every variant ran (or the sweep was stopped)."""

    def __init__(self, scenario: str, over: str, variants: list[Variant]) -> None:
        super().__init__()
        self.scenario = scenario
        self.over = over
        self.variants = variants
        self.client: RunClient | None = None
        self.stopped = False
        self.finished = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield Static(id="sweep-status")
        with VerticalScroll(id="sweep-body"):
            yield Static(id="sweep-matrix")
        yield Footer()

    def on_mount(self) -> None:
        self.draw()
        self.run_worker(self._sweep(), group="sweep", exit_on_error=False)

    def status(self, text: str, style: str = "bold") -> None:
        self.query_one("#sweep-status", Static).update(f"[{style}]{text}[/]")

    def drawing(self) -> Any:
        from rich.console import Group
        from rich.text import Text

        from tui.sweep import claim_lines, matrix, notes

        wide = self.size.width >= WIDE or not self.size.width
        lines = [Text(line, style="dim") for line in notes(self.variants)]
        if not wide:  # each claim once, below, not wrapped in a narrow first column
            lines = [Text(line) for line in claim_lines(self.variants)] + lines
        return Group(matrix(self.scenario, self.over, self.variants, with_claims=wide), *lines)

    def draw(self) -> None:
        self.query_one("#sweep-matrix", Static).update(self.drawing())

    def on_resize(self) -> None:
        self.draw()

    def plain(self, width: int = 120) -> str:
        """The matrix as text, as drawn at that width."""
        import io

        from rich.console import Console

        console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
        console.print(self.drawing())
        return console.export_text()

    async def _sweep(self) -> None:
        todo = [v for v in self.variants if v.config is not None]
        try:
            for n, variant in enumerate(todo, 1):
                if self.stopped:
                    break
                self.status(f"sweep {self.scenario} over {self.over}: running {variant.label} "
                            f"({n} of {len(todo)}); x stops, escape closes")
                await self._run(variant)
                self.draw()
        finally:
            ran = sum(1 for v in todo if v.ran)
            if self.stopped:
                self.status(f"sweep stopped: {ran} of {len(todo)} variants ran (a run cut short "
                            "shows its status); escape closes", "bold yellow")
            else:
                self.status(f"sweep {self.scenario} over {self.over}: {ran} runs, done; escape "
                            "closes")
            self.finished.set()
            self.post_message(self.Done())

    async def _run(self, variant: Variant) -> None:
        assert variant.config is not None
        variant.ran = True

        def post(message: Message) -> None:  # called by the run client, on this loop
            if isinstance(message, RunEvents):
                variant.state.extend(message.events)
            elif isinstance(message, RunEnded):
                variant.exit_code = message.returncode
                variant.problem = message.stderr.strip()

        client = RunClient(variant.config, 0, post, python=variant.python)
        try:
            await client.start()
        except OSError as e:
            variant.problem = f"could not start the engine: {e}"
            return
        self.client = client
        app: Any = self.app
        app.client = client  # the app's current run: x, q and a lost terminal end it
        # a sweep's runs are runs of the session: listed in the history (h), saved, comparable
        record = app.history.begin(variant.config, variant.state)
        await client.ended.wait()  # its last events were posted before; RunEnded right after
        record.finish([])
        from tui import history

        history.save_later(app, record)  # the app's worker: it goes on if the sweep is closed

    async def stop(self) -> None:
        self.stopped = True
        if self.client is not None and self.client.running:
            await self.client.shutdown()

    async def action_stop_sweep(self) -> None:
        if self.finished.is_set():
            self.notify("The sweep has ended.", timeout=2)
            return
        self.status("stopping the sweep…", "bold yellow")
        await self.stop()

    async def action_close(self) -> None:
        await self.stop()
        self.dismiss(None)


def axes_of(scenario: str) -> list[str]:
    """The axes this scenario can be swept over."""
    from scenarios.engine import catalog
    from tui.sweep import AXES

    spec = catalog.get(scenario)
    return [axis for axis, knob in AXES.items() if knob is None or knob in spec.knobs()]


def build(scenario: str, over: str, options: dict[str, str],
          python: Interpreter) -> list[Variant]:
    """The variants, from the settings as they are (blocking: a Python may be probed, so call
    it in a thread); ConfigError if the scenario refuses them all."""
    from tui import sweep

    knob = sweep.AXES[over]
    texts = {k: v for k, v in options.items() if k != knob}
    if over == "python":
        texts.pop("start_method", None)  # each Python with its own default start method
    args = [] if over == "python" else ["--start-method", texts.get("start_method", "")]
    return sweep.variants(scenario, over, knob, texts, None if python.own else python.path, args)


async def open_sweep(app: Any, lab: Any, over: str | None) -> None:
    """From the lab screen's settings: ask the axis (unless given), build the variants in a
    thread (a Python may be probed), then show the sweep. `app` is the StatelabApp, `lab` its
    lab screen (not imported here: the app imports this module)."""
    from scenarios.engine.knobs import ConfigError

    scenario = lab.scenario
    if scenario is None or lab.settings.validate() is None:
        app.notify(f"Sweep refused: {lab.refuse_run()}", severity="error", timeout=6)
        return
    axes = axes_of(scenario)
    if over is not None and over not in axes:
        app.notify(f"{scenario} cannot be swept over {over[:20]}; it can over "
                   f"{', '.join(axes)}", severity="error")
        return

    async def start(axis: str | None) -> None:
        if axis is None:
            return
        app.notify(f"preparing the sweep over {axis}…", timeout=2)
        try:
            variants = await asyncio.to_thread(build, scenario, axis, lab.settings.options(),
                                               lab.settings.python)
        except ConfigError as e:
            app.notify(f"Sweep refused: {e}", severity="error", timeout=6)
            return
        await app.push_screen(SweepScreen(scenario, axis, variants))

    if over is None:
        app.push_screen(AxisChooser(scenario, axes), start)
    else:
        await start(over)
