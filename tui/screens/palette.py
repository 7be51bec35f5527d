"""The command palette's scenarios: type a name, jump to that scenario.

Loaded when the palette first opens.
The provider imports neither the app nor the lab screen: it lists the
scenarios of the screen it was opened on (or the catalog's) and posts
`ScenarioChosen` to that screen.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from scenarios.engine import catalog
from scenarios.engine.knobs import Scenario
from tui.messages import ScenarioChosen


@runtime_checkable
class ListsScenarios(Protocol):
    """A screen that shows a list of scenarios (the lab screen)."""

    def scenario_specs(self) -> list[Scenario]: ...


# the app's actions on past runs, run by name (the palette never imports the app)
RUN_ACTIONS = (("history: past runs", "history", "this session's runs and the saved ones (h)"),
               ("compare: the last run with the one before", "compare",
                "findings and observations side by side, differences marked (c)"))


class ScenarioCommands(Provider):
    """The command palette lists the scenarios."""

    def _scenarios(self) -> list[Scenario]:
        screen = self.screen
        return screen.scenario_specs() if isinstance(screen, ListsScenarios) else catalog.all_specs()

    async def discover(self) -> Hits:
        for text, action, help in RUN_ACTIONS:
            yield DiscoveryHit(text, partial(self.app.run_action, action), help=help)
        for spec in self._scenarios():
            yield DiscoveryHit(f"scenario: {spec.name}", partial(self._choose, spec.name),
                               help=spec.summary)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, action, help in RUN_ACTIONS:
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.run_action, action),
                          help=help)
        for spec in self._scenarios():
            text = f"scenario: {spec.name}"
            score = matcher.match(f"{text} {spec.title}")
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self._choose, spec.name),
                          help=spec.summary)

    def _choose(self, name: str) -> None:
        self.screen.post_message(ScenarioChosen(name))
