"""The Code tab: the scenario module's source, what ran, with the chosen knobs above it.

The source is highlighted when the tab is first looked at (Pygments is slow
to load, and most people look at the log first).
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


class CodeView(VerticalScroll):
    """The knobs line and the highlighted source."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = ""
        self.knobs_text = ""
        self._drawn = ""
        self.visible_once = False

    def compose(self) -> ComposeResult:
        yield Static(id="code-knobs")
        yield Static(id="code-source")

    def show_source(self, source: str) -> None:
        self.source = source
        if self.visible_once:
            self.draw()

    def reveal(self) -> None:
        """The tab is shown: highlight the source if it changed."""
        self.visible_once = True
        self.draw()

    def draw(self) -> None:
        if self.source == self._drawn:
            return
        from rich.syntax import Syntax

        self._drawn = self.source
        syntax = Syntax(self.source, "python", line_numbers=True, word_wrap=False,
                        theme="ansi_dark", background_color="default")
        self.query_one("#code-source", Static).update(syntax)
        self.scroll_home(animate=False)

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
