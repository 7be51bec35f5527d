"""A run stopped at its first checkpoint: its findings blame only what is really missing.

Every scenario with a checkpoint is run with --step and stopped where it is first held. A
finding that could not be checked says which observations were not made; each one it names
must be absent from the run's log, and the evidence says that the run was stopped.
"""

from __future__ import annotations

import re

import pytest

from tests.stepping import drive
from tests.test_step_fidelity import CASES

NOT_OBSERVED = re.compile(r"not observed in this run: ([a-z0-9, -]+)")
# small-int-id has no checkpoint; value-gc and unpicklable-target hold before they observe
# anything (their first checkpoint announces the first Value, the first target)
HELD = [name for name in CASES if name not in ("small-int-id", "value-gc", "unpicklable-target")]


@pytest.mark.parametrize("scenario", HELD)
def test_a_stopped_run_names_only_what_is_missing(start_method: str, scenario: str) -> None:
    result = drive(scenario, "--start-method", start_method, *CASES[scenario], answer="stop",
                   leak_warning_ok=True)  # a tracker may warn about what a stop left behind
    assert result.status == "stopped"
    seen = {e["data"]["what"] for e in result.events if e["kind"] == "observe"}
    assert seen, "the run got as far as its first checkpoint"
    blamed = 0
    for finding in result.findings().values():
        match = NOT_OBSERVED.search(finding["evidence"])
        if match is None:
            continue
        named = {key.strip() for key in match.group(1).split(",")}
        assert not named & seen, f"{finding['id']} blames {named & seen}, which were observed"
        assert finding["holds"] is None, finding
        if scenario != "copy-on-write":  # copy-on-write names its missing keys itself
            assert "the run was stopped" in finding["evidence"], finding
        blamed += 1
    assert blamed, "a stop at the first checkpoint leaves something unobserved"
