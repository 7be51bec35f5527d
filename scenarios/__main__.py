"""`python -m scenarios SCENARIO [knobs]`: run one scenario headless, events as JSON lines."""

if __name__ == "__main__":  # spawn and forkserver children import this module again: keep it empty
    import sys

    from scenarios.engine.supervisor import main

    sys.exit(main())
