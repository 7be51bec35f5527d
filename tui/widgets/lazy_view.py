"""A tab body drawn only once its tab is first shown: its renderer (Pygments, Markdown) is slow
to load, and most people look at the log first."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from textual.containers import VerticalScroll
from textual.widgets import Static


class LazyView(VerticalScroll):
    """Keeps the latest text; renders it into `body` when shown, and again when it changes."""

    body = "lazy-body"  # id of the Static the rendering goes into

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = ""
        self._drawn = ""
        self.visible_once = False

    def set_text(self, text: str) -> None:
        self.text = text
        if self.visible_once:
            self.draw()

    def reveal(self) -> None:
        """The tab is shown: draw the text if it changed."""
        self.visible_once = True
        self.draw()

    def draw(self) -> None:
        if self.text == self._drawn:
            return
        self._drawn = self.text
        self.query_one(f"#{self.body}", Static).update(self.render_text(self.text))
        self.scroll_home(animate=False)

    def render_text(self, text: str) -> RenderableType:
        raise NotImplementedError
