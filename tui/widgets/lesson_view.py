"""The Lesson tab: what the scenario teaches, in the project's own words (Markdown).

Rendered with Rich's Markdown in one Static: one widget, not one per block,
so the app starts fast whatever the length of the lesson.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


def placeholder(name: str, summary: str) -> str:
    return (f"# {name}\n\n{summary}\n\n*The lesson text for this scenario is still being "
            f"written.* Run it (`r`) or step through it (`s`) and read the Findings tab: every "
            f"line there was observed in a real process.")


class LessonView(VerticalScroll):
    """A Markdown document, replaced when the scenario changes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = ""
        self._drawn = ""
        self.visible_once = False

    def compose(self) -> ComposeResult:
        yield Static(id="lesson-body")

    async def show(self, name: str, summary: str, lesson: str) -> None:
        self.text = lesson.strip() or placeholder(name, summary)
        if self.visible_once:
            self.draw()

    def reveal(self) -> None:
        """The tab is shown: render the lesson if it changed (Markdown is slow to load)."""
        self.visible_once = True
        self.draw()

    def draw(self) -> None:
        if self.text == self._drawn:
            return
        from rich.markdown import Markdown

        self._drawn = self.text
        self.query_one("#lesson-body", Static).update(Markdown(self.text, code_theme="ansi_dark"))
        self.scroll_home(animate=False)
