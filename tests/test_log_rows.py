"""What the log says at a held checkpoint: how the hold ends (a step, the pace, or either)."""

from __future__ import annotations

import json

from scenarios.engine.protocol import decode
from tui.widgets.log_rows import describe


def checkpoint(**data: object) -> str:
    line = json.dumps({"t": 0.1, "pid": 10, "role": "child", "kind": "checkpoint",
                       "text": "child at before-write",
                       "data": {"name": "before-write", "hold": True, **data}})
    return describe(decode(line), "blue").plain


def test_a_stepped_hold_asks_for_a_step() -> None:
    assert checkpoint().endswith("— held: press s to step")


def test_a_paced_hold_says_how_long() -> None:
    assert checkpoint(pace=1.5).endswith("— held 1.5 s (paced)")


def test_a_paced_and_stepped_hold_says_either() -> None:
    line = json.dumps({"t": 0.1, "pid": 10, "role": "child", "kind": "checkpoint",
                       "text": "child at before-write",
                       "data": {"name": "before-write", "hold": True, "pace": 2}})
    assert describe(decode(line), "blue", step=True).plain.endswith("— held 2 s, or until s")
