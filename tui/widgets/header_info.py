"""The one-line header: the app and what the run is doing; this interpreter on the right."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class HeaderInfo(Static):
    """` statelab  status …      Python 3.11.7 · Linux x86_64 · default start: fork`."""

    status: reactive[str] = reactive("ready", layout=False)
    status_style: reactive[str] = reactive("", layout=False)

    def __init__(self, interpreter: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interpreter = interpreter

    def info(self, width: int) -> str:
        info = self.interpreter
        if width < 120:  # the status needs the room more: the version is what matters
            return f"Python {info.get('python', '?')} "
        return (f"Python {info.get('python', '?')} · {info.get('platform', '?')} · "
                f"default start: {info.get('default_start_method', '?')} ")

    def render(self) -> Table:
        grid = Table.grid(expand=True)
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(no_wrap=True, justify="right")
        status = Text(f" {self.status}", style=self.status_style or "bold", no_wrap=True,
                      overflow="ellipsis")
        grid.add_row(Text(" statelab ", style="bold reverse"), status,
                     Text(self.info(self.size.width), style="dim"))
        return grid

    def show(self, status: str, style: str = "") -> None:
        self.status = status
        self.status_style = style

    def plain(self) -> str:
        return f"statelab {self.status}  {self.info(200)}"
