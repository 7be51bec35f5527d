"""`python -m scenarios SCENARIO [knobs]`: run one scenario headless, events as JSON lines."""

import sys

from scenarios.runner import main

if __name__ == "__main__":
    sys.exit(main())
