"""The Code tab: the scenario module's source, what ran, with the chosen knobs above it."""

from __future__ import annotations

from typing import Any

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


class CodeView(VerticalScroll):
    """The knobs line and the highlighted source."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = ""
        self.knobs_text = ""

    def compose(self) -> ComposeResult:
        yield Static(id="code-knobs")
        yield Static(id="code-source")

    def show_source(self, source: str, path: str = "") -> None:
        if source == self.source:
            return
        self.source = source
        syntax = Syntax(source, "python", line_numbers=True, word_wrap=False,
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
