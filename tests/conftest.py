import os
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# the misbehaving scenario used to test how runs end, visible to runner subprocesses too
os.environ["STATELAB_EXTRA_SCENARIOS"] = ",".join([
    "misbehave=tests.fixtures.misbehave", "kill-forkserver=tests.fixtures.forkserver_kill"])
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(HERE.parent), *filter(None, [os.environ.get("PYTHONPATH")])])
sys.path.insert(0, str(HERE.parent))
# the runs the app saves (tui/history.py) go to a folder of the test session, never the user's
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="statelab-tests-data-")
# and the preferences it remembers (tui/preferences.py)
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="statelab-tests-config-")
# and the index of the scenarios (scenarios/engine/catalog_index.py)
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="statelab-tests-cache-")

from tests.runs import START_METHODS  # noqa: E402  (after the path is set)


@pytest.fixture(scope="module", params=START_METHODS)
def start_method(request: pytest.FixtureRequest) -> str:
    """Each start method in turn: a test that takes it runs once under fork, spawn and forkserver.

    Module scope, so a module's one-run-per-method fixture (manager, remote-manager) can take it
    too; pytest then runs a module's tests grouped by start method.
    """
    return str(request.param)
