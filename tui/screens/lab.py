"""The laboratory's screen: the layout, and the view of the current run.

The screen composes the first frame (the header, the scenario list, the
process table, the footer) and mounts the rest (settings, log, tabs) right
after it. It keeps the current run's `RunState`: the run client posts
`RunEvents` here, the sampler `Samples`; both are folded and drawn inside
`batch_update()`. Starting, stepping and stopping a run, the sampler, signals
and leaving belong to the App.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, OptionList

from scenarios.engine import catalog
from scenarios.engine.catalog_index import Listed
from scenarios.engine.knobs import Config, ConfigError, Scenario
from scenarios.engine.protocol import Event, Memory, Output
from scenarios.engine.state import RunState
from tui.export import stream_notes
from tui.history import RunRecord, Sampled
from tui.messages import RunEnded, RunEvents, Samples, ScenarioChosen
from tui.screens.layout import LabLayout
from tui.widgets.colours import Colours
from tui.widgets.header_info import HeaderInfo
from tui.widgets.process_table import ProcessTable
from tui.widgets.scenario_list import ScenarioList

if TYPE_CHECKING:
    from textual.command import Provider
    from textual.widgets import TabbedContent

    from tui.widgets.settings_form import SettingsForm



def _scenario_commands() -> type[Provider]:
    from tui.screens.palette import ScenarioCommands  # loaded when the palette first opens

    return ScenarioCommands


def _lab_commands() -> type[Provider]:
    from tui.screens.commands import LabCommands  # loaded when the palette first opens

    return LabCommands


class LabScreen(LabLayout):
    """The scenario list and settings, the process table, the log and the tabs."""

    COMMANDS: ClassVar[set[Any]] = {_lab_commands, _scenario_commands}
    # step mode: let only the process of the selected row go on (not in the footer: s is)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "release_selected", "let the selected process go on", show=False),
    ]

    def __init__(self, listed: Sequence[Listed], interpreter: dict[str, Any],
                 initial: str | None, options: dict[str, str] | None = None) -> None:
        super().__init__()
        self.listed = list(listed)  # the scenarios listed; each module loads when chosen
        self.names = {item.name for item in self.listed}
        self.interpreter = interpreter
        self.initial = initial
        self.initial_options = dict(options or {})
        self.colours = Colours()
        self.scenario: str | None = None  # the one shown in the settings
        self.run_id = 0  # the current run's: messages of an older run are ignored
        self.run_config: Config | None = None
        self.state = RunState()  # the current run, folded
        self.stream_notes: list[Output] = []  # the runner's reports of events left out of its
        # stream (the state may not keep them: they are output, past its output bound)
        self.live = False  # the runner of the current run has not ended yet
        self.recording: RunRecord | None = None  # the history's record of the current run
        self.past: str | None = None  # the label of the past run shown, if one is
        self._select_lock = asyncio.Lock()
        self.complete = asyncio.Event()  # ...and the first scenario is shown in them

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # the first frame: what a person looks at first; the rest is mounted right after it
        yield HeaderInfo(self.interpreter, id="header")
        with Horizontal(id="body"):
            with VerticalScroll(id="sidebar"):
                yield ScenarioList(self.listed, id="scenarios")
            with Vertical(id="main"):
                yield ProcessTable(self.colours, id="processes")
        yield Footer()

    def on_mount(self) -> None:
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
        asked = getattr(self.app, "python", None)  # --python on the command line
        if asked is not None and not asked.own:
            from tui import interpreters

            self.settings.set_pythons([interpreters.own(), asked], chosen=asked.path)
        if not self.app.is_headless:  # tests give the list themselves (set_pythons)
            self.run_worker(self._find_pythons, thread=True, group="pythons", exit_on_error=False)

    def _find_pythons(self) -> None:
        """Ask every CPython 3.11+ on the PATH and in pyenv what it is (a subprocess each, in
        a thread): the settings list them once they answered."""
        from tui import interpreters

        found = interpreters.available()
        asked = getattr(self.app, "python", None)
        if asked is not None and all(i.path != asked.path for i in found):
            found.append(asked)  # a path given that the search does not find
        prefs = getattr(self.app, "prefs", None)  # the Python the last session chose
        chosen = asked.path if asked is not None else getattr(prefs, "python", None)
        self.app.call_from_thread(self.settings.set_pythons, found, chosen)

    # -- choosing a scenario ---------------------------------------------------------------

    def scenario_specs(self) -> list[Scenario]:
        """The scenarios this screen lists (the command palette lists them too)."""
        return [m.spec for m in catalog.loadable([item.name for item in self.listed]).values()]

    def choose_scenario(self, name: str) -> None:
        """Select a scenario from anywhere (command palette, tests)."""
        self.query_one(ScenarioList).choose(name)
        self.run_worker(self.select_scenario(name), group="select", exclusive=True)

    @on(ScenarioChosen)
    def _scenario_chosen(self, message: ScenarioChosen) -> None:
        if message.name in self.names:
            self.choose_scenario(message.name)

    async def select_scenario(self, name: str, given: dict[str, str] | None = None) -> None:
        await self.mounted.wait()  # the settings and tabs are mounted after the first frame
        async with self._select_lock:  # one at a time: the settings rows are rebuilt
            if name == self.scenario and given is None:
                return
            try:
                module = catalog.load(name)
            except ConfigError as e:  # changed on disk since the list was made, and broken
                self.header.show(str(e), "bold red")
                return
            self.scenario = name
            await self.settings.set_scenario(module.spec, given)
            self.code_view.show_source(module.source())
            await self.lesson_view.show(name, module.spec.summary, module.lesson())
            if not self.live:
                self.log_view.hint(f"{name}: {module.spec.summary}.\nPress r to run it, s to "
                                   f"step through it, ? for help.")
                shown = self.run_config.scenario if self.run_config is not None else None
                if shown is not None and shown != name:  # the views still show that run
                    self.header.show(f"{name}: r runs it · shown below: the last run, of "
                                     f"{shown}", "bold")

    @on(OptionList.OptionHighlighted, "#scenarios")
    async def _scenario_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if event.option_index != event.option_list.highlighted:
            return  # an older highlight: the list has moved on
        if not self.complete.is_set():
            return  # the screen is being built: build_rest shows the initial scenario
        if name and name in self.names and name != self.scenario:
            await self.select_scenario(name)

    # handlers by name: their widgets' modules load after the first frame
    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if not self._switching and self.live:
            self.tabs_chosen = True
        if event.pane.id == "tab-code":
            self.code_view.reveal()
        elif event.pane.id == "tab-lesson":
            self.lesson_view.reveal()

    def on_settings_form_changed(self, event: SettingsForm.Changed) -> None:
        self.code_view.show_knobs(event.config.to_argv() if event.config else None, event.error)
        if event.config is not None and not self.live and self.header.status.startswith(
                "run refused"):
            self.header.show("ready: r runs, s steps, ? help", "bold")

    # -- the current run -------------------------------------------------------------------

    def refuse_run(self) -> str:
        """The settings are not valid: say so in the header; return the problem."""
        problem = next(iter(self.settings.errors.values()), "the settings are not valid")
        self.header.show(f"run refused: {problem}", "bold red")
        return problem

    def begin_run(self, config: Config) -> int:
        """Clear the views for a new run; its messages carry the returned run id.

        Tests use it to show recorded events: they post `RunEvents` and `Samples` with this id
        to this screen, exactly as the run client and the sampler do.
        """
        self.run_id += 1
        self.workers.cancel_group(self, "replay")  # a past run being replayed gives way
        self.recording = self.past = None
        self.state = RunState()
        self.stream_notes = []
        self.run_config = config
        with self.app.batch_update():
            self.colours.clear()
            self.table.reset()
            self.log_view.reset()
            self.findings.reset()
            self.code_view.show_knobs(config.to_argv())
            self.show_results(False)
        self.tabs_chosen = False
        return self.run_id

    def run_started(self, config: Config) -> None:
        """The runner is going: the settings say so, and a narrow screen gives it the width."""
        self.live = True
        self.settings.set_running(True)
        self.make_room()
        mode = " (step mode)" if config.step else ""
        if config.pace is not None:
            mode += f", paced: {config.pace:g} s at each checkpoint"
        self.header.show(f"running {config.scenario} under {config.start_method}{mode}", "bold")

    @on(RunEvents)
    def _run_events(self, message: RunEvents) -> None:
        if message.run_id != self.run_id:
            return
        events = message.events
        self.state.extend(events)
        if self.recording is not None:
            self.recording.heard(events)
        self.stream_notes += stream_notes(events)
        self._name_interpreter()
        with self.app.batch_update():
            self.table.apply_events(events, self.state)
            # a process's last memory reading is for the table, not a line of the log
            self.log_view.add([e for e in events if not isinstance(e, Memory)], self.state)
            if self.findings.show(self.state) and not self.tabs_chosen:
                self.activate("tab-findings")
            if self.state.ended:
                self.show_results(True)
            self._show_status()

    def _name_interpreter(self) -> None:
        """The header names the Python that ran this run, as its run-start said."""
        info = self.state.interpreter
        if not info or self.header.interpreter.get("executable") == info.get("executable"):
            return
        machine = str(info.get("platform", "")).rsplit("-", 1)[-1]
        self.header.interpreter = {**info, "platform": f"{info.get('system', '?')} {machine}"}
        self.header.refresh()

    def _show_status(self) -> None:
        state = self.state
        if state.end is not None:
            seconds = state.end.seconds
            took = f" in {seconds:.2f} s" if seconds is not None else ""
            style = "bold green" if state.status == "ok" else "bold red"
            what = f"past run: {self.past}" if self.past else self.scenario_of_run()
            wrong = sum(1 for _, v in state.verdicts() if v.tone == "differs")
            news = f" · ✗ {state.source} wrong in {wrong} of {len(state.findings)}" \
                if wrong else ""
            self.header.show(f"{what}: {state.status}{took}{news}", style)
        elif self.past:  # a replay: nothing waits for a step
            return
        elif state.held and state.config.get("pace") and not state.config.get("step"):
            rows = ", ".join(f"{state.processes[pid].role} at {name}"
                             for pid, name in state.held.items())  # each goes on by itself
            self.header.show(f"paced: {state.config['pace']:g} s at each checkpoint; held: {rows}",
                             "bold")
        elif len(state.held) == 1:
            where = next(iter(state.held.values()))
            self.header.show(f"PAUSED at {where}: s steps, x stops", "bold reverse")
        elif state.held:
            rows = ", ".join(f"{state.processes[pid].role} at {name}"
                             for pid, name in state.held.items())
            self.header.show(f"PAUSED: {rows}: g lets the selected one go on, s all, x stops",
                             "bold reverse")

    # -- being the scheduler: one held process at a time ----------------------------------

    def action_release_selected(self) -> None:
        table = self.table
        if table.row_count:
            row = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
            self.release(int(str(row.value)))

    @on(DataTable.RowSelected, "#processes")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if int(str(event.row_key.value)) in self.state.held:  # enter or a click on a held row
            self.release(int(str(event.row_key.value)))

    def release(self, pid: int) -> None:
        """Step mode: let this one process go on, if it is held at a checkpoint."""
        client = getattr(self.app, "client", None)  # the App's run client (never imported here)
        proc = self.state.processes.get(pid)
        if client is None or not client.running or not client.config.step:
            self.notify("No stepped run is going: s starts one.", timeout=3)
        elif proc is None or pid not in self.state.held:
            role = proc.role if proc is not None else str(pid)
            self.notify(f"{role} is not held at a checkpoint (running, ended, or blocked on "
                        "something else)", timeout=3)
        elif client.step_process(proc.role):
            self.header.show(f"{proc.role} goes on from {self.state.held[pid]}", "bold")

    def scenario_of_run(self) -> str:
        return self.run_config.scenario if self.run_config else "run"

    @on(RunEnded)
    def _run_ended(self, message: RunEnded) -> None:
        # not stopped: the message goes on to the app, which stops the sampler
        if message.run_id != self.run_id:
            return
        self.live = False
        self.table.show_held({})  # nothing waits for a step once the runner is gone
        self.settings.set_running(False)
        # a compact screen keeps the width for the results (b brings the settings back)
        if self.sidebar_hidden_for_run and not self.sidebar.display and not self.compact:
            self.toggle_sidebar()
            self.sidebar_hidden_for_run = False
        if not self.state.ended:
            problem = message.stderr.strip().splitlines()
            text = problem[-1] if problem else f"the engine exited with code {message.returncode}"
            self.header.show(f"run failed: {text}", "bold red")
            self.notify(text, severity="error", timeout=8)

    @on(Samples)
    def _samples(self, message: Samples) -> None:
        if message.run_id != self.run_id:
            return
        self.table.apply_samples(message.samples, message.gone, self.state)
        if self.recording is not None:
            self.recording.sampled(message.samples, message.gone)

    def show_recorded(self, config: Config, label: str, items: list[Event | Sampled], *,
                      paced: bool = False) -> int:
        """Show a recorded run: begin_run, then the messages the run client and the sampler
        post, at their recorded pace (a worker posts them) or at once (handled in order now,
        so no sampling pass replaces another). Starts no process."""
        from tui.replay import batches, play

        run_id = self.begin_run(config)
        self.past = label
        self.make_room()
        self.header.show(f"past run: {label}{', at its pace' if paced else ''}", "bold")
        if paced:
            self.run_worker(play(items, run_id, self.post_message), group="replay")
        for _, message in [] if paced else batches(items, run_id):
            self._run_events(message) if isinstance(message, RunEvents) else self._samples(message)
        return run_id

    def process_rows(self) -> list[dict[str, str]]:
        """The process table as shown, one dict per row (for the export)."""
        return [dict(row.cells) for row in self.table.rows_by_pid.values()]
