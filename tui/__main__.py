"""`python -m tui`: the same as the `statelab` command."""

import sys

from tui.launch import main

if __name__ == "__main__":
    sys.exit(main())
