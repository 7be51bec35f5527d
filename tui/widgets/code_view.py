"""The Code tab: the scenario module's source, what ran, with the chosen knobs above it.

The source is highlighted when the tab is first looked at (Pygments is slow
to load, and most people look at the log first).
"""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.widgets import Static

from tui.widgets.lazy_view import LazyView


class CodeView(LazyView):
    """The knobs line and the highlighted source."""

    body = "code-source"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.knobs_text = ""

    def compose(self) -> ComposeResult:
        yield Static(id="code-knobs")
        yield Static(id=self.body)

    def show_source(self, source: str) -> None:
        self.set_text(source)

    def render_text(self, text: str) -> RenderableType:
        from rich.syntax import Syntax

        return Syntax(text, "python", line_numbers=True, word_wrap=False, theme="ansi_dark",
                      background_color="default")

    def show_knobs(self, argv: list[str] | None, problem: str | None = None) -> None:
        if argv is None:
            text = f"[b]settings:[/b] [red]{problem or 'invalid'}[/red]"
            plain = f"settings: {problem}"
        else:
            plain = "python -m scenarios " + " ".join(argv)
            text = f"[b]runs as:[/b] {plain}"
        if plain != self.knobs_text:
            self.knobs_text = plain
            self.query_one("#code-knobs", Static).update(text)
