"""`python -m scenarios SCENARIO [knobs]`: run one scenario headless, events as JSON lines."""

if __name__ == "__main__":  # spawn and forkserver children import this module again: keep it empty
    import os
    import sys

    from scenarios.engine.supervisor import main

    code = main()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    # the stream is complete and every process of the run reaped: the interpreter's teardown
    # (about 12 ms of freeing objects) would only delay whoever waits for the run to end
    os._exit(code)
