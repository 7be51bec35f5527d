"""All an experiment may import from the engine (an import contract holds the others to it).

A scenario module declares `SPEC = Scenario(...)`, runs its `parent(lab)` in
the scenario's parent process, reports with `observe()` and `checkpoint()`
from any of its processes, and checks its claims in `findings(run)`, which
reads the run's `RunState` and returns `Finding`s.
"""

from __future__ import annotations

from scenarios.engine.children import exit_text
from scenarios.engine.ctypes_table import TYPECODES, TypeCode
from scenarios.engine.ctypes_table import get as typecode
from scenarios.engine.findings import Finding, missing
from scenarios.engine.knobs import Config, Knob, Scenario
from scenarios.engine.lab import Lab
from scenarios.engine.probe import checkpoint, error, observe, role
from scenarios.engine.state import RunState

TYPE_CHECKING = False  # typing costs a few ms at start-up: imported only for the checker
if TYPE_CHECKING:
    from typing import Any, NoReturn
else:
    # experiments annotate shared objects with Any; their annotations are never evaluated
    # (from __future__ import annotations), so at run time no process pays for typing
    Any = object

__all__ = [
    "TYPECODES",
    "Any",
    "Config",
    "Finding",
    "Knob",
    "Lab",
    "RunState",
    "Scenario",
    "TypeCode",
    "checkpoint",
    "error",
    "exit_text",
    "missing",
    "observe",
    "role",
    "run_as_script",
    "typecode",
]


def run_as_script(spec: Scenario) -> NoReturn:
    """Run the scenario module that is `__main__` (a file saved from `statelab source NAME`),
    with the knobs given on its command line."""
    import sys

    from scenarios.engine.supervisor import main  # only a script run needs the supervisor

    module: Any = sys.modules["__main__"]
    sys.exit(main([spec.name, *sys.argv[1:]], module=module))
