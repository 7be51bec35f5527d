"""The Lesson tab: what the scenario teaches, in the project's own words (Markdown).

Rendered with Rich's Markdown in one Static: one widget, not one per block,
so the app starts fast whatever the length of the lesson.
"""

from __future__ import annotations

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.widgets import Static

from tui.widgets.lazy_view import LazyView


def placeholder(name: str, summary: str) -> str:
    return (f"# {name}\n\n{summary}\n\n*The lesson text for this scenario is still being "
            f"written.* Run it (`r`) or step through it (`s`) and read the Findings tab: every "
            f"line there was observed in a real process.")


class LessonView(LazyView):
    """A Markdown document, replaced when the scenario changes."""

    body = "lesson-body"

    def compose(self) -> ComposeResult:
        yield Static(id=self.body)

    async def show(self, name: str, summary: str, lesson: str) -> None:
        self.set_text(lesson.strip() or placeholder(name, summary))

    def render_text(self, text: str) -> RenderableType:
        from rich.markdown import Markdown

        return Markdown(text, code_theme="ansi_dark")
