"""The sweep in the app (`w`): one real run per variant, each its own runner, and the matrix of
what each found; stopping or closing it leaves no process behind."""

from __future__ import annotations

from scenarios.engine.protocol import RunStart
from tests.appsupport import opened, run_pids, until, wait_gone
from tui.app import StatelabApp
from tui.screens.sweep import AxisChooser, SweepScreen


async def test_a_sweep_over_start_methods_runs_each_one() -> None:
    app = StatelabApp("queue-copy")
    try:
        async with opened(app, (120, 40)) as pilot:
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, AxisChooser), what="the chooser")
            chooser = app.screen
            assert isinstance(chooser, AxisChooser)
            assert "start-method" in chooser.axes and "python" in chooser.axes
            assert "lock" not in chooser.axes, "queue-copy takes no lock mode"
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.lab, what="the chooser closed")
            await app.action_sweep("start-method")
            await until(pilot, lambda: isinstance(app.screen, SweepScreen), what="the sweep")
            sweep = app.screen
            assert isinstance(sweep, SweepScreen)
            await until(pilot, sweep.finished.is_set, timeout=60, what="every run")
            assert [v.label for v in sweep.variants] == ["fork", "spawn", "forkserver"]
            for variant in sweep.variants:
                start = next(e for e in variant.state.events if isinstance(e, RunStart))
                assert start.data["config"]["start_method"] == variant.label
                assert variant.status == "ok", (variant.label, variant.problem)
            shown = sweep.plain()
            assert "forkserver" in shown and shown.count(" ok ") >= 3, shown
            # each variant is a run of the session: in the history, saved as it ended
            kept = app.history.runs[-3:]
            assert [r.state for r in kept] == [v.state for v in sweep.variants]
            await until(pilot, lambda: all(r.path is not None and r.path.exists() for r in kept),
                        what="the sweep's runs saved")
            assert [r.summary().start_method for r in kept] == ["fork", "spawn", "forkserver"]
            pids = set().union(*(run_pids(v.state.events) for v in sweep.variants))
            assert len(pids) >= 6, "three runners and their processes"
            assert wait_gone(pids) == []
            await pilot.press("r")  # the lab's keys are off while the sweep covers the screen
            await pilot.pause()
            assert not app.running
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.lab, what="back to the lab")
    finally:
        app.stop_run_now()


async def test_closing_a_sweep_stops_its_run() -> None:
    app = StatelabApp("fork-with-threads")  # each variant under fork waits for its deadline
    try:
        async with opened(app, (120, 40)) as pilot:
            await app.action_sweep("start-method")
            await until(pilot, lambda: isinstance(app.screen, SweepScreen), what="the sweep")
            sweep = app.screen
            assert isinstance(sweep, SweepScreen)
            await until(pilot, lambda: sweep.variants[0].state.processes, what="the first run")
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.lab, what="back to the lab")
            assert sweep.stopped
            assert not sweep.variants[1].ran, "the sweep went no further"
            assert sweep.variants[0].state.status == "stopped"
            assert wait_gone(run_pids(sweep.variants[0].state.events)) == []
    finally:
        app.stop_run_now()
