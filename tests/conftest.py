import os
import sys
from pathlib import Path

HERE = Path(__file__).parent
# the misbehaving scenario used to test how runs end, visible to runner subprocesses too
os.environ["STATELAB_EXTRA_SCENARIOS"] = "misbehave=tests.fixtures.misbehave"
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(HERE.parent), *filter(None, [os.environ.get("PYTHONPATH")])])
sys.path.insert(0, str(HERE.parent))
