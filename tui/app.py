"""The statelab app: choose a scenario, run it in real processes, watch them, step through it.

The app never forks: each run is the engine (`python -m scenarios`) in a fresh
interpreter, started as an asyncio subprocess in its own session. Its events
come back as `RunEvents` messages, psutil samples as `Samples` messages from a
thread worker; the handlers update the widgets inside `batch_update()`.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import platform
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, OptionList

from scenarios.engine import catalog, knobs
from scenarios.engine.catalog import Module
from scenarios.engine.knobs import Config
from tui.cli import DEFAULT_SCENARIO
from tui.messages import Event, RunEnded, RunEvents, Samples
from tui.runclient import RunClient
from tui.widgets.colours import Colours
from tui.widgets.header_info import HeaderInfo
from tui.widgets.process_table import ProcessTable
from tui.widgets.scenario_list import ScenarioList

if TYPE_CHECKING:
    from textual.command import Provider
    from textual.widgets import TabbedContent

    from tui.sampler import Sampler
    from tui.widgets.code_view import CodeView
    from tui.widgets.findings_view import FindingsView
    from tui.widgets.lesson_view import LessonView
    from tui.widgets.observation_log import ObservationLog
    from tui.widgets.settings_form import SettingsForm

NARROW = 100  # columns: below this a run hides the sidebar while it goes on


def this_interpreter() -> dict[str, Any]:
    return {"python": platform.python_version(),
            "platform": f"{platform.system()} {platform.machine()}",
            "default_start_method": knobs.default_start_method()}


def available_modules(names: Sequence[str] | None = None) -> dict[str, Module]:
    """The scenario modules that load; one still being written is skipped."""
    found: dict[str, Module] = {}
    for name in names if names is not None else catalog.names():
        try:
            found[name] = catalog.load(name)
        except Exception:  # ModuleNotFoundError while it is written, or a half-written module
            continue
    return found


def _scenario_commands() -> type[Provider]:
    from tui.screens.palette import ScenarioCommands  # loaded when the palette first opens

    return ScenarioCommands


class StatelabApp(App[int]):
    """The laboratory."""

    CSS_PATH = "app.tcss"
    TITLE = "statelab"
    COMMANDS: ClassVar[set[Any]] = App.COMMANDS | {_scenario_commands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run", "run"),
        Binding("s", "step", "step"),
        Binding("x", "stop", "stop"),
        Binding("e", "export", "export"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
        Binding("b", "toggle_sidebar", "sidebar"),
        Binding("escape", "leave_field", "leave field"),
    ]

    def __init__(self, scenario: str | None = None, options: dict[str, str] | None = None, *,
                 run: bool = False, step: bool = False,
                 interpreter: dict[str, Any] | None = None,
                 scenario_names: Sequence[str] | None = None) -> None:
        super().__init__()
        self.modules = available_modules(scenario_names)
        fallback = DEFAULT_SCENARIO if DEFAULT_SCENARIO in self.modules else None
        self.initial = scenario if scenario in self.modules else (
            fallback or next(iter(self.modules), None))
        self.initial_options = dict(options or {})
        self.autorun = run or step
        self.autostep = step
        self.interpreter = interpreter or this_interpreter()
        self.colours = Colours()
        self.scenario: str | None = None
        self.run_id = 0
        self.client: RunClient | None = None
        self.sampler: Sampler | None = None
        self.events: list[Event] = []  # the current run's events, as the engine wrote them
        self.run_config: Config | None = None
        self.held: dict[int, str] = {}  # pid -> checkpoint it is held at
        self.sidebar_hidden_for_run = False
        self.last_export: tuple[Path, Path] | None = None
        self._select_lock = asyncio.Lock()
        self.mounted = asyncio.Event()  # the settings, log and tabs exist (after the first frame)
        self.complete = asyncio.Event()  # ...and the first scenario is shown in them
        atexit.register(self.kill_run_now)

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # the first frame: what a person looks at first; the rest is mounted right after it
        yield HeaderInfo(self.interpreter, id="header")
        with Horizontal(id="body"):
            with VerticalScroll(id="sidebar"):
                yield ScenarioList([m.spec for m in self.modules.values()], id="scenarios")
            with Vertical(id="main"):
                yield ProcessTable(self.colours, id="processes")
        yield Footer()

    async def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._hang_up, sig)
        self.header.show("ready: r runs, s steps, ? help", "bold")
        self.query_one(ScenarioList).focus()
        self.call_after_refresh(self.build_rest)

    async def build_rest(self) -> None:
        """Mount the settings, the log and the tabs, once the first frame is on the screen."""
        from textual.widgets import TabbedContent, TabPane

        from tui.widgets.code_view import CodeView
        from tui.widgets.findings_view import FindingsView
        from tui.widgets.lesson_view import LessonView
        from tui.widgets.observation_log import ObservationLog
        from tui.widgets.settings_form import SettingsForm

        tabs = TabbedContent(id="tabs")
        await self.query_one("#sidebar").mount(SettingsForm(id="settings"))
        await self.query_one("#main").mount(ObservationLog(self.colours, id="log"), tabs)
        for pane in (TabPane("Findings", FindingsView(id="findings"), id="tab-findings"),
                     TabPane("Code", CodeView(id="code"), id="tab-code"),
                     TabPane("Lesson", LessonView(id="lesson"), id="tab-lesson")):
            await tabs.add_pane(pane)
        self.mounted.set()
        if self.initial is None:
            self.header.show("no scenario module could be loaded", "bold red")
            self.complete.set()
            return
        self.query_one(ScenarioList).choose(self.initial)
        await self.select_scenario(self.initial, self.initial_options)
        self.complete.set()
        if self.autorun:
            self.call_after_refresh(self.start_run, self.autostep)

    # -- widgets ---------------------------------------------------------------------------

    @property
    def header(self) -> HeaderInfo:
        return self.query_one(HeaderInfo)

    @property
    def settings(self) -> SettingsForm:
        return cast("SettingsForm", self.query_one("#settings"))

    @property
    def code_view(self) -> CodeView:
        return cast("CodeView", self.query_one("#code"))

    @property
    def lesson_view(self) -> LessonView:
        return cast("LessonView", self.query_one("#lesson"))

    @property
    def tabs(self) -> TabbedContent:
        return cast("TabbedContent", self.query_one("#tabs"))

    @property
    def table(self) -> ProcessTable:
        return self.query_one(ProcessTable)

    @property
    def log_view(self) -> ObservationLog:
        return cast("ObservationLog", self.query_one("#log"))

    @property
    def findings(self) -> FindingsView:
        return cast("FindingsView", self.query_one("#findings"))

    # -- choosing a scenario ---------------------------------------------------------------

    def choose_scenario(self, name: str) -> None:
        """Select a scenario from anywhere (command palette, tests)."""
        self.query_one(ScenarioList).choose(name)
        self.run_worker(self.select_scenario(name), group="select", exclusive=True)

    async def select_scenario(self, name: str, given: dict[str, str] | None = None) -> None:
        await self.mounted.wait()  # the settings and tabs are mounted after the first frame
        async with self._select_lock:  # one at a time: the settings rows are rebuilt
            if name == self.scenario and given is None:
                return
            module = self.modules[name]
            self.scenario = name
            await self.settings.set_scenario(module.spec, given)
            self.code_view.show_source(module.source())
            await self.lesson_view.show(name, module.spec.summary, module.lesson())
            if not self.running:
                self.log_view.hint(f"{name}: {module.spec.summary}.\nPress r to run it, s to "
                                   f"step through it, ? for help.")

    @on(OptionList.OptionHighlighted, "#scenarios")
    async def _scenario_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if event.option_index != event.option_list.highlighted:
            return  # an older highlight: the list has moved on
        if not self.complete.is_set():
            return  # the screen is being built: build_rest shows the initial scenario
        if name and name in self.modules and name != self.scenario:
            await self.select_scenario(name)

    # handlers by name: their widgets' modules load after the first frame
    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "tab-code":
            self.code_view.reveal()
        elif event.pane.id == "tab-lesson":
            self.lesson_view.reveal()

    def on_settings_form_changed(self, event: SettingsForm.Changed) -> None:
        code = self.code_view
        code.show_knobs(event.config.to_argv() if event.config else None, event.error)

    # -- running ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.client is not None and self.client.running

    async def on_settings_form_run_requested(self, event: SettingsForm.RunRequested) -> None:
        if event.step:
            await self.action_step()
        else:
            await self.action_run()

    async def action_run(self) -> None:
        await self.start_run(False)

    async def action_step(self) -> None:
        client = self.client
        if client is not None and client.running:
            if not client.config.step:
                self.notify("This run is not in step mode. Stop it (x), then press s to start "
                            "a stepped run.", severity="warning")
            elif not self.held:
                self.notify("No process is held at a checkpoint yet.", timeout=2)
            else:
                client.step()
                self.header.show(f"running {client.config.scenario} (step mode)", "bold")
            return
        await self.start_run(True)

    async def start_run(self, step: bool) -> None:
        await self.complete.wait()
        if self.running:
            self.notify("A run is in progress: x stops it.", severity="warning")
            return
        config = self.settings.validate(step=step)
        if config is None:
            problem = next(iter(self.settings.errors.values()), "the settings are not valid")
            self.notify(f"Run refused: {problem}", severity="error", timeout=6)
            return
        self.begin_run_view(config)
        client = RunClient(config, self.run_id, self.post_message)
        try:
            await client.start()
        except OSError as e:
            self.notify(f"could not start the engine: {e}", severity="error")
            return
        self.client = client
        self.settings.set_running(True)
        sidebar = self.query_one("#sidebar")
        if self.size.width < NARROW and sidebar.display:  # a run needs the width more
            self.action_toggle_sidebar()
            self.sidebar_hidden_for_run = True
        from tui.sampler import Sampler  # psutil is loaded with the first run

        self.sampler = Sampler(self.run_id, client.runner_pid, client.pids.copy, self.post_message)
        self.run_worker(self.sampler.loop, thread=True, group="sampler", exit_on_error=False)
        mode = " (step mode)" if step else ""
        self.header.show(f"running {config.scenario} under {config.start_method}{mode}", "bold")

    def begin_run_view(self, config: Config) -> int:
        """Clear the views for a new run; its messages carry the returned run id.

        Tests use it to show recorded events: they post `RunEvents` and `Samples` with this id,
        exactly as the run client and the sampler do.
        """
        self.run_id += 1
        self.events = []
        self.held = {}
        self.run_config = config
        self.last_export = None
        with self.batch_update():
            self.colours.clear()
            self.table.reset()
            self.log_view.reset()
            self.findings.reset()
            spec = self.modules[config.scenario].spec if config.scenario in self.modules else None
            self.findings.source = "the lesson" if spec is None or spec.from_lesson else "common belief"
            self.code_view.show_knobs(config.to_argv())
        return self.run_id

    async def action_stop(self) -> None:
        client = self.client
        if client is None or not client.running:
            self.notify("Nothing is running.", timeout=2)
            return
        self.header.show("stopping…", "bold yellow")
        self._stop_in_background(client)

    @work(group="shutdown", exit_on_error=False)
    async def _stop_in_background(self, client: RunClient) -> None:
        await client.shutdown()

    # -- what the run reports --------------------------------------------------------------

    @on(RunEvents)
    def _run_events(self, message: RunEvents) -> None:
        if message.run_id != self.run_id:
            return
        events = message.events
        self.events.extend(events)
        for event in events:
            pid = event.get("pid")
            if not isinstance(pid, int):
                continue
            if event.get("kind") == "checkpoint" and (event.get("data") or {}).get("hold"):
                self.held[pid] = str((event.get("data") or {}).get("name", "a checkpoint"))
            else:
                self.held.pop(pid, None)
        with self.batch_update():
            self.table.apply_events(events)
            self.log_view.add(events)
            if self.findings.add(events):
                self.tabs.active = "tab-findings"
            self._show_status(events)

    def _show_status(self, events: list[Event]) -> None:
        end = next((e for e in events if e.get("kind") == "run-end"), None)
        if end is not None:
            status = str(end.get("status"))
            seconds = (end.get("data") or {}).get("seconds")
            took = f" in {seconds:.2f} s" if isinstance(seconds, (int, float)) else ""
            style = "bold green" if status == "ok" else "bold red"
            self.header.show(f"{self.scenario_of_run()}: {status}{took}", style)
        elif self.held:
            where = next(iter(self.held.values()))
            self.header.show(f"PAUSED at {where}: s steps, x stops", "bold reverse")

    def scenario_of_run(self) -> str:
        return self.run_config.scenario if self.run_config else "run"

    @on(RunEnded)
    def _run_ended(self, message: RunEnded) -> None:
        if message.run_id != self.run_id:
            return
        if self.sampler is not None:
            self.sampler.stop()
        self.held = {}
        self.table.release_all()
        self.settings.set_running(False)
        if self.sidebar_hidden_for_run and not self.query_one("#sidebar").display:
            self.action_toggle_sidebar()
        self.sidebar_hidden_for_run = False
        if not any(e.get("kind") == "run-end" for e in self.events):
            problem = message.stderr.strip().splitlines()
            text = problem[-1] if problem else f"the engine exited with code {message.returncode}"
            self.header.show(f"run failed: {text}", "bold red")
            self.notify(text, severity="error", timeout=8)

    @on(Samples)
    def _samples(self, message: Samples) -> None:
        if message.run_id != self.run_id:
            return
        self.table.apply_samples(message.samples, message.gone)

    @on(Button.Pressed, "#stop")
    async def _stop_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        await self.action_stop()

    # -- export, help, leaving -------------------------------------------------------------

    def action_export(self) -> None:
        if not self.events or self.run_config is None:
            self.notify("Nothing to export yet: run a scenario first.", timeout=3)
            return
        from tui import export

        rows = [dict(row.cells) for row in self.table.rows_by_pid.values()]
        transcript = export.Transcript(self.run_config.scenario, self.run_config.to_argv(),
                                       list(self.events), rows, self.findings.source)
        try:
            md, jsonl = export.export(transcript)
        except OSError as e:
            self.notify(f"export failed: {e}", severity="error")
            return
        self.last_export = (md, jsonl)
        self.header.show(f"exported {md.name} and {jsonl.name}", "bold")
        self.notify(f"Transcript written: {md.name} and {jsonl.name}", title="export", timeout=8)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen  # Markdown is loaded when help is first asked

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_field":
            return self.in_field()
        return True

    def in_field(self) -> bool:
        from textual.widgets import Input, Select

        return isinstance(self.focused, (Input, Select))

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def action_toggle_sidebar(self) -> None:
        self.sidebar_hidden_for_run = False  # once toggled by hand, the user decides
        sidebar = self.query_one("#sidebar")
        sidebar.display = not sidebar.display
        if not sidebar.display and sidebar.has_focus_within:
            self.table.focus()

    def action_leave_field(self) -> None:
        if self.in_field():
            self.query_one(ScenarioList).focus()

    async def action_quit(self) -> None:
        self.header.show("stopping the run and quitting…", "bold yellow")
        await self.stop_everything()
        self.exit(0)

    async def stop_everything(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
        if self.client is not None:
            await self.client.shutdown()

    def _hang_up(self, sig: int) -> None:
        """SIGHUP (the terminal went away) or SIGTERM: kill the run now, then leave."""
        if self.client is not None:
            self.client.kill_now()
        if self.sampler is not None:
            self.sampler.stop()
        # the terminal may be gone: if leaving hangs on it, leave anyway
        timer = threading.Timer(1.5, os._exit, (128 + sig,))
        timer.daemon = True
        timer.start()
        self.exit(128 + sig)

    def kill_run_now(self) -> None:
        """Kill the run at once (at exit, or when a test fails): nothing of it may outlive us."""
        if self.client is not None:
            self.client.kill_now()
