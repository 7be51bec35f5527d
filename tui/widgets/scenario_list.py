"""The scenario list: lesson scenarios first, then the others; missing modules are skipped."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from scenarios.engine.catalog_index import Listed


class ScenarioList(OptionList):
    """One option per scenario that can be loaded; its id is the scenario's name. Enter runs
    the highlighted one (a click only chooses it)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "app.run", "run", show=False)]

    def __init__(self, specs: Sequence[Listed], **kwargs: Any) -> None:
        options: list[Option | None] = []
        lesson = [s for s in specs if s.from_lesson]
        beyond = [s for s in specs if not s.from_lesson]
        for group, title in ((lesson, "from the lesson"), (beyond, "beyond the lesson")):
            if not group:
                continue
            options.append(Option(Text(title, style="italic dim"), disabled=True))
            options.extend(Option(Text(s.name), id=s.name) for s in group)
        super().__init__(*options, **kwargs)
        self.names = [s.name for s in specs]

    def choose(self, name: str) -> None:
        """Highlight the scenario called name."""
        with contextlib.suppress(Exception):  # an unknown name: leave the highlight
            self.highlighted = self.get_option_index(name)
