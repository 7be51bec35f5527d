"""The command palette's scenarios: type a name, jump to that scenario.

Loaded when the palette first opens, so the app starts without textual.command.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from scenarios.engine.knobs import Scenario

if TYPE_CHECKING:
    from tui.app import StatelabApp


class ScenarioCommands(Provider):
    """The command palette lists the scenarios."""

    def _lab(self) -> StatelabApp | None:
        from tui.app import StatelabApp

        app = self.app
        return app if isinstance(app, StatelabApp) else None

    def _scenarios(self) -> list[Scenario]:
        lab = self._lab()
        return [m.spec for m in lab.modules.values()] if lab is not None else []

    async def discover(self) -> Hits:
        for spec in self._scenarios():
            yield DiscoveryHit(f"scenario: {spec.name}", partial(self._choose, spec.name),
                               help=spec.summary)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for spec in self._scenarios():
            text = f"scenario: {spec.name}"
            score = matcher.match(f"{text} {spec.title}")
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self._choose, spec.name),
                          help=spec.summary)

    def _choose(self, name: str) -> None:
        lab = self._lab()
        if lab is not None:
            lab.choose_scenario(name)
