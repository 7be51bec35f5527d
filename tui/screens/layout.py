"""The lab screen's layout: its widgets by name, and what changes with the terminal's size.

Below 100 columns or 32 rows the screen is compact: the log and the tabs take turns below the
process table (the log while a run goes on, the findings once it ended), so at 80x24 a run's
findings are readable without scrolling; number keys switch tabs (4: the log), `m` maximises
the log or the tabs, escape gives the room back. From 40 rows the scenario list is shown whole.
The lab screen (lab.py) adds the scenarios and the runs on top of this.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer

from tui.widgets.header_info import HeaderInfo
from tui.widgets.process_table import ProcessTable
from tui.widgets.scenario_list import ScenarioList

if TYPE_CHECKING:
    from textual.widgets import TabbedContent

    from tui.widgets.code_view import CodeView
    from tui.widgets.findings_view import FindingsView
    from tui.widgets.lesson_view import LessonView
    from tui.widgets.observation_log import ObservationLog
    from tui.widgets.settings_form import SettingsForm

NARROW = 100  # columns: below this a run hides the sidebar while it goes on
SHORT = 32  # rows: below this (or NARROW) the screen is compact: the log and the tabs take
# turns below the table (the log while a run goes on, the findings once it ended)
TALL = 40  # rows: from this the scenario list is shown whole


class LabLayout(Screen[None]):
    """The widgets of the lab screen, and the keys that arrange them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show_tab('tab-findings')", "findings", show=False),
        Binding("2", "show_tab('tab-code')", "code", show=False),
        Binding("3", "show_tab('tab-lesson')", "lesson", show=False),
        Binding("4", "show_log", "log", show=False),
        Binding("m", "maximise", "maximise", show=False),
        Binding("escape", "minimise", "restore"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sidebar_hidden_for_run = False
        self.tabs_chosen = False  # the user picked a tab during this run: it is not taken away
        self._switching = False  # the screen itself activates a tab
        self.mounted = asyncio.Event()  # the settings, log and tabs exist (after the first frame)

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

    @property
    def sidebar(self) -> VerticalScroll:
        return self.query_one("#sidebar", VerticalScroll)

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW or self.size.height < SHORT, "-compact")
        self.set_class(self.size.height >= TALL, "-tall")
        for footer in self.query(Footer):  # below 120 columns every key must still fit
            footer.compact = self.size.width < 120

    @property
    def compact(self) -> bool:
        return self.has_class("-compact")

    def show_results(self, results: bool) -> None:
        """Compact: below the table, the tabs (results) or the log; wide: both, always."""
        self.set_class(results, "-results")

    def activate(self, tab: str) -> None:
        self._switching = True
        try:
            self.tabs.active = tab
        finally:
            self._switching = False

    def action_show_tab(self, tab: str) -> None:
        if not self.mounted.is_set():
            return
        self.activate(tab)
        self.show_results(True)
        self.tabs_chosen = True

    def action_show_log(self) -> None:
        if not self.mounted.is_set():
            return
        self.show_results(False)
        self.log_view.body.focus()

    def action_maximise(self) -> None:
        """The log or the tabs take the whole screen; m or escape gives it back."""
        if self.maximized is not None:
            self.action_minimise()
            return
        if not self.mounted.is_set():
            return
        focused, log = self.focused, self.log_view
        in_log = focused is not None and (focused is log or log in focused.ancestors)
        # set directly: neither is focusable itself, and Screen.maximize() wants that
        self.maximized = log if in_log or (self.compact and not self.has_class("-results")) \
            else self.tabs
        if self.maximized is self.tabs:
            self.show_results(True)
        self.refresh_bindings()  # escape restores: the footer says so

    def action_set_knob(self, name: str, value: str) -> None:
        """The palette sets a choice of the settings (as picking it in its field does)."""
        if not self.mounted.is_set():
            return
        problem = self.settings.set_choice(name, value)
        if problem:
            self.notify(problem, severity="warning", timeout=4)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "minimise":  # only while maximised; in a field escape is the app's
            return self.maximized is not None
        return True

    def action_minimise(self) -> None:
        self.minimize()
        self.refresh_bindings()

    def make_room(self) -> None:
        """A run (or a past one shown) needs the width more than the settings below NARROW."""
        if self.size.width < NARROW and self.sidebar.display:
            self.toggle_sidebar()
            self.sidebar_hidden_for_run = True

    def toggle_sidebar(self) -> None:
        self.sidebar_hidden_for_run = False  # once toggled by hand, the user decides
        sidebar = self.sidebar
        sidebar.display = not sidebar.display
        if not sidebar.display and sidebar.has_focus_within:
            self.table.focus()

    def in_field(self) -> bool:
        from textual.widgets import Input, Select

        return isinstance(self.focused, (Input, Select))

    def leave_field(self) -> None:
        if self.in_field():
            self.query_one(ScenarioList).focus()
