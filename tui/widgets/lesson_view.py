"""The Lesson tab: what the scenario teaches, in the project's own words (Markdown)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown


def placeholder(name: str, summary: str) -> str:
    return (f"# {name}\n\n{summary}\n\n*The lesson text for this scenario is still being "
            f"written.* Run it (`r`) or step through it (`s`) and read the Findings tab: every "
            f"line there was observed in a real process.")


class LessonView(VerticalScroll):
    """A Markdown document, replaced when the scenario changes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = ""

    def compose(self) -> ComposeResult:
        yield Markdown(id="lesson-body")

    async def show(self, name: str, summary: str, lesson: str) -> None:
        text = lesson.strip() or placeholder(name, summary)
        if text == self.text:
            return
        self.text = text
        await self.query_one("#lesson-body", Markdown).update(text)
        self.scroll_home(animate=False)
