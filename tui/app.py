"""The statelab app: choose a scenario, run it in real processes, watch them, step through it.

The app keeps the lifecycle: the run client, the sampler, signals, leaving,
export and help, and the keys. The lab screen (tui/screens/lab.py) owns the
layout and the view of the current run. The app never forks: each run is the
engine (`python -m scenarios`) in a fresh interpreter, started as an asyncio
subprocess in its own session. Its events come back as `RunEvents` messages,
psutil samples as `Samples` messages from a thread worker, both posted to the
lab screen.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import gc
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.widgets import Button

from scenarios.engine import catalog
from tui import history, preferences
from tui.interpreters import Interpreter, own_info
from tui.messages import RunEnded, RunEvents
from tui.runclient import RunClient
from tui.screens.lab import LabScreen

if TYPE_CHECKING:
    from tui.sampler import Sampler
    from tui.widgets.settings_form import SettingsForm


# the keys that act on the lab screen's scenario and run: off while a full screen covers it
LAB_ACTIONS = frozenset({"run", "step", "stop", "export", "sweep", "toggle_sidebar", "pace",
                         "history", "compare"})
# what p goes through, in turn, and how the footer shows each
PACES = {None: "pace", 0.5: "pace 0.5s", 1.0: "pace 1s", 2.0: "pace 2s"}


class StatelabApp(App[int]):
    """The laboratory."""

    CSS_PATH = "app.tcss"
    TITLE = "statelab"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "run", "run"),
        Binding("s", "step", "step"),
        # p: the next run's pace; check_action shows only the binding of the pace chosen now
        *(Binding("p", f"pace({p!r})", label) for p, label in PACES.items()),
        Binding("x", "stop", "stop"),
        Binding("e", "export", "export", show=False),  # at 80 columns the others need the room
        Binding("w", "sweep", "sweep"),
        Binding("h", "history", "runs"),
        Binding("c", "compare", "compare", show=False),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
        Binding("b", "toggle_sidebar", "sidebar"),
        Binding("escape", "leave_field", "leave field"),
    ]

    def __init__(self, scenario: str | None = None, options: dict[str, str] | None = None, *,
                 run: bool = False, step: bool = False, pace: float | None = None,
                 interpreter: dict[str, Any] | None = None,
                 scenario_names: Sequence[str] | None = None,
                 replay: history.RunRecord | None = None, paced: bool = False,
                 python: Interpreter | None = None, remember: bool = False) -> None:
        super().__init__()
        # what the last session chose (tui/preferences.py), when started from the command line
        self.prefs = preferences.load() if remember else None
        if self.prefs is not None and scenario is None and not options:
            scenario = self.prefs.scenario
            options = self.prefs.options.get(scenario or "", {})
        if self.prefs is not None and pace is None and not (run or step):
            pace = self.prefs.pace
        self.python = python  # the interpreter asked for on the command line
        self.history = history.Session()  # every run of the session (tui/history.py)
        self.replay = replay, paced  # a transcript to show first (statelab replay)
        self.listed = catalog.listing(scenario_names)  # no module is imported for the list
        names = [item.name for item in self.listed]
        fallback = catalog.DEFAULT if catalog.DEFAULT in names else None
        self.initial = scenario if scenario in names else (
            fallback or next(iter(names), None))
        self.initial_options = dict(options or {})
        self.autorun = run or step
        self.autostep = step
        self.pace = pace  # seconds each checkpoint of the next run holds (None: no pace)
        if pace not in PACES:  # --pace gave one of its own: the footer can show it too
            self.bind("p", f"pace({pace!r})", description=f"pace {pace:g}s")
        self.interpreter = interpreter or own_info()
        self.client: RunClient | None = None
        self.sampler: Sampler | None = None
        self.last_export: tuple[Path, Path] | None = None
        self._exported: tuple[int, int, bool] = (0, 0, False)  # (run, events, ended) written
        self._lab: LabScreen | None = None
        self._leaving = threading.Event()  # set on the way out: the terminal watch ends
        atexit.register(self.stop_run_now)

    def remember(self) -> None:
        """Keep the choices of this session for the next one (only when started from the
        command line: tests and the browser's sessions share no preferences)."""
        lab = self._lab
        name = lab.scenario if lab is not None else None
        if self.prefs is None or lab is None or name is None:
            return
        self.prefs.theme = self.theme
        self.prefs.scenario = name
        self.prefs.options[name] = lab.settings.options()
        self.prefs.python = None if lab.settings.python.own else lab.settings.python.path
        self.prefs.pace = self.pace
        preferences.save(self.prefs)

    def get_default_screen(self) -> LabScreen:
        self._lab = LabScreen(self.listed, self.interpreter, self.initial, self.initial_options)
        return self._lab

    @property
    def lab(self) -> LabScreen:
        """The lab screen: the layout and the view of the current run."""
        assert self._lab is not None, "the app is not running"
        return self._lab

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._hang_up, sig)
        if not self.is_headless:  # a terminal that goes away is a hang-up, signal or not
            from tui import hangup

            hangup.watch(0, self._leaving)
        for problem in catalog.problems():  # an extra scenario that cannot be loaded
            self.notify(problem, severity="warning", timeout=10)
        if not self.is_headless:
            self.run_worker(self._freeze_gc(), group="gc")
        if self.prefs is not None:
            if self.prefs.theme in self.available_themes:
                self.theme = self.prefs.theme
            self.theme_changed_signal.subscribe(self, lambda _theme: self.remember())
        if self.autorun:
            self.run_worker(self.start_run(self.autostep), group="autorun")
        elif self.replay[0] is not None:
            from tui.screens.history import show_past

            self.run_worker(show_past(self.lab, *self.replay), group="autorun")

    async def _freeze_gc(self) -> None:
        """Once the screen is built, the objects made so far (some 100,000: modules, the screen)
        are left out of the garbage collector's full passes: in a flood such a pass took 50 to
        100 ms, a key waiting meanwhile, and 5 to 13 ms so. Not in tests (headless): objects
        frozen are never collected, and the tests make many apps in one process."""
        await self.lab.complete.wait()
        gc.freeze()

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
            elif not self.lab.state.held:
                self.notify("No process is held at a checkpoint yet.", timeout=2)
            else:
                client.step()
                self.lab.header.show(f"running {client.config.scenario} (step mode)", "bold")
            return
        await self.start_run(True)

    async def start_run(self, step: bool) -> None:
        lab = self.lab
        await lab.complete.wait()
        if self.running:
            self.notify("A run is in progress: x stops it.", severity="warning")
            return
        config = lab.settings.validate(step=step)
        if config is None:
            self.notify(f"Run refused: {lab.refuse_run()}", severity="error", timeout=6)
            return
        config.pace = self.pace
        run_id = lab.begin_run(config)
        self.last_export = None
        client = RunClient(config, run_id, lab.post_message, python=lab.settings.python)
        try:
            await client.start()
        except OSError as e:
            lab.header.show(f"could not start the engine: {e}", "bold red")
            self.notify(f"could not start the engine: {e}", severity="error")
            return
        self.client = client
        lab.recording = self.history.begin(config, lab.state)  # a run that started is kept
        from tui.sampler import Sampler  # psutil is loaded with the first run

        self.sampler = Sampler(run_id, client.runner_pid, client.pids.copy, lab.post_message)
        self.run_worker(self.sampler.loop, thread=True, group="sampler", exit_on_error=False)
        lab.run_started(config)
        self.remember()

    async def action_stop(self) -> None:
        client = self.client
        if client is None or not client.running:
            self.notify("Nothing is running.", timeout=2)
            return
        self.lab.header.show("stopping…", "bold yellow")
        self._stop_in_background(client)

    @work(group="shutdown", exit_on_error=False)
    async def _stop_in_background(self, client: RunClient) -> None:
        await client.shutdown()

    @on(RunEvents)
    def _held_or_not(self, message: RunEvents) -> None:
        """After the lab screen folded them: a run held for a step is sampled slowly (a pace
        holds briefly, and the room watches the table then)."""
        state = self.lab.state
        if self.sampler is not None and self.sampler.run_id == message.run_id:
            self.sampler.paused(bool(state.held) and not state.config.get("pace"))

    @on(RunEnded)
    def _run_ended(self, message: RunEnded) -> None:
        # the lab screen has shown it; the sampler of that run stops
        if self.sampler is not None and self.sampler.run_id == message.run_id:
            self.sampler.stop()
        record = self.lab.recording  # kept by the history, saved off the event loop
        if record is not None and message.run_id == self.lab.run_id:
            record.finish(self.lab.process_rows())
            history.save_later(self, record)

    def action_history(self) -> None:
        from tui.screens.history import HistoryScreen  # it shows the chosen run in the lab

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen(self.history, self.lab))

    def action_compare(self) -> None:
        from tui.screens.compare import compare_last

        compare_last(self, self.history.runs)

    @on(Button.Pressed, "#stop")
    async def _stop_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        await self.action_stop()

    # -- sweep -------------------------------------------------------------------------------

    async def action_sweep(self, over: str | None = None) -> None:
        """Run the selected scenario once per start method, lock mode, type code or Python
        (asked, unless given), with the other settings as they are: one matrix."""
        from tui.screens.sweep import open_sweep

        await self.lab.complete.wait()
        if self.running:
            self.notify("A run is in progress: x stops it.", severity="warning")
            return
        await open_sweep(self, self.lab, over)

    # -- pace and preferences ----------------------------------------------------------------

    def action_set_pace(self, pace: float | None) -> None:
        """The palette's pace: this one for the next run."""
        self.pace = None if pace is None else float(pace)
        if self.pace not in PACES:
            self.bind("p", f"pace({self.pace!r})", description=f"pace {self.pace:g}s")
        self.refresh_bindings()
        self._say_pace()

    # -- export, help, leaving -------------------------------------------------------------

    def action_export(self) -> None:
        lab = self.lab
        if not lab.state.events or lab.run_config is None:
            self.notify("Nothing to export yet: run a scenario first.", timeout=3)
            return
        exported = (lab.run_id, len(lab.state.events), lab.state.ended)
        if self.last_export is not None and self._exported == exported:
            md, jsonl = self.last_export  # the same run, nothing new since: no second copy
            self.notify(f"Already written, unchanged since: {md.name} and {jsonl.name}",
                        title="export", timeout=5)
            return
        from tui import export

        transcript = export.Transcript(lab.state, lab.run_config.to_argv(), lab.process_rows(),
                                       lab.run_config.scenario, list(lab.stream_notes))
        if self.is_web:  # under `statelab serve`: the browser downloads it; nothing written here
            import io

            stem = f"statelab-{transcript.name}"
            self.deliver_text(io.StringIO(export.markdown(transcript)), save_filename=f"{stem}.md")
            self.deliver_text(io.StringIO(export.jsonl(lab.state)), save_filename=f"{stem}.jsonl")
            self.notify(f"Transcript offered as downloads: {stem}.md and {stem}.jsonl",
                        title="export", timeout=8)
            return
        try:
            md, jsonl = export.export(transcript)
        except OSError as e:
            self.notify(f"export failed: {e}", severity="error")
            return
        self.last_export = (md, jsonl)
        self._exported = exported
        lab.header.show(f"exported {md.name} and {jsonl.name}", "bold")
        self.notify(f"Transcript written: {md.name} and {jsonl.name}", title="export", timeout=8)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen  # Markdown is loaded when help is first asked

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in LAB_ACTIONS and self._lab is not None and self.screen is not self._lab:
            return False  # another screen (help, the sweep) is in front: its keys, not these
        if action == "pace":  # the binding of the pace chosen now, which p goes on from
            return parameters[:1] == (self.pace,) or not parameters
        if action == "leave_field":  # shown, and taken, only while typing in a field
            return self._lab is not None and self.screen is self._lab and self._lab.in_field()
        return True

    def action_pace(self, shown: object = None) -> None:
        """p: the pace of the next run, in turn off, 0.5 s, 1 s, 2 s (a run going keeps its own)."""
        self.pace = next((p for p in PACES if p is not None and p > (self.pace or 0.0)), None)
        self.refresh_bindings()
        self._say_pace()

    def _say_pace(self) -> None:
        text = f"paced: {self.pace:g} s at each checkpoint" if self.pace else "not paced"
        if self.running:
            self.notify(f"The next run is {text}.", timeout=3)
        else:
            self.lab.header.show(f"the next run is {text} (p changes it): r runs, s steps", "bold")

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def action_toggle_sidebar(self) -> None:
        self.lab.toggle_sidebar()

    def action_leave_field(self) -> None:
        self.lab.leave_field()

    def on_unmount(self) -> None:
        # whatever the way out: a sampler left sampling a run whose end the screen had not seen
        # yet would keep the interpreter waiting at exit for asyncio's executor
        self.stop_run_now()

    async def action_quit(self) -> None:
        self.lab.header.show("stopping the run and quitting…", "bold yellow")
        await self.stop_everything()
        self.exit(0)

    async def stop_everything(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
        if self.client is not None:
            await self.client.shutdown()

    def _hang_up(self, sig: int) -> None:
        """SIGHUP (the terminal went away) or SIGTERM: stop the run, then leave at once (the
        runner finishes ending the run by itself)."""
        self.stop_run_now()
        # the terminal may be gone: if leaving hangs on it, leave anyway
        timer = threading.Timer(1.5, os._exit, (128 + sig,))
        timer.daemon = True
        timer.start()
        self.exit(128 + sig)

    def stop_run_now(self) -> None:
        """Stop the run at once (at exit, or when a test fails): nothing of it may outlive us;
        the runner ends it the clean way whether we wait or not."""
        self._leaving.set()
        if self.sampler is not None:
            self.sampler.stop()
        if self.client is not None:
            self.client.stop_now()
